package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// flushCache clears an installed site's caches through its app (Drupal's
// cache rebuild, WordPress's object cache and transients, MediaWiki's
// parser cache). Steps:
//
//	flush cache   app.FlushCache   no undo: a cache fills again by itself
func (t *run) flushCache(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	return t.steps.Run(ctx, []aegir.Step{
		{Name: "flush cache", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, s.platform.app.FlushCache(ctx, s.appSite())
		}},
	})
}
