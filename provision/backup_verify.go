package provision

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// verifyPrefix names the scratch directory beside the site's own that a
// backup-verify unpacks into: a hidden name no site's URI can take, so it
// never is another site's directory.
const verifyPrefix = ".aegir-verify-"

// backupVerify proves a backup of the site restorable without touching
// the site, its database or its vhost: it restores the backup (the file
// arg, or the site's newest) into a scratch database of its own on the
// site's db server and a scratch directory beside the site's, reads the
// site's status through the app's PHP (the package read a migrate checks
// with) against them, and drops them again. Steps:
//
//	scratch database  createDatabaseNamed (steps_database.go) under a name of
//	                  its own (verify<uri>)         undo: drop it and its user
//	unpack            unpack (steps_deploy.go) into sites/.aegir-verify-<uri>, the
//	                  dump streamed into the scratch database   undo: remove the directory
//	import            importDump, unless the unpack streamed it   no undo (the database goes)
//	boot              app.SitePackages on the scratch copy   no undo (it only reads)
//	drop scratch      db.DropDatabase, the directory removed   no undo: last
//
// An archive that does not unpack, a dump that does not import or an app
// that does not boot on them fails the task, naming why; the undo leaves
// nothing behind.
func (t *run) backupVerify(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	file, err := t.verifiedBackup(s.site.URI)
	if err != nil {
		return nil, err
	}
	// The scratch copy is the site's with its own database and directory:
	// the site's record, database and vhost are never written.
	site := *s.site
	sc := *s
	sc.site = &site
	d := &deployment{target: &sc, source: s, file: file, staging: filepath.Join(filepath.Dir(s.siteDir()), verifyPrefix+s.site.URI)}
	imported := false
	var drop aegir.Undo
	dropAll := func(ctx context.Context) error {
		var errs []string
		if drop != nil {
			if err := drop(ctx); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if err := removeIfExists(d.staging); err != nil {
			errs = append(errs, err.Error())
		}
		if len(errs) > 0 {
			return aegir.Errorf(aegir.EINTERNAL, "remove the scratch copy: %s", strings.Join(errs, "; "))
		}
		return nil
	}
	return []aegir.Step{
		{Name: "scratch database", Do: func(ctx context.Context) (aegir.Undo, error) {
			// The scratch database is named apart from the site's next
			// ones, so a copy a crash leaves behind is told by its name.
			sc.site.URI = "verify." + s.site.URI
			sc.site.DBName = ""
			var err error
			drop, err = t.createDatabaseNamed(ctx, &sc, nil)
			sc.site.URI = s.site.URI
			report(t, func(f *aegir.SiteFacts) { f.DBName = s.site.DBName })
			if err != nil {
				if drop != nil { // made, then failed: drop what it made
					drop(ctx)
				}
				drop = nil
				return nil, err
			}
			return drop, nil // nil for a site without a database
		}},
		{Name: "unpack", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := removeIfExists(d.staging); err != nil {
				return nil, err
			}
			undo := func(context.Context) error { return removeIfExists(d.staging) }
			var err error
			if imported, err = t.unpack(ctx, &sc, d); err != nil {
				undo(ctx)
				return nil, aegir.FieldErrorf("file", "%s does not restore: %v", filepath.Base(file), err)
			}
			if sc.site.DBName != "" {
				if _, err := os.Stat(filepath.Join(d.staging, dumpFile)); err != nil {
					undo(ctx)
					return nil, aegir.FieldErrorf("file", "%s holds no %s", filepath.Base(file), dumpFile)
				}
			}
			return undo, nil
		}},
		{Name: "import", Do: func(ctx context.Context) (aegir.Undo, error) {
			if imported || sc.site.DBName == "" {
				return nil, nil
			}
			if err := t.importDump(ctx, &sc, filepath.Join(d.staging, dumpFile)); err != nil {
				return nil, aegir.FieldErrorf("file", "the dump of %s does not import: %v", filepath.Base(file), err)
			}
			return nil, nil
		}},
		{Name: "boot", Do: func(ctx context.Context) (aegir.Undo, error) {
			a := sc.appSite()
			a.SiteDir = d.staging
			pkgs, err := s.platform.app.SitePackages(ctx, a)
			if err != nil {
				return nil, aegir.FieldErrorf("file", "%s app does not boot on %s: %v", s.platform.appName, filepath.Base(file), err)
			}
			if len(pkgs) == 0 {
				return nil, aegir.FieldErrorf("file", "%s app reads no packages from %s", s.platform.appName, filepath.Base(file))
			}
			t.log.Infof("%s %s boots on %s: %d packages", s.platform.appName, pkgs[0].Version, filepath.Base(file), len(pkgs))
			return nil, nil
		}},
		{Name: "drop scratch", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := dropAll(ctx); err != nil {
				return nil, err
			}
			report(t, func(v *aegir.BackupVerified) { v.VerifiedFile, v.VerifiedAt = file, time.Now().UTC() })
			t.log.Infof("verified %s", file)
			return nil, nil
		}},
	}, nil
}

// verifiedBackup returns the backup a backup-verify restores: the file arg,
// which must be a backup of uri in the backups directory, or uri's newest.
func (t *run) verifiedBackup(uri string) (string, error) {
	dir := t.b.Paths.Backups()
	f := t.opts.Args["file"]
	if f == "" {
		file, _ := newestBackup(dir, uri)
		if file == "" {
			return "", aegir.FieldErrorf("file", "@%s has no complete backup in %s", uri, dir)
		}
		return file, nil
	}
	path, err := ownBackup("file", dir, uri, f)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return "", aegir.FieldErrorf("file", "%s is not a backup file", f)
	}
	return path, nil
}
