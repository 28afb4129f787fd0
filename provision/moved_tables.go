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
