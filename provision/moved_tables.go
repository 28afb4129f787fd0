package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aegir-hosting/aegir"
)

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
