package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aegir-hosting/aegir"
)

var _ aegir.TableMover = (*Service)(nil)

// MoveTables moves every table of from into to with one RENAME TABLE,
// which the server applies whole or not at all and which moves no row:
// on InnoDB it renames each table's files. See aegir.TableMover.
func (s *Service) MoveTables(ctx context.Context, from, to string) (bool, error) {
	for _, name := range []string{from, to} {
		if err := validateSiteDatabase(name); err != nil {
			return false, err
		}
	}
	if from == to {
		return false, aegir.FieldErrorf("db_name", "cannot move the tables of %s into itself", from)
	}
	var charset, collation string
	err := s.db.QueryRowContext(ctx, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", from).Scan(&charset, &collation)
	if errors.Is(err, sql.ErrNoRows) {
		return false, s.notFound(from)
	} else if err != nil {
		return false, fmt.Errorf("look up database %s on db server %s: %w", from, s.addr, err)
	}
	if !charsetName.MatchString(charset) || !charsetName.MatchString(collation) {
		return false, fmt.Errorf("database %s on db server %s: unexpected character set %q or collation %q", from, s.addr, charset, collation)
	}
	// What RENAME TABLE cannot carry to another database: views, triggers
	// (the server refuses to move a table that has some), stored routines
	// and events (they stay behind). One round trip, each subquery on a
	// constant schema so the server reads that database only.
	var others int
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'BASE TABLE') +
		(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?) +
		(SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?) +
		(SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?)`,
		from, from, from, from).Scan(&others)
	if err != nil {
		return false, fmt.Errorf("look at database %s on db server %s: %w", from, s.addr, err)
	}
	if others > 0 {
		s.log.Infof("database %s has views, triggers, routines or events: its tables are not moved", from)
		return false, nil
	}
	tables, err := s.tableNames(ctx, from)
	if err != nil {
		return false, err
	}
	if held, err := s.tableNames(ctx, to); err != nil {
		return false, err
	} else if len(held) > 0 {
		return false, aegir.Errorf(aegir.ECONFLICT, "database %s on db server %s already holds %d tables: the tables of %s cannot move into it", to, s.addr, len(held), from)
	}
	if _, err := s.db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quote(to)+" CHARACTER SET "+charset+" COLLATE "+collation); err != nil {
		return false, fmt.Errorf("create database %s on db server %s: %w", to, s.addr, err)
	}
	if len(tables) > 0 {
		pairs := make([]string, len(tables))
		for i, t := range tables {
			pairs[i] = quote(from) + "." + quote(t) + " TO " + quote(to) + "." + quote(t)
		}
		if _, err := s.db.ExecContext(ctx, "RENAME TABLE "+strings.Join(pairs, ", ")); err != nil {
			return false, fmt.Errorf("move the tables of %s into %s on db server %s: %w", from, to, s.addr, err)
		}
	}
	s.log.Infof("moved %d tables of database %s into %s on db server %s", len(tables), from, to, s.addr)
	// The tables are where they belong now: a drop that fails leaves an
	// empty database behind, which is no reason to undo the move.
	if _, err := s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(from)); err != nil {
		s.log.Warnf("drop the emptied database %s on db server %s: %v", from, s.addr, err)
	}
	return true, nil
}

// charsetName is what a character set or collation name looks like; the
// names come from the server but go into a statement unquoted.
var charsetName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// tableNames lists the tables of a database; none when it does not exist.
func (s *Service) tableNames(ctx context.Context, name string) ([]string, error) {
	return s.queryStrings(ctx, "list the tables of "+name, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", name)
}
