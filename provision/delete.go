package provision

import (
	"context"
	"os"

	"github.com/aegir-hosting/aegir"
)

// deleteSite backs the site up, then removes its vhost, directory,
// database and context. Past the backup it can only be undone by restoring
// that backup, so the removals come last. Steps:
//
//	dump database, archive, remove dump   backupSteps (steps_backup.go)
//	                       undo: the archive removed
//	remove vhost           http.DeleteSite                          undo: the driver's, the vhost back
//	remove php pool        removePoolStep (steps_pool.go): PHPPools.DeletePool, when the site has
//	                       its own pool                             undo: the pool back
//	release certificates   releaseStep: CertificateService.Release  undo: put back
//	remove site directory  app.DeleteSite, the directory removed, then its private
//	                       directory outside the root               no undo: restore the backup
//	drop database          db.DropDatabase, with its user           no undo: restore the backup
//	remove site user       SiteUsers.Remove, when the site had its own pool   no undo (a restore
//	                       or verify creates it again)
//	remove context         ContextStore.Delete                      no undo: restore the backup
func (t *run) deleteSite(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := t.noteLostDatabase(ctx, s); err != nil {
		return nil, err
	}
	if err := t.noteLostDirectory(s); err != nil {
		return nil, err
	}
	var file string
	steps := t.backupSteps(s, &file)
	return append(steps,
		aegir.Step{Name: "remove vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
			return s.http.DeleteSite(ctx, s.site.URI)
		}},
		t.removePoolStep(s),
		t.releaseStep(s),
		aegir.Step{Name: "remove site directory", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := s.platform.app.DeleteSite(ctx, s.appSite()); err != nil {
				return nil, err
			}
			// What the site's PHP made becomes aegir's, so it can go.
			t.giveBack(ctx, s.web, s.site.URI, s.siteDir())
			if err := os.RemoveAll(s.siteDir()); err != nil {
				return nil, err
			}
			// Its private directory outside the root is in the backup
			// taken above, as private/.
			return nil, t.removePrivate(ctx, s.web, s.site.URI, s.private)
		}},
		aegir.Step{Name: "drop database", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, s.db.DropDatabase(ctx, s.site.DBName, s.site.DBUser)
		}},
		aegir.Step{Name: "remove site user", Do: func(ctx context.Context) (aegir.Undo, error) {
			// Past the irreversible steps: a user left behind is a warning.
			if err := t.removeSiteUser(ctx, s); err != nil {
				t.log.Warnf("%v: remove it by hand (userdel)", err)
			}
			return nil, nil
		}},
		aegir.Step{Name: "remove context", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.b.Contexts.Delete(ctx, c.Name)
		}},
	), nil
}

// deleteContext removes a platform or server context that nothing uses;
// one still named by another context is refused. Steps:
//
//	remove context   ContextStore.Delete   no undo
func (t *run) deleteContext(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	all, err := t.b.Contexts.List(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, other := range all {
		for _, ref := range other.WithDefaults().References() {
			if aegir.ContextName(ref.Name) == c.Name {
				return nil, aegir.Errorf(aegir.ECONFLICT, "@%s is still used by %s @%s: delete or migrate it first", c.Name, other.Type, other.Name)
			}
		}
	}
	return []aegir.Step{
		{Name: "remove context", Do: func(ctx context.Context) (aegir.Undo, error) {
			t.log.Infof("removed context @%s", c.Name)
			return nil, t.b.Contexts.Delete(ctx, c.Name)
		}},
	}, nil
}
