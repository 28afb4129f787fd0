package mysql

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// queryAs counts the rows of table in database name as user, the way a
// site reaches its database.
func queryAs(s *Service, user, password, name, table string) (int, error) {
	db, err := openAs(s, user, password, name)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow("SELECT COUNT(*) FROM " + quote(table)).Scan(&n)
	return n, err
}

// plainTables creates two tables with rows in name, and nothing else.
func plainTables(t *testing.T, s *Service, name string) {
	t.Helper()
	for _, q := range []string{
		"CREATE TABLE " + quote(name) + ".posts (id INT PRIMARY KEY, body TEXT) CHARACTER SET utf8mb4",
		"INSERT INTO " + quote(name) + ".posts VALUES (1, 'héllo'), (2, 'wörld'), (3, '✓')",
		"CREATE TABLE " + quote(name) + ".options (k VARCHAR(64) PRIMARY KEY, v TEXT) ENGINE=InnoDB",
		"INSERT INTO " + quote(name) + ".options VALUES ('siteurl', 'http://example.com')",
	} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMoveTablesMovesTablesWhoseNamesNeedQuoting: a site's own database
// user may name its tables anything, and the RENAME runs as the
// administrator; each name must reach it as one identifier. (Written as
// they were, with no backtick doubled, these names ended their
// identifier and the rest was read as SQL.) The target, which the move
// makes, has the source's character set, and the source's user finds no
// database once it is gone.
func TestMoveTablesMovesTablesWhoseNamesNeedQuoting(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	src, other := createDatabase(t, s), createDatabase(t, s)
	plainTables(t, s, src)
	plainTables(t, s, other)
	odd := []string{"`", "a``b", "x`.`y` #", "p` TO `" + other + "`.`q", "c\" d", "e'f", "g;h", "i -- j", "k/*l"}
	for _, n := range odd {
		if _, err := s.db.Exec("CREATE TABLE " + quote(src) + "." + quote(n) + " (id INT)"); err != nil {
			t.Fatalf("create table %q: %v", n, err)
		}
	}
	dst := uniqueName(t)
	cleanup(t, s, dst, dst)
	moved, err := s.MoveTables(ctx, src, dst)
	if err != nil || !moved {
		t.Fatalf("MoveTables = %v, %v; want moved", moved, err)
	}
	got, err := s.tableNames(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{"options", "posts"}, odd...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dst, got, want)
	}
	if got, err := s.tableNames(ctx, other); err != nil || !slices.Equal(got, []string{"options", "posts"}) {
		t.Errorf("the other database holds %q (%v), want its own two tables", got, err)
	}
	var cs string
	if err := s.db.QueryRow("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", dst).Scan(&cs); err != nil || cs != "utf8mb4" {
		t.Errorf("the database the move made has character set %q (%v), want utf8mb4", cs, err)
	}
	if _, err := queryAs(s, src, "secret", src, "posts"); err == nil || !strings.Contains(err.Error(), "Unknown database") {
		t.Errorf("the old database's user reached it after the move: %v", err)
	}
}

func TestMoveTablesLeavesTriggersAndRoutinesToACopy(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	src := createDatabase(t, s)
	rows := fillDatabase(t, s, src) // a trigger and a procedure
	dst := createDatabase(t, s)
	moved, err := s.MoveTables(ctx, src, dst)
	if err != nil || moved {
		t.Fatalf("MoveTables = %v, %v; want not moved and no error", moved, err)
	}
	assertCopy(t, s, src, src, rows)
	if held, err := s.tableNames(ctx, dst); err != nil || len(held) != 0 {
		t.Errorf("the target holds %v (%v), want nothing", held, err)
	}
}
