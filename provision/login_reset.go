package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// loginReset makes a one-time admin login link.
func (t *run) loginReset(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	link, err := s.platform.app.LoginLink(ctx, s.appSite())
	if err != nil {
		return err
	}
	t.data["login_link"] = link
	t.log.Successf("login link: %s", link)
	return nil
}
