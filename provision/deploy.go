package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/aegir-hosting/aegir"
)

// deployment is the state of one deploy: a backup unpacked into a site
// (the same one, or a new one on another platform or under another name)
// with a database of its own.
type deployment struct {
	target  *siteEnv
	file    string
	oldURI  string // the name the backup was taken under
	oldURL  string
	staging string // <site dir>.restore while unpacking
	retired string // the site directory that was replaced, removed at the end
	before  *aegir.Context
	oldDB   struct{ name, user string }
}

// deploySteps unpack a backup into the target site and bring it up with a
// new database: the primitive under restore, migrate and clone. The old
// directory and database (of a site deployed in place) are kept until the
// caller's cleanup steps, so every step before them can be undone.
func (t *run) deploySteps(d *deployment) []aegir.Step {
	s := d.target
	d.staging = s.siteDir() + ".restore"
	d.oldDB.name, d.oldDB.user = s.site.DBName, s.site.DBUser
	return []aegir.Step{
		{Name: "unpack", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := removeIfExists(d.staging); err != nil {
				return nil, err
			}
			if err := t.b.Archiver.Extract(ctx, d.file, d.staging); err != nil {
				return nil, err
			}
			if _, err := os.Stat(filepath.Join(d.staging, dumpFile)); err != nil {
				removeIfExists(d.staging)
				return nil, aegir.FieldErrorf("file", "%s holds no %s", d.file, dumpFile)
			}
			t.log.Infof("unpacked %s", d.file)
			return func(context.Context) error { return removeIfExists(d.staging) }, nil
		}},
		{Name: "database", Do: func(ctx context.Context) (aegir.Undo, error) {
			s.site.DBName = ""
			return t.createDatabase(ctx, s)
		}},
		{Name: "import", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.importDump(ctx, s, filepath.Join(d.staging, dumpFile))
		}},
		{Name: "swap in", Do: func(context.Context) (aegir.Undo, error) {
			return t.swapIn(d)
		}},
		{Name: "site directory", Do: func(context.Context) (aegir.Undo, error) {
			return nil, t.siteDirectories(s)
		}},
		{Name: "settings", Do: func(ctx context.Context) (aegir.Undo, error) {
			return t.writeSettings(ctx, s)
		}},
		{Name: "permissions", Do: func(context.Context) (aegir.Undo, error) {
			return nil, t.permissions(s)
		}},
		// The site's packages are read from its database and settings, so
		// only once both are in place.
		{Name: "package check", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.checkPackages(ctx, s, s)
		}},
		{Name: "update database", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, s.platform.app.UpdateDatabase(ctx, s.appSite())
		}},
		{Name: "rewrite uri", Do: func(ctx context.Context) (aegir.Undo, error) {
			if d.oldURI == s.site.URI && d.oldURL == s.url() {
				return nil, nil
			}
			t.log.Infof("rewriting %s to %s", d.oldURL, s.url())
			return nil, s.platform.app.RewriteURI(ctx, s.appSite(), d.oldURI, d.oldURL)
		}},
		t.certificateStep(s),
		{Name: "vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
			return s.http.WriteSite(ctx, s.vhost())
		}},
		{Name: "context", Do: func(ctx context.Context) (aegir.Undo, error) {
			s.site.Status = aegir.SiteEnabled
			return t.putContext(ctx, s.ctx, d.before)
		}},
		{Name: "packages", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.packages(ctx, s)
		}},
	}
}

// putContext saves c; its undo puts back before, or deletes c when there
// was none.
func (t *run) putContext(ctx context.Context, c, before *aegir.Context) (aegir.Undo, error) {
	if err := t.b.Contexts.Put(ctx, c); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if before == nil {
			return t.b.Contexts.Delete(ctx, c.Name)
		}
		return t.b.Contexts.Put(ctx, before)
	}, nil
}

// cloneContext returns a deep copy of a site context.
func cloneContext(c *aegir.Context) *aegir.Context {
	cp := *c
	site := *c.Site
	site.Aliases = append([]string(nil), c.Site.Aliases...)
	cp.Site = &site
	return &cp
}

// importDump loads the backup's dump into the site's new database.
func (t *run) importDump(ctx context.Context, s *siteEnv, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.db.Import(ctx, s.site.DBName, f); err != nil {
		return err
	}
	t.log.Infof("imported the dump into %s", s.site.DBName)
	return nil
}

// swapIn moves the unpacked directory into place; a site directory already
// there is set aside until the cleanup, or moved back by the undo.
func (t *run) swapIn(d *deployment) (aegir.Undo, error) {
	dir := d.target.siteDir()
	if err := os.Remove(filepath.Join(d.staging, dumpFile)); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dir); err == nil {
		d.retired = fmt.Sprintf("%s.old-%d", dir, time.Now().UnixNano())
		if err := os.Rename(dir, d.retired); err != nil {
			return nil, fmt.Errorf("set aside %s: %w", dir, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.Rename(d.staging, dir); err != nil {
		if d.retired != "" {
			os.Rename(d.retired, dir)
		}
		return nil, fmt.Errorf("move %s into place: %w", d.staging, err)
	}
	return func(context.Context) error {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if d.retired != "" {
			return os.Rename(d.retired, dir)
		}
		return nil
	}, nil
}

// cleanupStep removes what a deploy replaced: the directory set aside and
// the old database. It is one step, and the last, because it cannot be
// undone; once it runs the task has succeeded, so a removal that fails is
// reported as a warning to clean up by hand, not rolled back.
func (t *run) cleanupStep(d *deployment, oldDB aegir.DBService, extra func(ctx context.Context) error) aegir.Step {
	return aegir.Step{Name: "remove old copy", Do: func(ctx context.Context) (aegir.Undo, error) {
		if extra != nil {
			if err := extra(ctx); err != nil {
				t.log.Warnf("remove the old copy: %v", err)
			}
		}
		if d.retired != "" {
			if err := os.RemoveAll(d.retired); err != nil {
				t.log.Warnf("remove the old directory %s: %v", d.retired, err)
			}
		}
		if d.oldDB.name != "" {
			t.log.Infof("dropping the old database %s", d.oldDB.name)
			if err := oldDB.DropDatabase(ctx, d.oldDB.name, d.oldDB.user); err != nil {
				t.log.Warnf("drop the old database %s: %v", d.oldDB.name, err)
			}
		}
		return nil, nil
	}}
}

// checkPackages compares the packages the site uses with those of the
// target's platform and refuses, unless forced, when a target schema is
// older than the site's.
func (t *run) checkPackages(ctx context.Context, site, target *siteEnv) error {
	used, err := site.platform.app.SitePackages(ctx, site.appSite())
	if err != nil {
		return err
	}
	available, err := target.platform.app.Packages(ctx, target.platform.root)
	if err != nil {
		return err
	}
	reports := aegir.ComparePackages(used, available)
	t.data["package_report"] = reports
	counts := map[string]int{}
	for _, r := range reports {
		counts[r.Status]++
		if r.Status != aegir.PackageOK {
			t.log.Infof("package %s %s: %s (%s -> %s)", r.Type, r.Name, r.Status, r.Version, r.TargetVersion)
		}
	}
	t.log.Infof("packages: %d ok, %d upgrade, %d downgrade, %d missing, %d error",
		counts[aegir.PackageOK], counts[aegir.PackageUpgrade], counts[aegir.PackageDowngrade], counts[aegir.PackageMissing], counts[aegir.PackageError])
	if errs := aegir.PackageErrors(reports); len(errs) > 0 {
		if t.opts.Force {
			t.log.Warnf("%d packages have a newer schema than @%s has; going on because of --force", len(errs), target.platform.name)
			return nil
		}
		return aegir.Errorf(aegir.ECONFLICT, "%s %s has schema %d but @%s has only %d: the site's data is newer than that code (use --force to go on)",
			errs[0].Type, errs[0].Name, errs[0].Schema, target.platform.name, errs[0].TargetSchema)
	}
	return nil
}
