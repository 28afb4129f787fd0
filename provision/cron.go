package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// cron runs the app's periodic jobs for the site.
func (t *run) cron(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	if s.site.Status == aegir.SiteDisabled {
		return aegir.Errorf(aegir.EINVALID, "site @%s is disabled", c.Name)
	}
	return s.platform.app.Cron(ctx, s.appSite())
}
