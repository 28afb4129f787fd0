// Package dbservicetest is the conformance suite of aegir.DBService: every
// db service driver runs Exercise against a real server of its kind, and
// each method must do what the domain says of it, whatever the server:
// create a database and a user that reaches it, and only it, from each
// host, with the password given; refuse to create what exists; dump a
// database and import the dump into another with the same content; drop a
// database and its user, twice without error; say what does not exist;
// refuse names that would need quoting, and the server's own; and, when
// the driver is an aegir.TableMover, move a database's tables and back.
// ExerciseEmpty is the part a service without databases (the null driver)
// runs. A driver's own tests keep what is its server's alone (character
// sets, grant tables, triggers, the client programs it runs).
//
// The SQL the suite writes as a site's user is the part of SQL every
// server reads alike. It imports the domain package only.
package dbservicetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// Server is a db service under test and how the suite reaches the server
// it administers.
type Server struct {
	// Service is the driver under test; its Env has a real runner, since
	// Dump and Import may run the server's client programs.
	Service aegir.DBService
	// Connect opens a pool of connections to database name as user with
	// password, the way a site reaches its database; name may be empty.
	Connect func(user, password, name string) (*sql.DB, error)
	// Hosts are the hosts the suite's users are created for; Connect
	// comes from one of them.
	Hosts []string
	// Host and Port are what Address must return.
	Host string
	Port int
	// Reserved databases and users are the server's own and its
	// administrator: the service must never create or drop them.
	ReservedDatabases, ReservedUsers []string
}

// name returns a fresh database and user name of at most 20 characters,
// with the '_' a GRANT would read as a wildcard.
func name(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t_aegir_" + hex.EncodeToString(b)
}

// password is one no server reads literally unless it is passed as a
// value: quotes, a backslash, SQL comment and statement ends.
const password = `pa'ss"wo\rd;-- #x`

// database is one the suite created, with its user and password.
type database struct{ name, user, password string }

// create creates a database and its user (of the same name) from every
// host through the service, and drops both when the test ends.
func (s *Server) create(t *testing.T) database {
	t.Helper()
	n := name(t)
	d := database{n, n, password}
	s.dropAtEnd(t, d.name, d.user)
	if err := s.Service.CreateDatabase(context.Background(), d.name, d.user, d.password, s.Hosts); err != nil {
		t.Fatalf("CreateDatabase(%s): %v", d.name, err)
	}
	return d
}

// dropAtEnd drops name and user when the test ends, whatever happened.
func (s *Server) dropAtEnd(t *testing.T, name, user string) {
	t.Cleanup(func() {
		if err := s.Service.DropDatabase(context.Background(), name, user); err != nil {
			t.Errorf("cleanup: drop %s: %v", name, err)
		}
	})
}

// exec runs statements in d as its user.
func (s *Server) exec(t *testing.T, d database, stmts ...string) {
	t.Helper()
	db, err := s.Connect(d.user, d.password, d.name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s as %s: %v", q, d.user, err)
		}
	}
}

// post is a row of the suite's table.
type post struct {
	id   int
	body sql.NullString
}

// longBody is a text longer than any buffer line of a client.
var longBody = strings.Repeat("aegir ü ", 5000)

// posts are rows whose text a dump must carry as it is: non-ASCII, a
// quote, SQL punctuation, an empty string, NULL, a long text.
var posts = []post{
	{1, sql.NullString{String: "héllo wörld ✓ 日本語", Valid: true}},
	{2, sql.NullString{String: "it's -- not a comment; /* nor this */", Valid: true}},
	{3, sql.NullString{String: "", Valid: true}},
	{4, sql.NullString{}},
	{5, sql.NullString{String: longBody, Valid: true}},
}

// fill creates the table posts in d as its user, with the rows of posts.
func (s *Server) fill(t *testing.T, d database) {
	t.Helper()
	stmts := []string{"CREATE TABLE posts (id INT PRIMARY KEY, body TEXT)"}
	for _, p := range posts {
		v := "NULL"
		if p.body.Valid {
			v = "'" + strings.ReplaceAll(p.body.String, "'", "''") + "'"
		}
		stmts = append(stmts, "INSERT INTO posts (id, body) VALUES ("+strconv.Itoa(p.id)+", "+v+")")
	}
	s.exec(t, d, stmts...)
}

// read returns the rows of table posts of database name, read as user.
func (s *Server) read(user, password, name string) ([]post, error) {
	db, err := s.Connect(user, password, name)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, body FROM posts ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var got []post
	for rows.Next() {
		var p post
		if err := rows.Scan(&p.id, &p.body); err != nil {
			return nil, err
		}
		got = append(got, p)
	}
	return got, rows.Err()
}

// assertPosts fails unless d's user reads exactly the rows of posts in
// database name.
func (s *Server) assertPosts(t *testing.T, d database, name string) {
	t.Helper()
	got, err := s.read(d.user, d.password, name)
	if err != nil {
		t.Fatalf("%s reads %s: %v", d.user, name, err)
	}
	if fmt.Sprint(got) != fmt.Sprint(posts) {
		t.Errorf("%s holds %d rows that differ from the %d written", name, len(got), len(posts))
	}
}

// option reads the siteurl option of d as its user.
func (s *Server) option(d database) (string, error) {
	db, err := s.Connect(d.user, d.password, d.name)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	err = db.QueryRow("SELECT v FROM options WHERE k = 'siteurl'").Scan(&v)
	return v, err
}

// reaches reports whether user with password can read the table posts of
// database name; the error says why not.
func (s *Server) reaches(user, password, name string) error {
	_, err := s.read(user, password, name)
	return err
}

// assertExists fails unless the service says database name and user exist
// as wanted.
func (s *Server) assertExists(t *testing.T, name, user string, wantDB, wantUser bool) {
	t.Helper()
	ctx := context.Background()
	if got, err := s.Service.DatabaseExists(ctx, name); err != nil || got != wantDB {
		t.Errorf("DatabaseExists(%s) = %v, %v; want %v", name, got, err, wantDB)
	}
	if got, err := s.Service.UserExists(ctx, user); err != nil || got != wantUser {
		t.Errorf("UserExists(%s) = %v, %v; want %v", user, got, err, wantUser)
	}
}

// wantInvalid fails unless err is an EINVALID error naming a field.
func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	var e *aegir.Error
	if aegir.ErrorCode(err) != aegir.EINVALID || !errors.As(err, &e) || e.Field == "" {
		t.Errorf("%s: got %v (%q), want an EINVALID error naming a field", what, err, aegir.ErrorCode(err))
	}
}

// Exercise runs the suite on s. The subtests run in order, each on
// databases of its own, created through the service and dropped when it
// ends.
func Exercise(t *testing.T, s *Server) {
	ctx := context.Background()
	svc := s.Service

	t.Run("Verify succeeds", func(t *testing.T) {
		if err := svc.Verify(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a new database is its user's, from each host, with its password", func(t *testing.T) {
		n := name(t)
		s.dropAtEnd(t, n, n)
		hosts := append(append([]string(nil), s.Hosts...), s.Hosts[0]) // a host twice is once
		if err := svc.CreateDatabase(ctx, n, n, password, hosts); err != nil {
			t.Fatal(err)
		}
		s.assertExists(t, n, n, true, true)
		d := database{n, n, password}
		s.fill(t, d)
		s.assertPosts(t, d, n)
		if err := s.reaches(n, "wrong", n); err == nil {
			t.Error("the user connected with a wrong password")
		}
		if size, err := svc.DatabaseSize(ctx, n); err != nil || size < 0 {
			t.Errorf("DatabaseSize = %d, %v", size, err)
		}
		if host, port := svc.Address(); host != s.Host || port != s.Port {
			t.Errorf("Address() = %s, %d; want %s, %d", host, port, s.Host, s.Port)
		}
	})

	t.Run("a user reaches its own database only, '_' being no wildcard", func(t *testing.T) {
		a, b := s.create(t), s.create(t)
		s.fill(t, a)
		s.fill(t, b)
		if err := s.reaches(a.user, a.password, b.name); err == nil {
			t.Errorf("%s reads the database of %s", a.user, b.user)
		}
		// What "_" as a wildcard of GRANT would match as well.
		n := strings.ReplaceAll(a.name, "_", "x")
		other := database{n, n, "other"}
		s.dropAtEnd(t, other.name, other.user)
		if err := svc.CreateDatabase(ctx, other.name, other.user, other.password, s.Hosts); err != nil {
			t.Fatal(err)
		}
		s.fill(t, other)
		if err := s.reaches(a.user, a.password, other.name); err == nil {
			t.Errorf("%s reads %s through a wildcard grant", a.user, other.name)
		}
		s.assertPosts(t, a, a.name)
	})

	t.Run("what exists is a conflict to create and stays as it was", func(t *testing.T) {
		a := s.create(t)
		s.fill(t, a)
		user2 := name(t)
		s.dropAtEnd(t, a.name, user2)
		err := svc.CreateDatabase(ctx, a.name, user2, "second", s.Hosts)
		if aegir.ErrorCode(err) != aegir.ECONFLICT || !strings.Contains(err.Error(), a.name) {
			t.Errorf("create an existing database: %v, want an ECONFLICT error naming %s", err, a.name)
		}
		s.assertExists(t, a.name, user2, true, false)
		name2 := name(t)
		s.dropAtEnd(t, name2, a.user)
		err = svc.CreateDatabase(ctx, name2, a.user, "second", s.Hosts)
		if aegir.ErrorCode(err) != aegir.ECONFLICT || !strings.Contains(err.Error(), a.user) {
			t.Errorf("create with an existing user: %v, want an ECONFLICT error naming %s", err, a.user)
		}
		s.assertExists(t, name2, a.user, false, true)
		s.assertPosts(t, a, a.name) // the first user keeps its password and data
	})

	t.Run("a dump imported into another database holds the same rows", func(t *testing.T) {
		a, b := s.create(t), s.create(t)
		s.fill(t, a)
		var dump bytes.Buffer
		if err := svc.Dump(ctx, a.name, &dump); err != nil {
			t.Fatal(err)
		}
		if err := svc.Import(ctx, b.name, bytes.NewReader(dump.Bytes())); err != nil {
			t.Fatal(err)
		}
		s.assertPosts(t, b, b.name)
		s.assertPosts(t, a, a.name) // the dump did not name its own database
		// A broken statement fails the import.
		err := svc.Import(ctx, b.name, strings.NewReader("CREATE TABLE ok (id INT);\nTHIS IS NOT SQL;\n"))
		if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), b.name) {
			t.Errorf("Import of broken SQL: %v, want an EINVALID error naming %s", err, b.name)
		}
	})

	t.Run("a database that does not exist is not found", func(t *testing.T) {
		n := name(t)
		s.assertExists(t, n, n, false, false)
		size, err := svc.DatabaseSize(ctx, n)
		if aegir.ErrorCode(err) != aegir.ENOTFOUND || !strings.Contains(err.Error(), n) || size != 0 {
			t.Errorf("DatabaseSize = %d, %v; want an ENOTFOUND error naming %s", size, err, n)
		}
		var dump bytes.Buffer
		err = svc.Dump(ctx, n, &dump)
		if aegir.ErrorCode(err) != aegir.ENOTFOUND || !strings.Contains(err.Error(), n) || dump.Len() != 0 {
			t.Errorf("Dump = %d bytes, %v; want nothing and an ENOTFOUND error naming %s", dump.Len(), err, n)
		}
		err = svc.Import(ctx, n, strings.NewReader("CREATE TABLE t (id INT);"))
		if aegir.ErrorCode(err) != aegir.ENOTFOUND || !strings.Contains(err.Error(), n) {
			t.Errorf("Import = %v; want an ENOTFOUND error naming %s", err, n)
		}
		s.assertExists(t, n, n, false, false)
	})

	t.Run("drop removes the database and its user, and again is no error", func(t *testing.T) {
		a := s.create(t)
		s.fill(t, a)
		if err := svc.DropDatabase(ctx, a.name, a.user); err != nil {
			t.Fatal(err)
		}
		s.assertExists(t, a.name, a.user, false, false)
		db, err := s.Connect(a.user, a.password, "")
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			t.Error("the dropped user can still connect")
		}
		if err := svc.DropDatabase(ctx, a.name, a.user); err != nil {
			t.Errorf("second drop: %v", err)
		}
	})

	t.Run("names that need quoting and the server's own are refused with a field error", func(t *testing.T) {
		good := name(t)
		bad := []string{"", "a;b", "x'y", `x"y`, "a`b", `a\b`, "a b", "a\nb", "a\x00b", "..", "a/b", "-x", "a%b", strings.Repeat("a", 65)}
		for _, n := range bad {
			_, err := svc.DatabaseExists(ctx, n)
			wantInvalid(t, fmt.Sprintf("DatabaseExists(%q)", n), err)
			_, err = svc.UserExists(ctx, n)
			wantInvalid(t, fmt.Sprintf("UserExists(%q)", n), err)
			_, err = svc.DatabaseSize(ctx, n)
			wantInvalid(t, fmt.Sprintf("DatabaseSize(%q)", n), err)
			wantInvalid(t, fmt.Sprintf("CreateDatabase db %q", n), svc.CreateDatabase(ctx, n, good, "pw", s.Hosts))
			wantInvalid(t, fmt.Sprintf("CreateDatabase user %q", n), svc.CreateDatabase(ctx, good, n, "pw", s.Hosts))
			wantInvalid(t, fmt.Sprintf("DropDatabase db %q", n), svc.DropDatabase(ctx, n, good))
			wantInvalid(t, fmt.Sprintf("DropDatabase user %q", n), svc.DropDatabase(ctx, good, n))
			var dump bytes.Buffer
			wantInvalid(t, fmt.Sprintf("Dump %q", n), svc.Dump(ctx, n, &dump))
			wantInvalid(t, fmt.Sprintf("Import %q", n), svc.Import(ctx, n, strings.NewReader("")))
		}
		for _, h := range []string{"", "a;b", "x'y", "host name", "h'@'%", "a\nb"} {
			wantInvalid(t, fmt.Sprintf("CreateDatabase host %q", h), svc.CreateDatabase(ctx, good, good, "pw", append([]string{s.Hosts[0]}, h)))
		}
		wantInvalid(t, "CreateDatabase without hosts", svc.CreateDatabase(ctx, good, good, "pw", nil))
		wantInvalid(t, "CreateDatabase without a password", svc.CreateDatabase(ctx, good, good, "", s.Hosts))
		for _, n := range s.ReservedDatabases {
			wantInvalid(t, "CreateDatabase "+n, svc.CreateDatabase(ctx, n, good, "pw", s.Hosts))
			wantInvalid(t, "DropDatabase "+n, svc.DropDatabase(ctx, n, good))
			wantInvalid(t, "Dump "+n, svc.Dump(ctx, n, &bytes.Buffer{}))
			wantInvalid(t, "Import "+n, svc.Import(ctx, n, strings.NewReader("")))
		}
		for _, u := range s.ReservedUsers {
			wantInvalid(t, "CreateDatabase user "+u, svc.CreateDatabase(ctx, good, u, "pw", s.Hosts))
			wantInvalid(t, "DropDatabase user "+u, svc.DropDatabase(ctx, good, u))
		}
		s.assertExists(t, good, good, false, false) // no refused call left anything
	})

	mover, ok := svc.(aegir.TableMover)
	if !ok {
		return
	}
	t.Run("MoveTables moves every table and back", func(t *testing.T) {
		src, dst := s.create(t), s.create(t)
		s.fill(t, src)
		s.exec(t, src, "CREATE TABLE options (k VARCHAR(64) PRIMARY KEY, v TEXT)", "INSERT INTO options (k, v) VALUES ('siteurl', 'http://example.com')")
		moved, err := mover.MoveTables(ctx, src.name, dst.name)
		if err != nil || !moved {
			t.Fatalf("MoveTables = %v, %v; want moved", moved, err)
		}
		s.assertPosts(t, dst, dst.name)
		if v, err := s.option(dst); err != nil || v != "http://example.com" {
			t.Errorf("options after the move: %q, %v", v, err)
		}
		// The emptied database is gone, so its site finds no database
		// rather than an empty one; its user stays.
		s.assertExists(t, src.name, src.user, false, true)
		if err := s.reaches(src.user, src.password, src.name); err == nil {
			t.Error("the old database's user reached it after the move")
		}
		// And back, as an undo does: the old user's grants outlived its
		// database.
		moved, err = mover.MoveTables(ctx, dst.name, src.name)
		if err != nil || !moved {
			t.Fatalf("MoveTables back = %v, %v; want moved", moved, err)
		}
		s.assertPosts(t, src, src.name)
		s.assertExists(t, dst.name, dst.user, false, true)
		if v, err := s.option(src); err != nil || v != "http://example.com" {
			t.Errorf("options after the move back: %q, %v", v, err)
		}
	})

	t.Run("MoveTables refuses a target with tables, a missing source and itself", func(t *testing.T) {
		src, dst := s.create(t), s.create(t)
		s.fill(t, src)
		s.exec(t, dst, "CREATE TABLE posts (id INT)")
		moved, err := mover.MoveTables(ctx, src.name, dst.name)
		if moved || aegir.ErrorCode(err) != aegir.ECONFLICT || !strings.Contains(err.Error(), dst.name) {
			t.Errorf("MoveTables into a database with tables = %v, %v; want an ECONFLICT error naming it", moved, err)
		}
		s.assertPosts(t, src, src.name)
		missing := name(t)
		moved, err = mover.MoveTables(ctx, missing, dst.name)
		if moved || aegir.ErrorCode(err) != aegir.ENOTFOUND || !strings.Contains(err.Error(), missing) {
			t.Errorf("MoveTables of a missing database = %v, %v; want an ENOTFOUND error naming it", moved, err)
		}
		_, err = mover.MoveTables(ctx, src.name, src.name)
		wantInvalid(t, "MoveTables into itself", err)
		for _, n := range append([]string{"a`b", "a;b", ""}, s.ReservedDatabases...) {
			_, err = mover.MoveTables(ctx, n, dst.name)
			wantInvalid(t, fmt.Sprintf("MoveTables from %q", n), err)
			_, err = mover.MoveTables(ctx, src.name, n)
			wantInvalid(t, fmt.Sprintf("MoveTables into %q", n), err)
		}
		s.assertPosts(t, src, src.name)
	})
}

// ExerciseEmpty runs the part of the suite a service without databases
// (the null driver) passes: nothing exists on it, nothing can be created
// or dumped (EINVALID, nothing written), and dropping is no error.
func ExerciseEmpty(t *testing.T, svc aegir.DBService) {
	ctx := context.Background()
	if err := svc.Verify(ctx); err != nil {
		t.Errorf("Verify: %v", err)
	}
	const n = "examplecom"
	if ok, err := svc.DatabaseExists(ctx, n); ok || err != nil {
		t.Errorf("DatabaseExists = %v, %v; want false", ok, err)
	}
	if ok, err := svc.UserExists(ctx, n); ok || err != nil {
		t.Errorf("UserExists = %v, %v; want false", ok, err)
	}
	if size, err := svc.DatabaseSize(ctx, n); size != 0 || aegir.ErrorCode(err) != aegir.ENOTFOUND || !strings.Contains(err.Error(), n) {
		t.Errorf("DatabaseSize = %d, %v; want an ENOTFOUND error naming %s", size, err, n)
	}
	if err := svc.CreateDatabase(ctx, n, n, "pw", []string{"localhost"}); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("CreateDatabase = %v, want an EINVALID error", err)
	}
	if ok, _ := svc.DatabaseExists(ctx, n); ok {
		t.Error("a refused CreateDatabase made a database")
	}
	var dump bytes.Buffer
	if err := svc.Dump(ctx, n, &dump); aegir.ErrorCode(err) != aegir.EINVALID || dump.Len() != 0 {
		t.Errorf("Dump = %d bytes, %v; want nothing and an EINVALID error", dump.Len(), err)
	}
	if err := svc.Import(ctx, n, strings.NewReader("CREATE TABLE t (id INT);")); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("Import = %v, want an EINVALID error", err)
	}
	for range 2 {
		if err := svc.DropDatabase(ctx, n, n); err != nil {
			t.Errorf("DropDatabase: %v", err)
		}
	}
	if _, ok := svc.(aegir.TableMover); ok {
		t.Error("a service without databases moves tables")
	}
}
