package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// updateDB runs an installed site's pending database updates on their own,
// as after new code was put under it in place (Aegir's "update db" task).
// An update cannot be undone, so a backup comes first: if the updates fail,
// restore that backup. Steps:
//
//	dump database, archive, remove dump   backupSteps (undo: remove the archive)
//	update database                       app.UpdateDatabase (no undo: restore the backup)
//	flush cache                           flushCacheStep: app.FlushCache (no undo)
func (t *run) updateDB(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	var file string
	steps := t.backupSteps(s, &file)
	return append(steps,
		aegir.Step{Name: "update database", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := s.platform.app.UpdateDatabase(ctx, s.appSite()); err != nil {
				t.log.Warnf("the updates of %s stopped part way; the backup %s holds the site as it was before them", s.site.URI, file)
				return nil, err
			}
			return nil, nil
		}},
		t.flushCacheStep(s),
	), nil
}
