package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// cron runs the app's periodic jobs for the site, which must be enabled.
// Steps:
//
//	cron   app.Cron (Drupal cron, WordPress wp-cron events, MediaWiki jobs)   no undo
func (t *run) cron(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.site.Status == aegir.SiteDisabled {
		return nil, aegir.Errorf(aegir.EINVALID, "site @%s is disabled", c.Name)
	}
	return []aegir.Step{
		{Name: "cron", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, s.platform.app.Cron(ctx, s.appSite())
		}},
	}, nil
}
