package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// testMasterDB is the administrator account of the test server; set
// AEGIR_TEST_MASTER_DB to use another one.
func testMasterDB() string {
	if v := os.Getenv("AEGIR_TEST_MASTER_DB"); v != "" {
		return v
	}
	return "mysql://root:@127.0.0.1:3306"
}

// setup connects to the test server as its administrator, or skips when
// no server answers.
func setup(t *testing.T) (*Service, *aegir.TaskLog) {
	t.Helper()
	return setupAs(t, testMasterDB())
}

func setupAs(t *testing.T, masterDB string) (*Service, *aegir.TaskLog) {
	t.Helper()
	log := aegir.NewTaskLog(nil)
	svc, err := New(&aegir.Server{DBServiceType: aegir.ServiceMySQL, MasterDB: masterDB}, aegir.Env{Log: log})
	if err != nil {
		if strings.Contains(err.Error(), "unreachable") {
			teststack.Missing(t, "no MariaDB/MySQL test server: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc.(*Service), log
}

// uniqueName returns a fresh name of at most 20 characters.
func uniqueName(t *testing.T) string {
	t.Helper()
	h, err := randomHex(6)
	if err != nil {
		t.Fatal(err)
	}
	return "t_aegir_" + h
}

// cleanup drops name and user when the test ends, whatever happened.
func cleanup(t *testing.T, s *Service, name, user string) {
	t.Cleanup(func() {
		if err := s.DropDatabase(context.Background(), name, user); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// openAs opens a pool of connections as user to database name on the test
// server's address, as a site reaches its database.
func openAs(s *Service, user, password, name string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.DBName = user, password, "tcp", name
	cfg.Addr = net.JoinHostPort(s.host, strconv.Itoa(s.port))
	cfg.Timeout = 5 * time.Second
	cfg.Logger = &mysql.NopLogger{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

func assertExists(t *testing.T, s *Service, name, user string, wantDB, wantUser bool) {
	t.Helper()
	ctx := context.Background()
	if got, err := s.DatabaseExists(ctx, name); err != nil {
		t.Fatal(err)
	} else if got != wantDB {
		t.Errorf("DatabaseExists(%s) = %v, want %v", name, got, wantDB)
	}
	if got, err := s.UserExists(ctx, user); err != nil {
		t.Fatal(err)
	} else if got != wantUser {
		t.Errorf("UserExists(%s) = %v, want %v", user, got, wantUser)
	}
}

func TestVerifySucceedsAndLeavesNothing(t *testing.T) {
	t.Parallel()
	s, log := setup(t)
	if err := s.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	var tried string
	for _, e := range log.Entries() {
		if e.Level == aegir.LevelWarning || e.Level == aegir.LevelError {
			t.Errorf("unexpected log entry %s: %s", e.Level, e.Message)
		}
		if i := strings.Index(e.Message, "aegir_verify_"); i >= 0 {
			tried = strings.TrimSuffix(e.Message[i:], ")")
		}
	}
	if tried == "" {
		t.Fatal("the log does not name the test database")
	}
	assertExists(t, s, tried, tried, false, false)
}

// TestCreateDatabaseIsUTF8MB4: what the suite leaves to the driver, the
// character set a new database gets.
func TestCreateDatabaseIsUTF8MB4(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	name := createDatabase(t, s)
	var charset string
	if err := s.db.QueryRow("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&charset); err != nil {
		t.Fatal(err)
	}
	if charset != "utf8mb4" {
		t.Errorf("charset = %s, want utf8mb4", charset)
	}
}

// TestDropDatabaseLeavesNoGrantOnAnyHost: the suite drops a user of two
// hosts; a user of any host ("%") goes too, with every grant.
func TestDropDatabaseLeavesNoGrantOnAnyHost(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	name := uniqueName(t)
	cleanup(t, s, name, name)
	if err := s.CreateDatabase(ctx, name, name, "secret", []string{"localhost", "127.0.0.1", "%"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DropDatabase(ctx, name, name); err != nil {
		t.Fatal(err)
	}
	assertExists(t, s, name, name, false, false)
	var grants int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM mysql.db WHERE User = ?", name).Scan(&grants); err != nil {
		t.Fatal(err)
	}
	if grants != 0 {
		t.Errorf("%d grants left for %s", grants, name)
	}
}

func TestDeadServerFailsQuicklyWithClearError(t *testing.T) {
	t.Parallel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(teststack.FreePort(t)))
	start := time.Now()
	_, err := New(&aegir.Server{MasterDB: "mysql://root:@" + addr}, aegir.Env{})
	if err == nil {
		t.Fatalf("New with a dead server %s succeeded", addr)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("took %s to fail", d)
	}
	if want := "db server " + addr + " unreachable: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("code %s, want %s", aegir.ErrorCode(err), aegir.EINVALID)
	}
}

func TestSilentServerFailsWithinPingTimeout(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never speaks.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = New(&aegir.Server{MasterDB: "mysql://root:@" + l.Addr().String()}, aegir.Env{})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("got %v, want unreachable", err)
	}
	if d := time.Since(start); d > pingTimeout+2*time.Second {
		t.Errorf("took %s to fail", d)
	}
}

func TestWrongAdministratorPasswordIsClear(t *testing.T) {
	t.Parallel()
	setup(t) // skips without a server
	m, err := aegir.ParseMasterDB(testMasterDB())
	if err != nil {
		t.Fatal(err)
	}
	bad := "mysql://" + uniqueName(t) + ":nope@" + net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	_, err = New(&aegir.Server{MasterDB: bad}, aegir.Env{})
	if err == nil || !strings.Contains(err.Error(), "refused the administrator") {
		t.Fatalf("got %v, want a refusal", err)
	}
}

func TestBadNamesAreRejectedBeforeAnySQL(t *testing.T) {
	t.Parallel()
	// The pool points at a closed port: any statement would fail with a
	// connection error, so an EINVALID error proves no SQL was sent.
	s, err := newService(&aegir.MasterDB{User: "admin", Host: "127.0.0.1", Port: teststack.FreePort(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	bad := []string{"a;b", "x'y", "..", "Upper", "a`b", "a b", "", strings.Repeat("a", 65), "é"}
	check := func(what string, err error) {
		t.Helper()
		if aegir.ErrorCode(err) != aegir.EINVALID {
			t.Errorf("%s: got %v, want an EINVALID error", what, err)
		}
	}
	for _, n := range bad {
		_, err := s.DatabaseExists(ctx, n)
		check("DatabaseExists("+n+")", err)
		_, err = s.UserExists(ctx, n)
		check("UserExists("+n+")", err)
		check("CreateDatabase db "+n, s.CreateDatabase(ctx, n, "good", "pw", []string{"localhost"}))
		check("CreateDatabase user "+n, s.CreateDatabase(ctx, "good", n, "pw", []string{"localhost"}))
		check("DropDatabase db "+n, s.DropDatabase(ctx, n, "good"))
		check("DropDatabase user "+n, s.DropDatabase(ctx, "good", n))
		check("Dump "+n, s.Dump(ctx, n, io.Discard))
		check("Import "+n, s.Import(ctx, n, strings.NewReader("")))
	}
	// A user name may be 32 characters, a database name 64.
	check("UserExists(33 chars)", func() error { _, err := s.UserExists(ctx, strings.Repeat("a", 33)); return err }())
	for _, h := range []string{"a;b", "x'y", "host name", "%.evil", "Host", "", "a..b", "-a", "h'@'%"} {
		check("CreateDatabase host "+h, s.CreateDatabase(ctx, "good", "good", "pw", []string{"localhost", h}))
	}
	check("CreateDatabase no host", s.CreateDatabase(ctx, "good", "good", "pw", nil))
	check("CreateDatabase no password", s.CreateDatabase(ctx, "good", "good", "", []string{"localhost"}))
	for _, n := range systemDatabases {
		check("DropDatabase "+n, s.DropDatabase(ctx, n, "good"))
		check("CreateDatabase "+n, s.CreateDatabase(ctx, n, "good", "pw", []string{"localhost"}))
		check("Dump "+n, s.Dump(ctx, n, io.Discard))
		check("Import "+n, s.Import(ctx, n, strings.NewReader("")))
	}
	for _, u := range append(systemUsers, "admin") {
		check("DropDatabase user "+u, s.DropDatabase(ctx, "good", u))
		check("CreateDatabase user "+u, s.CreateDatabase(ctx, "good", u, "pw", []string{"localhost"}))
	}
}

func TestValidHostsAreAccepted(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"%", "localhost", "127.0.0.1", "::1", "10.1.2.3", "web1", "web-1.example.com"} {
		if err := validateHost(h); err != nil {
			t.Errorf("validateHost(%q): %v", h, err)
		}
	}
}

func TestCreateDatabaseForExistingUserIsConflictAndLeavesNothing(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	name, user := uniqueName(t), uniqueName(t)
	t.Cleanup(func() { s.db.Exec("DROP USER IF EXISTS ?@?", user, "10.9.9.9") })
	cleanup(t, s, name, name)
	// The user exists on another host than those asked for.
	if _, err := s.db.Exec("CREATE USER ?@? IDENTIFIED BY ?", user, "10.9.9.9", "theirs"); err != nil {
		t.Fatal(err)
	}
	err := s.CreateDatabase(context.Background(), name, user, "secret", []string{"127.0.0.1"})
	if aegir.ErrorCode(err) != aegir.ECONFLICT || !strings.Contains(err.Error(), user) {
		t.Fatalf("got %v, want an ECONFLICT naming %s", err, user)
	}
	assertExists(t, s, name, user, false, true) // the other user is untouched
}

func TestCreateDatabaseThatFailsAtGrantLeavesNothing(t *testing.T) {
	t.Parallel()
	root, _ := setup(t)
	// An administrator that may create databases and users but not grant.
	adm := uniqueName(t)
	if _, err := root.db.Exec("CREATE USER ?@? IDENTIFIED BY ?", adm, "127.0.0.1", "admpw"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.db.Exec("DROP USER IF EXISTS ?@?", adm, "127.0.0.1") })
	for _, g := range []string{"GRANT CREATE, DROP, CREATE USER ON *.* TO ?@?", "GRANT SELECT ON mysql.* TO ?@?"} {
		if _, err := root.db.Exec(g, adm, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	s, log := setupAs(t, "mysql://"+adm+":admpw@127.0.0.1:"+strconv.Itoa(root.port))
	name := uniqueName(t)
	cleanup(t, root, name, name)
	err := s.CreateDatabase(context.Background(), name, name, "secret", []string{"localhost", "127.0.0.1"})
	if err == nil {
		t.Fatal("CreateDatabase without the grant privilege succeeded")
	}
	if !strings.Contains(err.Error(), "grant database "+name) {
		t.Errorf("error %q does not say the grant failed", err)
	}
	assertExists(t, root, name, name, false, false)
	var undone bool
	for _, e := range log.Entries() {
		if strings.Contains(e.Message, "after a failed create") {
			undone = true
		}
		if e.Level == aegir.LevelWarning {
			t.Errorf("undo incomplete: %s", e.Message)
		}
	}
	if !undone {
		t.Error("the log does not show the undo")
	}
}

func TestVerifyNamesTheStepThatFailed(t *testing.T) {
	t.Parallel()
	root, _ := setup(t)
	// An administrator that may create databases but not users.
	adm := uniqueName(t)
	if _, err := root.db.Exec("CREATE USER ?@? IDENTIFIED BY ?", adm, "127.0.0.1", "admpw"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.db.Exec("DROP USER IF EXISTS ?@?", adm, "127.0.0.1") })
	if _, err := root.db.Exec("GRANT CREATE, DROP ON *.* TO ?@?", adm, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	s, _ := setupAs(t, "mysql://"+adm+":admpw@127.0.0.1:"+strconv.Itoa(root.port))
	err := s.Verify(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot create test user") {
		t.Fatalf("got %v, want a failure at create test user", err)
	}
	// The test database created before the failure was dropped.
	name := err.Error()[strings.Index(err.Error(), "aegir_verify_"):][:len("aegir_verify_")+8]
	if ok, err := root.DatabaseExists(context.Background(), name); err != nil || ok {
		t.Errorf("test database %s left behind (%v)", name, err)
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	_, err := aegir.NewDBService(&aegir.Server{DBServiceType: aegir.ServiceMySQL, MasterDB: "mysql://root:@127.0.0.1:1"}, aegir.Env{})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("got %v, want the mysql driver's unreachable error", err)
	}
}

func TestDatabaseSizeGrowsWithItsTables(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	var svc aegir.DBService = s // as the statistics scheduler calls it
	ctx := context.Background()
	name := uniqueName(t)
	cleanup(t, s, name, name)
	if err := svc.CreateDatabase(ctx, name, name, "secret", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		t.Helper()
		n, err := svc.DatabaseSize(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := size(); got != 0 {
		t.Fatalf("size of an empty database = %d, want 0", got)
	}
	table := quote(name) + ".t"
	if _, err := s.db.ExecContext(ctx, "CREATE TABLE "+table+" (id INT PRIMARY KEY, v VARCHAR(1000) NOT NULL) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	empty := size()
	if empty <= 0 {
		t.Fatalf("size with an empty table = %d, want its first pages", empty)
	}
	// 1000 rows of 1000 bytes, in one statement.
	const rows, width = 1000, 1000
	var insert strings.Builder
	insert.WriteString("INSERT INTO " + table + " VALUES ")
	for i := range rows {
		if i > 0 {
			insert.WriteString(",")
		}
		fmt.Fprintf(&insert, "(%d, REPEAT('x', %d))", i, width)
	}
	if _, err := s.db.ExecContext(ctx, insert.String()); err != nil {
		t.Fatal(err)
	}
	// InnoDB's figures follow its statistics, which the server updates in
	// the background; ANALYZE TABLE updates them now.
	if _, err := s.db.ExecContext(ctx, "ANALYZE TABLE "+table); err != nil {
		t.Fatal(err)
	}
	full := size()
	if full < empty+rows*width || full > 8*rows*width {
		t.Fatalf("size with %d bytes of rows = %d (%d empty), want at least their bytes and not eight times them", rows*width, full, empty)
	}
	t.Logf("empty table %d bytes, with %d bytes of rows %d bytes", empty, rows*width, full)
}
