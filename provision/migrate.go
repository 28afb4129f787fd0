package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aegir-hosting/aegir"
)

// migrate moves a site to another platform, optionally renaming it: check
// packages, back up, deploy onto the target, then remove the old copy.
// Steps:
//
//	package check                 sourcePackageCheck (steps_move.go): app.SitePackages and
//	                              app.Packages; an error stops it unless --force   no undo
//	(moveSteps)                   steps_move.go; on the same web and db servers: database, dump
//	                              database, archive, unpack, import (copySteps), swap in …
//	                              packages (bringUpSteps), choose backup, remove dump; otherwise:
//	                              dump database, archive, remove dump (backupSteps), choose
//	                              backup, database … packages (deploySteps); a copy
//	                              on the same machine that needs no change of its data
//	                              keeps the site's database (sharesDatabase), so the
//	                              site answers throughout
//	                              undo: as each of those
//	remove old vhost              http.DeleteSite and PHPPools.DeletePool of the old site's own
//	                              pool, unless the copy has the same name and server
//	                              undo: the old vhost and pool written back
//	release old certificates      CertificateService.Release, when renamed   undo: put back
//	remove old context            ContextStore.Delete, when renamed          undo: put back
//	set aside old site directory  renamed <site dir>.old-<time>, and when renamed the old
//	                              name's private directory outside the root   undo: moved back
//	remove old copy               cleanupStep (steps_deploy.go): app.DeleteSite, the old
//	                              directory (given back to aegir first when
//	                              the site had its own pool), db.DropDatabase of the old
//	                              database, and the old name's site user when renamed
//	                              no undo: last, a failure there is a warning
func (t *run) migrate(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	platform := t.opts.Args["platform"]
	if platform == "" {
		return nil, aegir.FieldErrorf("platform", "name the target platform")
	}
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	return t.migrateSteps(ctx, c, s, platform, t.opts.Args["new_uri"])
}

// migrateSteps are migrate's steps for the loaded site s of c, onto
// platform under newURI ("" keeps its name); deploy-code runs them onto
// the platform it built.
func (t *run) migrateSteps(ctx context.Context, c *aegir.Context, s *siteEnv, platform, newURI string) ([]aegir.Step, error) {
	if newURI == "" {
		newURI = s.site.URI
	}
	target, before, err := t.targetSite(ctx, c, platform, newURI, t.opts.Args["db_server"])
	if err != nil {
		return nil, err
	}
	renamed := newURI != s.site.URI
	if target.platform.root == s.platform.root && !renamed {
		return nil, aegir.FieldErrorf("platform", "@%s is already on @%s", c.Name, target.platform.name)
	}
	if target.platform.appName != s.platform.appName {
		return nil, aegir.FieldErrorf("platform", "@%s is a %s platform, the site is %s", target.platform.name, target.platform.appName, s.platform.appName)
	}
	if renamed {
		// The new name stops being an alias; the site keeps its others.
		target.site.Aliases = without(target.site.Aliases, newURI)
		if target.site.Redirection == newURI || target.site.Redirection == s.site.URI {
			target.site.Redirection = ""
		}
	}
	report(t, func(r *aegir.MoveResult) { r.OldPlatform, r.NewURI = "@"+s.platform.name, newURI })
	var file string
	d := &deployment{target: target, source: s, oldURI: s.site.URI, oldURL: s.url(), before: before, moveData: true}
	steps := []aegir.Step{t.sourcePackageCheck(s, d)}
	steps = append(steps, t.moveSteps(s, d, &file)...)
	// The deploy took the old database for its own: it is the source site's,
	// dropped once the new copy serves.
	d.oldDB.name, d.oldDB.user = s.site.DBName, s.site.DBUser
	var aside string
	steps = append(steps, t.retireSteps(s, target, renamed, &aside)...)
	steps = append(steps, t.cleanupStep(d, s.db, func(ctx context.Context) error {
		if err := s.platform.app.DeleteSite(ctx, s.appSite()); err != nil {
			return err
		}
		t.giveBack(ctx, s.web, s.site.URI, aside)
		if err := os.RemoveAll(aside); err != nil {
			return err
		}
		// The old web server's copy, uploads included, went to the new
		// one through the backup: the site must be in one place.
		for _, w := range s.webs {
			if err := t.removeRemoteSiteDir(ctx, w.name, w.server, s.siteDir()); err != nil {
				return err
			}
		}
		if err := t.removePrivate(ctx, s.web, s.site.URI, s.privateAside); err != nil {
			return err
		}
		if renamed {
			// The old name's Unix user goes with its directory.
			return t.removeSiteUser(ctx, s)
		}
		return nil // (a failure here is a warning: cleanupStep)
	}))
	return steps, nil
}

// retireSteps take the source site of a migrate out of service once its
// copy serves: its vhost (unless the copy took over the same name and
// server), its context (when renamed), and its directory, set aside at
// *aside until the final cleanup removes it.
func (t *run) retireSteps(s, target *siteEnv, renamed bool, aside *string) []aegir.Step {
	sameVhost := !renamed && s.webName == target.webName
	return []aegir.Step{
		{Name: "remove old vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
			if sameVhost {
				return nil, nil
			}
			undo, err := s.http.DeleteSite(ctx, s.site.URI)
			if err != nil {
				return nil, err
			}
			// The old name's php-fpm pool goes with its vhost.
			undoPool, err := t.deletePool(ctx, s)
			if err != nil {
				if undo != nil {
					err = errors.Join(err, undo(ctx))
				}
				return nil, err
			}
			return func(ctx context.Context) error {
				var errs []error
				if undoPool != nil {
					errs = append(errs, undoPool(ctx))
				}
				if undo != nil {
					errs = append(errs, undo(ctx))
				}
				return errors.Join(errs...)
			}, nil
		}},
		{Name: "release old certificates", Do: func(ctx context.Context) (aegir.Undo, error) {
			if !renamed {
				return nil, nil
			}
			return t.release(ctx, s, s.site.URI, nil)
		}},
		{Name: "remove old context", Do: func(ctx context.Context) (aegir.Undo, error) {
			if !renamed {
				return nil, nil
			}
			before := t.orig
			if err := t.b.Contexts.Delete(ctx, s.ctx.Name); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return t.b.Contexts.Put(ctx, before) }, nil
		}},
		{Name: "set aside old site directory", Do: func(context.Context) (aegir.Undo, error) {
			dir := s.siteDir()
			*aside = fmt.Sprintf("%s.old-%d", dir, time.Now().UnixNano())
			if err := os.Rename(dir, *aside); err != nil {
				return nil, err
			}
			// Under a new name, the old name's private directory goes too
			// (the same name keeps it: the copy took its place).
			undoPrivate, err := t.setAsidePrivate(s, renamed)
			if err != nil {
				return nil, errors.Join(err, os.Rename(*aside, dir))
			}
			return func(ctx context.Context) error {
				return errors.Join(undoPrivate(ctx), os.Rename(*aside, dir))
			}, nil
		}},
	}
}

func without(list []string, item string) []string {
	var out []string
	for _, v := range list {
		if v != item {
			out = append(out, v)
		}
	}
	return out
}
