package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// enable serves a disabled site again. A site that serves again serves at
// its URL of now, which its data must hold (SSL may have been turned on
// while it was disabled), so the site address follows as in verify. Steps:
//
//	context       contextStep: ContextStore.Put, status enabled   undo: the previous context
//	php pool      poolStep (steps_pool.go), when the server gives each site its own pool (one
//	              disabled before pools were turned on has none yet)   undo: the pool removed
//	certificate   certificateStep: CertificateService.Obtain     undo: removes one it created
//	site address  vhostSteps: app.RewriteURI when the data holds another address of the site
//	              (after the vhost when the site requires https)   undo: rewritten back
//	vhost         vhostStep: http.WriteSite                      undo: the previous vhost
func (t *run) enable(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	steps := []aegir.Step{
		t.contextStep(s, aegir.SiteEnabled, t.orig),
		t.poolStep(s, false),
		t.certificateStep(s),
	}
	return append(steps, t.vhostSteps(s, t.vhostStep(s))...), nil
}
