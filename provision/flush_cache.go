package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// flushCache clears an installed site's caches through its app (Drupal's
// cache rebuild, WordPress's object cache and transients, MediaWiki's
// parser cache). Steps:
//
//	flush cache   flushCacheStep: app.FlushCache   no undo: a cache fills again by itself
func (t *run) flushCache(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	return []aegir.Step{t.flushCacheStep(s)}, nil
}

// flushCacheStep, "flush cache", clears the site's caches (app.FlushCache);
// update-db ends with it too. No undo: a cache fills again by itself.
func (t *run) flushCacheStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "flush cache", Do: func(ctx context.Context) (aegir.Undo, error) {
		return nil, s.platform.app.FlushCache(ctx, s.appSite())
	}}
}
