package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// deployment is the state of one deploy: a backup unpacked into a site
// (the same one, or a new one on another platform or under another name)
// with a database of its own.
type deployment struct {
	target *siteEnv
	// source is the site the copy comes from: the target itself for a
	// restore or a deploy. The task's record is kept beside its directory.
	source *siteEnv
	record *recordFile
	file   string
	oldURI string // the name the backup was taken under
	oldURL string
	// oldURLGuessed says oldURL is a guess (a restore or deploy of a backup:
	// the address the site had when it was taken, http or https, is not
	// known), to check against the address the data holds.
	oldURLGuessed bool
	staging       string // <site dir>.restore while unpacking
	retired       string // the site directory that was replaced, removed at the end
	// privateRetired is the private directory outside the root that was
	// replaced (movePrivateIn), removed at the end.
	privateRetired string
	before         *aegir.Context
	oldDB          struct{ name, user string }
	// beforeSwap are steps of the caller's that must end before the new
	// copy replaces the site: the join of a backup taken meanwhile.
	beforeSwap []aegir.Step
	// pkgs is the package check of the site's data against the target's
	// codebase: made by the deploy, or before it by a migrate or clone
	// whose deploy carries the very data it checked.
	pkgs *packageCheck
	// checkedBefore says the package check is a step before the deploy's
	// (sourcePackageCheck), which then has none of its own.
	checkedBefore bool
	// moveData says the source site's data may be moved rather than copied
	// (a migrate, which retires the source; a clone keeps it).
	moveData bool
	// dataChanged says the deploy has changed the data it brought: the
	// app's update or a URI rewrite ran on it.
	dataChanged bool
}

// deploySteps unpack a backup into the target site and bring it up with a
// new database: the primitive under restore, migrate and clone. The old
// directory and database (of a site deployed in place) are kept until the
// caller's cleanup steps, so every step before them can be undone. Steps:
// unpackSteps, then the caller's beforeSwap, then bringUpSteps.
func (t *run) deploySteps(d *deployment) []aegir.Step {
	steps := t.unpackSteps(d)
	steps = append(steps, d.beforeSwap...)
	return append(steps, t.bringUpSteps(d)...)
}

// unpackSteps create the target's new database and unpack the backup
// beside the target's directory, importing its dump. Steps:
//
//	database  newDatabase: the task's record (record.go), then db.CreateDatabase
//	          under a free name                          undo: drop it, remove the record
//	unpack    Archiver.Extract into <site dir>.restore; ExtractStream hands
//	          the dump to db.Import as it comes          undo: remove the staging
//	import    db.Import of the dump, unless the unpack streamed it   no undo (the database goes)
func (t *run) unpackSteps(d *deployment) []aegir.Step {
	s := d.target
	d.staging = s.siteDir() + restoreSuffix
	if !s.lostDB {
		// A lost database's name is free, and the new one may take it:
		// the cleanup must not drop it.
		d.oldDB.name, d.oldDB.user = s.site.DBName, s.site.DBUser
	}
	imported := false
	return []aegir.Step{
		// The database comes first, so the dump can be imported while the
		// files unpack.
		{Name: "database", Do: func(ctx context.Context) (aegir.Undo, error) {
			return t.newDatabase(ctx, d)
		}},
		{Name: "unpack", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := removeIfExists(d.staging); err != nil {
				return nil, err
			}
			var err error
			if imported, err = t.unpack(ctx, s, d); err != nil {
				return nil, err
			}
			undo := func(context.Context) error { return removeIfExists(d.staging) }
			if _, err := os.Stat(filepath.Join(d.staging, dumpFile)); err != nil {
				undo(ctx)
				return nil, aegir.FieldErrorf("file", "%s holds no %s", d.file, dumpFile)
			}
			return undo, nil
		}},
		// The import is the unpack's when the archiver streamed the dump
		// into it; here otherwise.
		{Name: "import", Do: func(ctx context.Context) (aegir.Undo, error) {
			if imported {
				return nil, nil
			}
			return nil, t.importDump(ctx, s, filepath.Join(d.staging, dumpFile))
		}},
	}
}

// bringUpSteps put the unpacked copy in the target's place and bring it
// up. Steps:
//
//	swap in          swapIn: <site dir>.restore into place, the old directory set aside
//	                 undo: swapped back
//	site directory   siteDirStep                              no undo
//	php pool         poolStep (steps_pool.go), when the server gives each site its own pool
//	                 undo: the pool removed
//	settings         settingsStep: app.WriteSettings          undo: the previous file
//	permissions      permissionsStep                          no undo
//	package check    checkPackages: app.SitePackages, app.Packages   no undo (it only reads);
//	                 left out after a sourcePackageCheck
//	update database  updateDatabase: app.UpdateDatabase, unless the app can tell nothing
//	                 would change                             no undo (the database goes)
//	rewrite uri      app.RewriteURI, when the name or address changed   no undo (ditto)
//	certificate      certificateStep: CertificateService.Obtain   undo: removes one it created
//	push site        pushSiteStep (steps_fleet.go): to a remote web server   undo: removes what it made
//	vhost            vhostStep: http.WriteSite                undo: the previous vhost
//	context          contextStep: ContextStore.Put, status enabled   undo: the previous context
//	packages         packagesStep: app.Packages               no undo
func (t *run) bringUpSteps(d *deployment) []aegir.Step {
	s := d.target
	steps := []aegir.Step{
		{Name: "swap in", Do: func(context.Context) (aegir.Undo, error) {
			return t.swapIn(d)
		}},
		t.siteDirStep(s),
		t.poolStep(s, false),
		t.settingsStep(s),
		t.permissionsStep(s),
	}
	// The address the backup's data holds is read beside the package
	// check (each runs the app's PHP, and only reads), and waited for
	// before anything changes the data.
	var addressRead chan struct{}
	readAddress := func(ctx context.Context) {
		if addressRead == nil && d.oldURLGuessed {
			t.readOldURL(ctx, d)
		} else if addressRead != nil {
			<-addressRead
		}
		d.oldURLGuessed = false
	}
	if !d.checkedBefore {
		// The site's packages are read from its database and settings, so
		// only once both are in place.
		steps = append(steps, aegir.Step{Name: "package check", Do: func(ctx context.Context) (aegir.Undo, error) {
			if d.oldURLGuessed {
				addressRead = make(chan struct{})
				go func() {
					defer close(addressRead)
					t.readOldURL(ctx, d)
				}()
			}
			var err error
			d.pkgs, err = t.checkPackages(ctx, s, s)
			// Nothing runs on once the step fails or is undone.
			if err != nil {
				readAddress(ctx)
				return nil, err
			}
			return func(ctx context.Context) error { readAddress(ctx); return nil }, nil
		}})
	}
	return append(steps,
		aegir.Step{Name: "update database", Do: func(ctx context.Context) (aegir.Undo, error) {
			readAddress(ctx)
			return nil, t.updateDatabase(ctx, d)
		}},
		aegir.Step{Name: "rewrite uri", Do: func(ctx context.Context) (aegir.Undo, error) {
			readAddress(ctx)
			if d.oldURI == s.site.URI && d.oldURL == s.url() {
				return nil, nil
			}
			t.log.Infof("rewriting %s to %s", d.oldURL, s.url())
			if err := d.markDataChanged(); err != nil {
				return nil, err
			}
			return nil, s.platform.app.RewriteURI(ctx, s.appSite(), d.oldURI, d.oldURL)
		}},
		t.certificateStep(s),
		t.pushSiteStep(s, true),
		t.vhostStep(s),
		t.contextStep(s, aegir.SiteEnabled, d.before),
		t.packagesStep(s),
	)
}

// readOldURL replaces the guessed address of a deployed backup with the
// one its data holds, when the app keeps one (aegir.AddressReader) at the
// backup's name: a backup taken before SSL was turned on or off holds the
// other scheme. An address that cannot be read or is another host's
// leaves the guess.
func (t *run) readOldURL(ctx context.Context, d *deployment) {
	s := d.target
	reader, ok := s.platform.app.(aegir.AddressReader)
	if !ok {
		return
	}
	stored, err := reader.SiteAddress(ctx, s.appSite())
	if err != nil {
		t.log.Warnf("cannot read the address the backup's data holds, taking %s: %v", d.oldURL, err)
		return
	}
	if a, ok := parseAddress(stored); ok && a.path == "" && a.host == strings.ToLower(d.oldURI) {
		d.oldURL = stored
	}
}

// unpack unpacks the backup into the staging directory and, when the
// archiver can hand over the dump as it unpacks (it is the archive's
// second entry in aegir's backups, anywhere in others), imports it
// meanwhile into the new database: the two take about as long as each
// other and use different resources. It reports whether the dump was
// imported.
func (t *run) unpack(ctx context.Context, s *siteEnv, d *deployment) (bool, error) {
	se, ok := t.b.Archiver.(aegir.StreamExtractor)
	if !ok {
		if err := t.b.Archiver.Extract(ctx, d.file, d.staging); err != nil {
			return false, err
		}
		t.log.Infof("unpacked %s", d.file)
		return false, nil
	}
	imported, err := se.ExtractStream(ctx, d.file, d.staging, dumpFile, func(ctx context.Context, r io.Reader) error {
		if err := s.db.Import(ctx, s.site.DBName, r); err != nil {
			return err
		}
		t.log.Infof("imported the dump into %s", s.site.DBName)
		return nil
	})
	if err != nil {
		return false, err
	}
	t.log.Infof("unpacked %s", d.file)
	return imported, nil
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
// there is set aside until the cleanup, or moved back by the undo. Its
// private/ then goes out of the root (movePrivateIn).
func (t *run) swapIn(d *deployment) (aegir.Undo, error) {
	dir := d.target.siteDir()
	if err := removeIfExists(filepath.Join(d.staging, dumpFile)); err != nil { // a copied site has none
		return nil, err
	}
	if err := removeIfExists(filepath.Join(d.staging, contextCopy)); err != nil { // the backup's, not the site's
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
	undoPrivate, err := t.movePrivateIn(d)
	if err != nil {
		os.Rename(dir, d.staging)
		if d.retired != "" {
			os.Rename(d.retired, dir)
		}
		return nil, err
	}
	return func(ctx context.Context) error {
		if undoPrivate != nil {
			if err := undoPrivate(ctx); err != nil {
				return err
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if d.retired != "" {
			return os.Rename(d.retired, dir)
		}
		return nil
	}, nil
}

// newDatabase is the first change of a deploy: it writes the task's
// record (see taskRecord), then the name of the target's new database
// into it, then creates that. Its undo drops the database and removes the
// record.
func (t *run) newDatabase(ctx context.Context, d *deployment) (aegir.Undo, error) {
	if err := t.beginRecord(d); err != nil {
		return nil, err
	}
	s := d.target
	s.site.DBName = ""
	drop, err := t.createDatabaseNamed(ctx, s, func(name string) error {
		return d.record.update(func(r *taskRecord) { r.To = name })
	})
	if err != nil {
		if drop != nil {
			drop(ctx)
		}
		d.record.end()
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := drop(ctx); err != nil {
			return err // the record stays, for a verify
		}
		return d.record.end()
	}, nil
}

// cleanupStep removes what a deploy replaced: the directory set aside and
// the old database. It is one step, and the last, because it cannot be
// undone; once it runs the task has succeeded, so a removal that fails is
// reported as a warning to clean up by hand, not rolled back. The record
// says so first, and goes last.
func (t *run) cleanupStep(d *deployment, oldDB aegir.DBService, extra func(ctx context.Context) error) aegir.Step {
	return aegir.Step{Name: "remove old copy", Do: func(ctx context.Context) (aegir.Undo, error) {
		if err := d.record.update(func(r *taskRecord) { r.Committed = true }); err != nil {
			t.log.Warnf("%v", err)
		}
		defer func() {
			if err := d.record.end(); err != nil {
				t.log.Warnf("remove the task's record: %v", err)
			}
		}()
		if extra != nil {
			if err := extra(ctx); err != nil {
				t.log.Warnf("remove the old copy: %v", err)
			}
		}
		if d.retired != "" {
			t.giveBack(ctx, d.target.web, d.target.site.URI, d.retired)
			if err := os.RemoveAll(d.retired); err != nil {
				t.log.Warnf("remove the old directory %s: %v", d.retired, err)
			}
		}
		if err := t.removePrivate(ctx, d.target.web, d.target.site.URI, d.privateRetired); err != nil {
			t.log.Warnf("remove the old private directory %s: %v", d.privateRetired, err)
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

// markDataChanged notes, in memory for the undo and in the record for a
// recovery, that the deploy is about to change the data it brought.
func (d *deployment) markDataChanged() error {
	d.dataChanged = true
	return d.record.update(func(r *taskRecord) { r.DataChanged = true })
}

// packageCheck is what a package check found: the packages the site uses
// and those of the target's codebase.
type packageCheck struct{ used, available []aegir.Package }

// updateDatabase runs the app's database updates, unless the app can tell
// from the package check that they would change nothing (a restore in
// place, or a move between codebases of the same version): the run loads
// the whole app, and is most of a small site's deploy.
func (t *run) updateDatabase(ctx context.Context, d *deployment) error {
	s, pkgs := d.target, d.pkgs
	if uc, ok := s.platform.app.(aegir.UpdateChecker); ok && pkgs != nil && !uc.UpdatePending(pkgs.used, pkgs.available) {
		t.log.Infof("the database of %s needs no update: its schema is the codebase's", s.site.URI)
		return nil
	}
	if err := d.markDataChanged(); err != nil {
		return err
	}
	return s.platform.app.UpdateDatabase(ctx, s.appSite())
}

// checkPackages compares the packages the site uses with those of the
// target's platform and refuses, unless forced, when a target schema is
// older than the site's.
func (t *run) checkPackages(ctx context.Context, site, target *siteEnv) (*packageCheck, error) {
	used, err := site.platform.app.SitePackages(ctx, site.appSite())
	if err != nil {
		return nil, err
	}
	available, err := target.platform.app.Packages(ctx, target.platform.root)
	if err != nil {
		return nil, err
	}
	reports := aegir.ComparePackages(used, available)
	report(t, func(f *aegir.PackagesChecked) { f.PackageReport = reports })
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
			return &packageCheck{used, available}, nil
		}
		return nil, aegir.Errorf(aegir.ECONFLICT, "%s %s has schema %d but @%s has only %d: the site's data is newer than that code (use --force to go on)",
			errs[0].Type, errs[0].Name, errs[0].Schema, target.platform.name, errs[0].TargetSchema)
	}
	// Older code may not read what newer code wrote, even where no schema
	// number says so: a downgrade needs --force as well.
	if down := aegir.PackageDowngrades(reports); len(down) > 0 {
		if t.opts.Force {
			t.log.Warnf("%d packages would be downgraded on @%s; going on because of --force", len(down), target.platform.name)
			return &packageCheck{used, available}, nil
		}
		return nil, aegir.Errorf(aegir.ECONFLICT, "%s %s would go from %s to %s on @%s: a downgrade (use --force to go on)",
			down[0].Type, down[0].Name, down[0].Version, down[0].TargetVersion, target.platform.name)
	}
	return &packageCheck{used, available}, nil
}

// backupFile returns the backup a task was given, which must exist.
func (t *run) backupFile() (string, error) {
	file := t.opts.Args["file"]
	if file == "" {
		return "", aegir.FieldErrorf("file", "name the backup to use")
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(t.b.Paths.Backups(), file)
	}
	if st, err := os.Stat(file); err != nil || st.IsDir() {
		return "", aegir.FieldErrorf("file", "%s is not a backup file", file)
	}
	return file, nil
}

// inPlaceDeployment prepares the deploy of the backup named by the file
// arg into the site itself (a restore or a deploy), loading the site with
// load. The old_uri arg names the site the backup was taken from, when it
// was another.
func (t *run) inPlaceDeployment(ctx context.Context, c *aegir.Context, load func(context.Context, *aegir.Context) (*siteEnv, error)) (*siteEnv, *deployment, error) {
	file, err := t.backupFile()
	if err != nil {
		return nil, nil, err
	}
	s, err := load(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	d := &deployment{target: s, source: s, file: file, oldURI: s.site.URI, oldURL: s.url(), oldURLGuessed: true, before: t.orig}
	if u := t.opts.Args["old_uri"]; u != "" {
		if err := aegir.ValidateURI("old_uri", u); err != nil {
			return nil, nil, err
		}
		d.oldURI, d.oldURL = u, "http://"+u
	}
	return s, d, nil
}
