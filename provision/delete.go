package provision

import (
	"context"
	"os"

	"github.com/aegir-hosting/aegir"
)

// deleteSite backs the site up, then removes its vhost, directory,
// database and context. Past the backup it can only be undone by restoring
// that backup, so the removals come last.
func (t *run) deleteSite(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	if err := t.noteLostDatabase(ctx, s); err != nil {
		return err
	}
	var file string
	steps := t.backupSteps(s, &file)
	steps = append(steps,
		aegir.Step{Name: "remove vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
			return s.http.DeleteSite(ctx, s.site.URI)
		}},
		t.releaseStep(s),
		aegir.Step{Name: "remove site directory", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := s.platform.app.DeleteSite(ctx, s.appSite()); err != nil {
				return nil, err
			}
			return nil, os.RemoveAll(s.siteDir())
		}},
		aegir.Step{Name: "drop database", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, s.db.DropDatabase(ctx, s.site.DBName, s.site.DBUser)
		}},
		aegir.Step{Name: "remove context", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.b.Contexts.Delete(ctx, c.Name)
		}},
	)
	return t.steps.Run(ctx, steps)
}

// deleteContext removes a platform or server context that nothing uses.
func (t *run) deleteContext(ctx context.Context, c *aegir.Context) error {
	all, err := t.b.Contexts.List(ctx, "")
	if err != nil {
		return err
	}
	for _, other := range all {
		for _, ref := range other.WithDefaults().References() {
			if aegir.ContextName(ref.Name) == c.Name {
				return aegir.Errorf(aegir.ECONFLICT, "@%s is still used by %s @%s: delete or migrate it first", c.Name, other.Type, other.Name)
			}
		}
	}
	t.log.Infof("removed context @%s", c.Name)
	return t.b.Contexts.Delete(ctx, c.Name)
}
