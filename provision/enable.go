package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// setEnabled disables or enables a site: its status in the context and a
// vhost that serves it or says it is disabled.
func (t *run) setEnabled(ctx context.Context, c *aegir.Context, enabled bool) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	before := t.orig
	status := aegir.SiteDisabled
	if enabled {
		status = aegir.SiteEnabled
	}
	steps := []aegir.Step{
		{Name: "context", Do: func(ctx context.Context) (aegir.Undo, error) {
			s.site.Status = status
			return t.putContext(ctx, c, before)
		}},
		t.certificateStep(s),
	}
	vhost := aegir.Step{Name: "vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
		v := s.vhost()
		v.DisabledURL = t.opts.Args["disabled_url"]
		return s.http.WriteSite(ctx, v)
	}}
	// A site that serves again serves at its URL of now, which its data
	// must hold (SSL may have been turned on while it was disabled); a
	// disabled one shows none of its pages, and its next enable or verify
	// moves the address.
	if enabled {
		return t.steps.Run(ctx, append(steps, t.vhostSteps(s, vhost)...))
	}
	return t.steps.Run(ctx, append(steps, vhost))
}
