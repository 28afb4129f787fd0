package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// targetSite builds the site a migrate or clone deploys into: a copy of
// the source context on another platform and/or under another name, and,
// when dbServer is set, with its database on that db server.
func (t *run) targetSite(ctx context.Context, src *aegir.Context, platform, uri, dbServer string) (*siteEnv, *aegir.Context, error) {
	if err := aegir.ValidateURI("new_uri", uri); err != nil {
		return nil, nil, err
	}
	var before *aegir.Context
	if uri != src.Name {
		existing, err := t.b.Contexts.Get(ctx, uri)
		if err == nil {
			return nil, nil, aegir.FieldErrorf("new_uri", "context @%s already exists (a %s)", uri, existing.Type)
		} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
			return nil, nil, err
		}
	} else {
		before = t.orig
	}
	tc := src.Clone()
	tc.Name, tc.Site.URI = uri, uri
	tc.Site.Platform = "@" + aegir.ContextName(platform)
	if dbServer != "" {
		if err := aegir.ValidateName("db_server", aegir.ContextName(dbServer)); err != nil {
			return nil, nil, err
		}
		tc.Site.DBServer = "@" + aegir.ContextName(dbServer)
	}
	if err := aegir.CheckReferences(ctx, t.b.Contexts, tc); err != nil {
		return nil, nil, err
	}
	target, err := t.loadSite(ctx, tc)
	if err != nil {
		return nil, nil, err
	}
	return target, before, nil
}

// sourcePackageCheck, "package check", checks the packages of the source
// site of a migrate or clone against the target's codebase
// (app.SitePackages, app.Packages; no undo, it only reads). The deploy that
// follows carries a copy of the same database, so it keeps this check
// rather than make it again on the copy: the deploy steps built after it
// have no package check of their own.
func (t *run) sourcePackageCheck(s *siteEnv, d *deployment) aegir.Step {
	d.checkedBefore = true
	return aegir.Step{Name: "package check", Do: func(ctx context.Context) (aegir.Undo, error) {
		var err error
		d.pkgs, err = t.checkPackages(ctx, s, d.target)
		return nil, err
	}}
}

// moveSteps back up the source site of a migrate or clone and deploy it
// into the target: on the same machine by copying it directly, else
// through the backup. Steps, on the same machine:
//
//	fetch files                         fetchSiteFilesStep: from a remote web server
//	database … import                   copySteps' first list
//	swap in … packages                  bringUpSteps
//	choose backup, remove dump          copySteps' second list
//
// otherwise:
//
//	dump database, archive, remove dump backupSteps                  undo: the archive removed
//	choose backup                       the archive is the deploy's  no undo
//	database … packages                 deploySteps
func (t *run) moveSteps(s *siteEnv, d *deployment, file *string) []aegir.Step {
	if sameMachine(s, d.target) {
		before, after := t.copySteps(s, d, file)
		// A remote web server holds the site's uploads: the copy is of
		// its files, as the backup's is.
		steps := append([]aegir.Step{t.fetchSiteFilesStep(s)}, before...)
		return append(append(steps, t.bringUpSteps(d)...), after...)
	}
	steps := t.backupSteps(s, file)
	steps = append(steps, aegir.Step{Name: "choose backup", Do: func(context.Context) (aegir.Undo, error) {
		d.file = *file
		return nil, nil
	}})
	return append(steps, t.deploySteps(d)...)
}

// sameMachine reports whether a migrate or clone from s to target can copy
// the site directly, without the round trip through the archive: both on
// the same web server (so both site directories are on this machine) and
// the same db server.
func sameMachine(s, target *siteEnv) bool {
	return s.webName == target.webName &&
		aegir.ContextName(s.site.DBServer) == aegir.ContextName(target.site.DBServer)
}

// copySteps stand in for the backup, "choose backup" and unpack steps of
// a migrate or clone when sameMachine says so. The dump of the source
// database streams straight into the target's new database as it is
// written into the source directory for the backup, or, for a migrate on
// a db server that can (aegir.TableMover), is written for the backup alone
// and the tables are moved into the new database. A migrate whose copy
// will not change the data (sharesDatabase) keeps the source's database
// instead: the site serves from it throughout, so no request finds it
// missing while the vhost still points at the old directory. The archive of that
// directory (the backup Aegir's migrate leaves behind) is written in the
// background while the directory is copied beside the target and the copy
// is brought up; "choose backup" waits for it. The copy is a real one,
// file by file, never hard links, since the site goes on writing its
// files. The caller runs bringUpSteps between the two lists returned, and
// nothing that changes the source directory before the second. Steps:
//
//	database       newDatabase (steps_deploy.go): the task's record (record.go), then
//	               db.CreateDatabase under a free name; or shareDatabase: the record only
//	               undo: drop it (kept while it holds moved tables), remove the record
//	dump database  dumpAndImport: db.Dump into the source directory and db.Import
//	               from the same stream, or tableMove: db.Dump, TableMover.MoveTables,
//	               or dumpShared: db.Dump for the backup alone
//	               undo: remove the dump; move the tables back (tableMove.undo); the
//	               dump imported back over a shared database the deploy changed
//	archive        Archiver.CreateQuick of the source directory, in the background
//	               undo: stop it, remove the archive
//	unpack         copyTree of the source directory into <site dir>.restore, and of
//	               its private directory outside the root as private/ in it
//	               undo: remove the copy
//	import         nothing: the dump was imported as it was taken
//	(bringUpSteps)
//	choose backup  waits for the archive: the task's backup (its undo is archive's)
//	remove dump    removes the dump, unless moved tables or a shared database may need it
func (t *run) copySteps(s *siteEnv, d *deployment, file *string) (before, after []aegir.Step) {
	target := d.target
	d.staging = target.siteDir() + restoreSuffix
	d.oldDB.name, d.oldDB.user = target.site.DBName, target.site.DBUser
	srcDB := s.site.DBName // the deploy changes target.site, a copy, never s.site
	dump := filepath.Join(s.siteDir(), dumpFile)
	var b *sideBackup
	var move *tableMove // a migrate's, on a db server that can move tables
	if mover, ok := target.db.(aegir.TableMover); ok && d.moveData {
		move = &tableMove{t: t, src: s.db, mover: mover, srcDB: srcDB, d: d, dump: dump}
	}
	shared := false // the copy keeps the source's database: sharesDatabase
	before = []aegir.Step{
		{Name: "database", Do: func(ctx context.Context) (aegir.Undo, error) {
			if shared = sharesDatabase(d); shared {
				return t.shareDatabase(d, srcDB)
			}
			drop, err := t.newDatabase(ctx, d)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				if move != nil && move.moved {
					return fmt.Errorf("kept database %s: it holds the tables of %s, which could not be moved back", target.site.DBName, srcDB)
				}
				return drop(ctx)
			}, nil
		}},
		{Name: "dump database", Do: func(ctx context.Context) (aegir.Undo, error) {
			// The backup's name holds the second the dump begins
			// (unchangedBackup).
			if *file == "" {
				var err error
				if *file, err = t.backupPath(s.site.URI); err != nil {
					return nil, err
				}
			}
			if shared {
				return t.dumpShared(ctx, s.db, srcDB, d, dump)
			}
			if move != nil {
				if err := move.do(ctx); err != nil {
					move.removeFiles()
					return nil, err
				}
				return move.undo, nil
			}
			removeDump := func(context.Context) error { return removeIfExists(dump) }
			if err := t.dumpAndImport(ctx, s.db, srcDB, target, dump); err != nil {
				removeDump(ctx)
				return nil, err
			}
			return removeDump, nil
		}},
		{Name: "archive", Do: func(ctx context.Context) (aegir.Undo, error) {
			if *file == "" {
				var err error
				if *file, err = t.backupPath(s.site.URI); err != nil {
					return nil, err
				}
			}
			// What the site's PHP made is aegir's to read, for the
			// backup and the copy.
			t.giveBack(ctx, s.web, s.site.URI, s.siteDir())
			t.giveBackPrivate(ctx, s.web, s.site.URI, s.private)
			b = t.startBackup(ctx, *file, s.siteDir(), s.privateGrafts(), nil)
			return func(context.Context) error { return b.discard(t.b.Archiver) }, nil
		}},
		{Name: "unpack", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := removeIfExists(d.staging); err != nil {
				return nil, err
			}
			skip := []string{dumpFile}
			if s.privateOutside() {
				skip = append(skip, privateName) // its copy is the one outside the root
			}
			if err := copyTree(ctx, s.siteDir(), d.staging, skip...); err != nil {
				return nil, err
			}
			if err := copyPrivate(ctx, s, d.staging); err != nil {
				removeIfExists(d.staging)
				return nil, err
			}
			t.log.Infof("copied %s to %s", s.siteDir(), d.staging)
			return func(context.Context) error { return removeIfExists(d.staging) }, nil
		}},
		// The dump was imported as it was taken.
		{Name: "import", Do: func(context.Context) (aegir.Undo, error) { return nil, nil }},
	}
	after = []aegir.Step{
		{Name: "choose backup", Do: func(context.Context) (aegir.Undo, error) {
			info, err := t.waitBackup(b, s.site.URI)
			if err != nil {
				return nil, err
			}
			d.file = info.Path
			return nil, nil // the undo of "archive" removes it
		}},
		{Name: "remove dump", Do: func(context.Context) (aegir.Undo, error) {
			if shared || move != nil && move.moved {
				// The undo of the move or of a shared database's change
				// may need the dump: the migrate's cleanup removes it with
				// the old directory.
				return nil, nil
			}
			return nil, removeIfExists(dump)
		}},
	}
	return before, after
}

// dumpAndImport dumps the database srcDB into the file dump and, from the
// same stream, imports it into the target's database: mysqldump | tee |
// mysql, with no second read of the dump.
func (t *run) dumpAndImport(ctx context.Context, src aegir.DBService, srcDB string, target *siteEnv, dump string) error {
	if srcDB == "" {
		return aegir.Errorf(aegir.EINVALID, "the site has no database recorded")
	}
	f, err := os.OpenFile(dump, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create dump: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	imported := make(chan error, 1)
	go func() {
		err := target.db.Import(ctx, target.site.DBName, pr)
		if err != nil {
			pr.CloseWithError(err) // the dump stops at its next write
		} else {
			pr.Close()
		}
		imported <- err
	}()
	cw := &counter{}
	derr := src.Dump(ctx, srcDB, io.MultiWriter(f, pw, cw))
	pw.CloseWithError(derr) // nil: the import reads to its end
	ierr := <-imported
	if cerr := f.Close(); derr == nil {
		derr = cerr
	}
	switch {
	case derr != nil && (ierr == nil || errors.Is(ierr, derr)):
		return derr
	case ierr != nil:
		return ierr
	}
	if cw.n < minDumpSize {
		return aegir.Errorf(aegir.EINTERNAL, "the dump of %s is suspiciously small (%d bytes)", srcDB, cw.n)
	}
	t.log.Infof("dumped database %s (%d bytes) and imported it into %s", srcDB, cw.n, target.site.DBName)
	return nil
}

// counter counts the bytes written to it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
