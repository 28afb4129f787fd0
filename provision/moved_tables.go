package provision

import (
	"context"
	"fmt"
	"os"

	"github.com/aegir-hosting/aegir"
)

// tableMove is a migrate's move of the source site's tables into the new
// database, which copies no row: a migrate retires the source anyway.
// From the move on the source site finds no database (see
// aegir.TableMover) until its copy serves in its place, and no write made
// meanwhile is left behind in the old database, as a copy would leave it.
// The task's record (record.go) names both databases before the move, so
// a verify can move the tables back should the process die.
type tableMove struct {
	t     *run
	src   aegir.DBService // the source site's db service
	mover aegir.TableMover
	srcDB string
	d     *deployment
	dump  string // the dump for the backup, in the source directory
	moved bool
}

// do dumps the source database into the dump file, for the backup, and
// moves the tables into the deployment's new database; the task's record
// names both databases already, so a verify can move them back should the
// process die. A database that cannot be moved (views, triggers,
// routines) is imported from the dump instead, and moved stays false.
func (m *tableMove) do(ctx context.Context) error {
	target := m.d.target
	if err := m.t.dumpDatabase(ctx, m.src, m.srcDB, m.dump); err != nil {
		return err
	}
	moved, err := m.mover.MoveTables(ctx, m.srcDB, target.site.DBName)
	if err != nil {
		return err
	}
	if m.moved = moved; moved {
		return nil
	}
	return importFile(ctx, target.db, target.site.DBName, m.dump)
}

// undo moves the tables back and, when the deploy has changed them since
// (an update, a URI rewrite), imports the dump taken before the move over
// them, so the source is as it was. The dump is kept when that fails.
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

// removeFiles removes the dump.
func (m *tableMove) removeFiles() error { return removeIfExists(m.dump) }

// importFile imports the SQL dump at path into the database name.
func importFile(ctx context.Context, db aegir.DBService, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open dump: %w", err)
	}
	defer f.Close()
	return db.Import(ctx, name, f)
}

// sharesDatabase says the copy of a migrate on the same machine
// (sameMachine) can keep the source's database as it is, neither moved
// nor copied: the site keeps its name and address and the target's
// codebase needs no update of its data (aegir.UpdateChecker, from the
// package check made before). The old copy then serves from the very
// database the new one will, up to the reload that moves the traffic, and
// nothing is left behind in a database dropped afterwards.
func sharesDatabase(d *deployment) bool {
	target := d.target
	if !d.moveData || d.oldURI != target.site.URI || d.oldURL != target.url() || d.pkgs == nil {
		return false
	}
	uc, ok := target.platform.app.(aegir.UpdateChecker)
	return ok && !uc.UpdatePending(d.pkgs.used, d.pkgs.available)
}

// shareDatabase stands in for newDatabase when sharesDatabase says so: the
// task's record, marked shared so that a recovery knows no database of its
// own was made and the task committed once the context names the target's
// platform. The old database is not the cleanup's to drop. Its undo
// removes the record.
func (t *run) shareDatabase(d *deployment, name string) (aegir.Undo, error) {
	if err := t.beginRecord(d); err != nil {
		return nil, err
	}
	if err := d.record.update(func(r *taskRecord) { r.Shared = true }); err != nil {
		d.record.end()
		return nil, err
	}
	d.oldDB.name, d.oldDB.user = "", ""
	report(t, func(f *aegir.SiteFacts) { f.DBName = name })
	t.log.Infof("the site keeps its database %s: @%s needs no change of its data, so both copies serve from it until the switch", name, d.target.platform.name)
	return func(context.Context) error { return d.record.end() }, nil
}

// dumpShared dumps the shared database name into the file dump, for the
// migrate's backup. Its undo imports the dump back should the deploy
// have changed the data after all (it is not meant to: sharesDatabase),
// then removes it.
func (t *run) dumpShared(ctx context.Context, db aegir.DBService, name string, d *deployment, dump string) (aegir.Undo, error) {
	if err := t.dumpDatabase(ctx, db, name, dump); err != nil {
		removeIfExists(dump)
		return nil, err
	}
	return func(ctx context.Context) error {
		if d.dataChanged {
			t.log.Infof("the deploy changed the data of %s: importing the dump taken before it", name)
			if err := importFile(ctx, db, name, dump); err != nil {
				return fmt.Errorf("%w (the dump %s is kept)", err, dump)
			}
		}
		return removeIfExists(dump)
	}, nil
}
