package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// The steps of a site's own php-fpm pool, when its web server gives each
// site one (php_fpm_pools): the site's PHP runs as its own Unix user
// (aegir.SiteUser), its directory belongs to aegir and that user's group,
// which the web server's user is in, and no other site's user enters it.

// phpUser is the Unix user the site's PHP runs as, or "" when its server
// runs every site's PHP in the shared pool.
func (s *siteEnv) phpUser() string {
	if !s.web.PHPFPMPools {
		return ""
	}
	return aegir.SiteUser(s.site.URI)
}

// group is the group the site's settings and writable directories belong
// to: its user's with a pool of its own, else the web group (and until its
// php pool step has made its user: a task without that step, a login link
// or a cron run, on a site not yet verified since pools were turned on).
func (s *siteEnv) group() string {
	if name := s.phpUser(); name != "" {
		if _, err := user.LookupGroup(name); err == nil {
			return name
		}
	}
	return s.web.WebGroup
}

// tempDir is the site's own temporary directory (sessions, uploads in
// progress), under private/, which no web server serves: the private
// directory outside the root when the site has one.
func (s *siteEnv) tempDir() string {
	if s.private != "" {
		return filepath.Join(s.private, "temp")
	}
	return filepath.Join(s.siteDir(), "private", "temp")
}

// poolStep, "php pool", gives the site its own php-fpm pool (writePool);
// its undo removes the pool (or puts back the previous one). A site whose
// server has no per-site pools is left in the shared one. newSite says the
// task made the site's directory (install), so the undo removes a user the
// step made too; otherwise a new user stays, since the directory is its
// group's by then (and the web server's user is in that group, so the
// shared pool still serves the site).
func (t *run) poolStep(s *siteEnv, newSite bool) aegir.Step {
	return aegir.Step{Name: "php pool", Do: func(ctx context.Context) (aegir.Undo, error) {
		return t.writePool(ctx, s, newSite)
	}}
}

// writePool creates the site's user (SiteUsers.Ensure), gives it the
// site's directory (SiteUsers.Own), and writes its pool (PHPPools.WritePool:
// tested, reloaded with the pools written meanwhile). See poolStep for its
// undo.
func (t *run) writePool(ctx context.Context, s *siteEnv, newSite bool) (aegir.Undo, error) {
	name := s.phpUser()
	if name == "" {
		return nil, nil
	}
	pools, ok := s.http.(aegir.PHPPools)
	if !ok {
		return nil, aegir.FieldErrorf("php_fpm_pools", "the %s service of @%s has no per-site php-fpm pools", s.web.HTTPServiceType, s.webName)
	}
	if t.b.SiteUsers == nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "no way to create site users in this back end")
	}
	created, err := t.b.SiteUsers.Ensure(ctx, name, s.web.WebGroup)
	if err != nil {
		return nil, fmt.Errorf("site user %s: %w", name, err)
	}
	removeUser := func(ctx context.Context) error {
		if !created || !newSite {
			return nil
		}
		return t.b.SiteUsers.Remove(ctx, name)
	}
	if created {
		t.log.Infof("created Unix user %s for the PHP of %s", name, s.site.URI)
	}
	if err := os.MkdirAll(s.tempDir(), 0o770); err != nil {
		return nil, errors.Join(err, removeUser(ctx))
	}
	siteWritable, privateWritable := s.writableDirs()
	writable := siteWritable
	if s.private == "" {
		writable = append([]string{filepath.Join("private", "temp")}, siteWritable...)
	}
	if err := t.b.SiteUsers.Own(ctx, name, s.siteDir(), writable); err != nil {
		return nil, errors.Join(fmt.Errorf("give %s to %s: %w", s.siteDir(), name, err), removeUser(ctx))
	}
	if s.private != "" {
		if err := t.b.SiteUsers.Own(ctx, name, s.private, append([]string{"."}, privateWritable...)); err != nil {
			return nil, errors.Join(fmt.Errorf("give %s to %s: %w", s.private, name, err), removeUser(ctx))
		}
	}
	undoPool, err := pools.WritePool(ctx, &aegir.PHPPool{
		User: name, Root: s.platform.root, SiteDir: s.siteDir(), TempDir: s.tempDir(),
		PrivateDir: s.private, Socket: s.web.PHPPoolSocket(name),
	})
	if err != nil {
		return nil, errors.Join(err, removeUser(ctx))
	}
	t.log.Infof("the PHP of %s runs as %s in its own php-fpm pool", s.site.URI, name)
	return func(ctx context.Context) error {
		var errs []error
		if undoPool != nil {
			errs = append(errs, undoPool(ctx))
		}
		return errors.Join(append(errs, removeUser(ctx))...)
	}, nil
}

// deletePool removes the site's pool, when it has one; the Undo writes it
// back.
func (t *run) deletePool(ctx context.Context, s *siteEnv) (aegir.Undo, error) {
	name := s.phpUser()
	if name == "" {
		return nil, nil
	}
	pools, ok := s.http.(aegir.PHPPools)
	if !ok {
		return nil, nil
	}
	return pools.DeletePool(ctx, name)
}

// removePoolStep, "remove php pool", removes the site's pool (deletePool);
// its undo writes the pool back.
func (t *run) removePoolStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "remove php pool", Do: func(ctx context.Context) (aegir.Undo, error) {
		return t.deletePool(ctx, s)
	}}
}

// giveBack makes everything in dir, a site directory of the site uri or
// one set aside (<uri>.old-<time>), aegir's (SiteUsers.Own), so that aegir
// may remove what the site's PHP made there. Without pools on web, or a
// way to reach the helper, it does nothing; a failure is a warning (the
// removal that follows says what is left).
func (t *run) giveBack(ctx context.Context, web *aegir.Server, uri, dir string) {
	if !web.PHPFPMPools || t.b.SiteUsers == nil {
		return
	}
	if err := t.b.SiteUsers.Own(ctx, aegir.SiteUser(uri), dir, nil); err != nil {
		t.log.Warnf("give %s back to aegir: %v", dir, err)
	}
}

// removeSiteUser removes the site's Unix user, once its pool and
// directory are gone.
func (t *run) removeSiteUser(ctx context.Context, s *siteEnv) error {
	name := s.phpUser()
	if name == "" || t.b.SiteUsers == nil {
		return nil
	}
	if err := t.b.SiteUsers.Remove(ctx, name); err != nil {
		return fmt.Errorf("remove site user %s: %w", name, err)
	}
	t.log.Infof("removed Unix user %s", name)
	return nil
}
