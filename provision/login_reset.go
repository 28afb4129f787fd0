package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// loginReset makes a one-time admin login link. Steps:
//
//	login link   app.LoginLink   no undo (the link expires by itself)
func (t *run) loginReset(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	return []aegir.Step{
		{Name: "login link", Do: func(ctx context.Context) (aegir.Undo, error) {
			link, err := s.platform.app.LoginLink(ctx, s.appSite())
			if err != nil {
				return nil, err
			}
			report(t, func(f *aegir.LoginLinkMade) { f.LoginLink = link })
			t.log.Successf("login link: %s", link)
			return nil, nil
		}},
	}, nil
}
