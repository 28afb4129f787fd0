package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

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
// and the tables are moved into the new database; the archive of that
// directory (the backup Aegir's migrate leaves behind) is written in the
// background while the directory is copied beside the target and the copy
// is brought up; "choose backup" waits for it. The copy is a real one,
// file by file, never hard links, since the site goes on writing its
// files. The caller runs bringUpSteps between the two lists returned, and
// nothing that changes the source directory before the second.
func (t *run) copySteps(s *siteEnv, d *deployment, file *string) (before, after []aegir.Step) {
	target := d.target
	d.staging = target.siteDir() + restoreSuffix
	d.oldDB.name, d.oldDB.user = target.site.DBName, target.site.DBUser
	srcDB := s.site.DBName // the deploy changes target.site, a copy, never s.site
	dump := filepath.Join(s.siteDir(), dumpFile)
	var b *sideBackup
	var move *tableMove // a migrate's, on a db server that can move tables
	if mover, ok := target.db.(aegir.TableMover); ok && d.moveData {
		move = &tableMove{t: t, src: s.db, mover: mover, srcDB: srcDB, d: d, dump: dump, record: movedTablesPath(s.siteDir())}
	}
	before = []aegir.Step{
		{Name: "database", Do: func(ctx context.Context) (aegir.Undo, error) {
			target.site.DBName = ""
			drop, err := t.createDatabase(ctx, target)
			if err != nil || drop == nil {
				return drop, err
			}
			return func(ctx context.Context) error {
				if move != nil && move.moved {
					return fmt.Errorf("kept database %s: it holds the tables of %s, which could not be moved back", target.site.DBName, srcDB)
				}
				return drop(ctx)
			}, nil
		}},
		{Name: "dump database", Do: func(ctx context.Context) (aegir.Undo, error) {
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
			b = t.startBackup(ctx, *file, s.siteDir(), nil)
			return func(context.Context) error { return b.discard(t.b.Archiver) }, nil
		}},
		{Name: "unpack", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := removeIfExists(d.staging); err != nil {
				return nil, err
			}
			if err := copyTree(ctx, s.siteDir(), d.staging, dumpFile); err != nil {
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
			if move != nil && move.moved {
				// The undo of the move may need the dump, and a crash the
				// record until the front end has learned where the site
				// is: the migrate's cleanup removes both.
				return nil, nil
			}
			return nil, removeIfExists(dump)
		}},
	}
	return before, after
}

// tableMove is a migrate's move of the source site's tables into the new
// database, which copies no row: a migrate retires the source anyway.
// From the move on the source site finds no database (see
// aegir.TableMover) until its copy serves in its place, and no write made
// meanwhile is left behind in the old database, as a copy would leave it.
type tableMove struct {
	t      *run
	src    aegir.DBService // the source site's db service
	mover  aegir.TableMover
	srcDB  string
	d      *deployment
	dump   string // the dump for the backup, in the source directory
	record string // movedTablesPath of the source directory
	moved  bool
}

// do dumps the source database into the dump file, for the backup,
// records the move in the record file, and moves the tables into the
// deployment's new database. A database that cannot be moved (views,
// triggers, routines) is imported from the dump instead, and moved stays
// false.
func (m *tableMove) do(ctx context.Context) error {
	target := m.d.target
	if err := m.t.dumpDatabase(ctx, m.src, m.srcDB, m.dump); err != nil {
		return err
	}
	if err := writeMovedTables(m.record, movedTables{From: m.srcDB, To: target.site.DBName}); err != nil {
		return err
	}
	moved, err := m.mover.MoveTables(ctx, m.srcDB, target.site.DBName)
	if err != nil {
		return err
	}
	if m.moved = moved; moved {
		return nil
	}
	if err := removeIfExists(m.record); err != nil {
		return err
	}
	return importFile(ctx, target.db, target.site.DBName, m.dump)
}

// undo moves the tables back and, when the deploy has changed them since
// (an update, a URI rewrite), imports the dump taken before the move over
// them, so the source is as it was. The dump and the record are kept when
// that fails.
func (m *tableMove) undo(ctx context.Context) error {
	if m.moved {
		if _, err := m.mover.MoveTables(ctx, m.d.target.site.DBName, m.srcDB); err != nil {
			return fmt.Errorf("%w (the dump %s is kept)", err, m.dump)
		}
		m.moved = false
		if m.d.dataChanged {
			m.t.log.Infof("the deploy changed the data of %s: importing the dump taken before the move", m.srcDB)
			if err := importFile(ctx, m.src, m.srcDB, m.dump); err != nil {
				return fmt.Errorf("%w (the dump %s is kept)", err, m.dump)
			}
		}
	}
	return m.removeFiles()
}

// removeFiles removes the dump and the record.
func (m *tableMove) removeFiles() error {
	return errors.Join(removeIfExists(m.dump), removeIfExists(m.record))
}

// movedTables records, beside the source site's directory, a move of its
// tables under way: a migrate that dies after the move and before its copy
// serves in the source's place leaves the source's context naming a
// database that is gone, and the verify of the site reads the record to
// move the tables back (recoverMovedTables).
type movedTables struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func movedTablesPath(siteDir string) string { return siteDir + ".moved-tables" }

// writeMovedTables writes the record and syncs it, so it is on disk before
// the move it announces.
func writeMovedTables(path string, m movedTables) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("record the move of the tables: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record the move of the tables: %w", err)
	}
	return nil
}

// recoverMovedTables finishes what a migrate that died left: when the
// site's directory has a record of a move of its tables away from the
// database the site's context names, and that database is gone, the
// tables go back from where the record says. A record of another database
// (the site has been deployed since) or of a move that never happened is
// removed, and so is one that cannot be read: it is written in full
// before any move.
func (t *run) recoverMovedTables(ctx context.Context, s *siteEnv) error {
	path := movedTablesPath(s.siteDir())
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var m movedTables
	if json.Unmarshal(data, &m) == nil && m.From == s.site.DBName && m.To != "" {
		mover, ok := s.db.(aegir.TableMover)
		if !ok {
			return aegir.Errorf(aegir.EINTERNAL, "%s records a move of the tables of %s into %s, which the db server's service cannot move back", path, m.From, m.To)
		}
		there, err := s.db.DatabaseExists(ctx, m.From)
		if err != nil {
			return err
		}
		if !there {
			if _, err := mover.MoveTables(ctx, m.To, m.From); err != nil {
				return fmt.Errorf("move back the tables a stopped migrate moved into %s: %w", m.To, err)
			}
			t.log.Warnf("moved the tables of %s back into %s: a migrate had stopped after moving them", m.To, m.From)
		}
	}
	return removeIfExists(path)
}

// importFile imports the SQL dump at path into the database name.
func importFile(ctx context.Context, db aegir.DBService, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open dump: %w", err)
	}
	defer f.Close()
	return db.Import(ctx, name, f)
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
