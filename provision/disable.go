package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// disable takes a site out of service: its vhost answers that it is
// disabled, or redirects to the disabled_url arg. A disabled site shows
// none of its pages, so its address is left for its next enable or verify
// to move. Steps:
//
//	context      contextStep: ContextStore.Put, status disabled   undo: the previous context
//	certificate  certificateStep: CertificateService.Obtain      undo: removes one it created
//	vhost        http.WriteSite of the disabled vhost            undo: the previous vhost
func (t *run) disable(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	return []aegir.Step{
		t.contextStep(s, aegir.SiteDisabled, t.orig),
		t.certificateStep(s),
		{Name: "vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
			v := s.vhost()
			v.DisabledURL = t.opts.Args["disabled_url"]
			return s.http.WriteSite(ctx, v)
		}},
	}, nil
}
