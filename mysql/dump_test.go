package mysql

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// recordingRunner runs commands with the real local runner and checks, as
// each command runs, how the credentials reach it: in a 0600 option file
// in os.TempDir(), never on the command line.
type recordingRunner struct {
	password string
	mu       sync.Mutex
	files    []string // option files the commands were given
	problems []string
}

func (r *recordingRunner) Run(ctx context.Context, cmd aegir.Command) ([]byte, error) {
	r.mu.Lock()
	for _, a := range cmd.Args {
		if r.password != "" && strings.Contains(a, r.password) {
			r.problems = append(r.problems, "password on the command line: "+strings.Join(cmd.Args, " "))
		}
		path, ok := strings.CutPrefix(a, "--defaults-extra-file=")
		if !ok {
			continue
		}
		r.files = append(r.files, path)
		if filepath.Dir(path) != filepath.Clean(os.TempDir()) || !strings.HasPrefix(filepath.Base(path), optionFilePrefix) {
			r.problems = append(r.problems, "option file "+path+" is not "+optionFilePrefix+"* in "+os.TempDir())
		}
		if fi, err := os.Stat(path); err != nil {
			r.problems = append(r.problems, err.Error())
		} else if fi.Mode().Perm() != 0o600 {
			r.problems = append(r.problems, "option file mode "+fi.Mode().String())
		}
	}
	r.mu.Unlock()
	return (&local.Runner{}).Run(ctx, cmd)
}

// check fails the test when a command got its credentials wrongly or an
// option file is left in os.TempDir(): listed there before the test
// (before) and now, only files this runner handed out count, since other
// test binaries may be dumping at the same time.
func (r *recordingRunner) check(t *testing.T, before map[string]bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		t.Error(p)
	}
	if len(r.files) == 0 {
		t.Error("no command was given an option file")
	}
	after := optionFiles(t)
	for _, f := range r.files {
		if after[filepath.Base(f)] && !before[filepath.Base(f)] {
			t.Errorf("option file %s left behind", f)
		}
	}
}

// optionFiles lists the option files in os.TempDir().
func optionFiles(t *testing.T) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), optionFilePrefix) {
			files[e.Name()] = true
		}
	}
	return files
}

// setupDump connects to the test server as masterDB with a recording
// runner.
func setupDump(t *testing.T, masterDB string) (*Service, *recordingRunner) {
	t.Helper()
	m, err := aegir.ParseMasterDB(masterDB)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingRunner{password: m.Password}
	svc, err := New(&aegir.Server{DBServiceType: aegir.ServiceMySQL, MasterDB: masterDB}, aegir.Env{Log: aegir.NewTaskLog(nil), Runner: rec})
	if err != nil {
		if strings.Contains(err.Error(), "unreachable") {
			teststack.Missing(t, "no MariaDB/MySQL test server: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc.(*Service), rec
}

// createDatabase creates a database with its user through the driver and
// drops both when the test ends.
func createDatabase(t *testing.T, s *Service) string {
	t.Helper()
	name := uniqueName(t)
	cleanup(t, s, name, name)
	if err := s.CreateDatabase(context.Background(), name, name, "secret", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	return name
}

// row is one row of the test table.
type row struct {
	id   int
	name string
	data []byte
	note sql.NullString
}

// fillDatabase creates a table with unicode text, binary data (every byte
// value, and a row of 1 MiB), NULLs, a trigger and a procedure, and
// returns the rows.
func fillDatabase(t *testing.T, s *Service, name string) []row {
	t.Helper()
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	rows := []row{
		{1, "héllo wörld ✓ 日本語 🦀", []byte("plain"), sql.NullString{String: "quote ' backslash \\ newline \n tab \t", Valid: true}},
		{2, "every byte", every, sql.NullString{}},
		{3, "big", big, sql.NullString{String: strings.Repeat("ü", 1000), Valid: true}},
		{4, "", []byte{}, sql.NullString{String: "", Valid: true}},
		{5, "nul \x00 and ctrl-z \x1a in text", []byte{0, 0, 0}, sql.NullString{String: "*/ -- ; DELIMITER //", Valid: true}},
	}
	// On a connection of its own using the database, as an app does: a
	// trigger keeps the text it was created with, and a name qualified
	// with the database would be dumped as such.
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"USE " + quote(name),
		"CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, data LONGBLOB NOT NULL, note TEXT NULL) CHARACTER SET utf8mb4",
		"CREATE TRIGGER t_note BEFORE INSERT ON t FOR EACH ROW SET NEW.note = COALESCE(NEW.note, 'set by trigger')",
		"CREATE PROCEDURE t_count() SELECT COUNT(*) FROM t",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rows {
		if _, err := conn.ExecContext(ctx, "INSERT INTO t VALUES (?, ?, ?, ?)", r.id, r.name, r.data, r.note); err != nil {
			t.Fatal(err)
		}
	}
	// The trigger filled the NULL in.
	rows[1].note = sql.NullString{String: "set by trigger", Valid: true}
	return rows
}

// assertCopy checks that database name holds exactly rows, and the
// trigger and the procedure, with the same checksum as the original.
func assertCopy(t *testing.T, s *Service, original, name string, want []row) {
	t.Helper()
	got, err := s.db.Query("SELECT id, name, data, note FROM " + quote(name) + ".t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	i := 0
	for ; got.Next(); i++ {
		var r row
		if err := got.Scan(&r.id, &r.name, &r.data, &r.note); err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Errorf("%s: extra row %d", name, r.id)
			continue
		}
		w := want[i]
		if r.id != w.id || r.name != w.name || !bytes.Equal(r.data, w.data) || r.note != w.note {
			t.Errorf("%s: row %d differs: name %q, %d bytes of data, note %v; want name %q, %d bytes, note %v",
				name, w.id, r.name, len(r.data), r.note, w.name, len(w.data), w.note)
		}
	}
	if err := got.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(want) {
		t.Errorf("%s: %d rows, want %d", name, i, len(want))
	}
	checksum := func(db string) int64 {
		var table string
		var sum sql.NullInt64
		if err := s.db.QueryRow("CHECKSUM TABLE "+quote(db)+".t").Scan(&table, &sum); err != nil {
			t.Fatal(err)
		}
		return sum.Int64
	}
	if a, b := checksum(original), checksum(name); a != b || a == 0 {
		t.Errorf("CHECKSUM TABLE: %s %d, %s %d", original, a, name, b)
	}
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = 't_note'", name).Scan(&n); err != nil || n != 1 {
		t.Errorf("%s: trigger t_note missing (%v)", name, err)
	}
	if err := s.db.QueryRow("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = 't_count'", name).Scan(&n); err != nil || n != 1 {
		t.Errorf("%s: procedure t_count missing (%v)", name, err)
	}
}

func TestDumpAndImportCopyADatabase(t *testing.T) {
	t.Parallel()
	before := optionFiles(t)
	s, rec := setupDump(t, testMasterDB())
	ctx := context.Background()
	src := createDatabase(t, s)
	rows := fillDatabase(t, s, src)

	// Into memory and back.
	var dump bytes.Buffer
	if err := s.Dump(ctx, src, &dump); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump.String(), "CREATE TABLE `t`") || strings.Contains(dump.String(), "CREATE DATABASE") {
		t.Errorf("the dump does not create the table or creates a database:\n%.2000s", dump.String())
	}
	dst := createDatabase(t, s)
	if err := s.Import(ctx, dst, &dump); err != nil {
		t.Fatal(err)
	}
	assertCopy(t, s, src, dst, rows)

	// Into a file and back.
	path := filepath.Join(t.TempDir(), "dump.sql")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Dump(ctx, src, f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() < 2<<20 {
		t.Fatalf("dump file: %v, %v bytes, want over 2 MiB of hex", err, fi.Size())
	}
	f, err = os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst2 := createDatabase(t, s)
	if err := s.Import(ctx, dst2, f); err != nil {
		t.Fatal(err)
	}
	assertCopy(t, s, src, dst2, rows)
	rec.check(t, before)
}

func TestImportOfBrokenSQLFailsWithTheClientsMessage(t *testing.T) {
	t.Parallel()
	before := optionFiles(t)
	s, rec := setupDump(t, testMasterDB())
	ctx := context.Background()
	name := createDatabase(t, s)
	err := s.Import(ctx, name, strings.NewReader("CREATE TABLE ok (id INT);\nSELECT 1;\nTHIS IS NOT SQL;\nCREATE TABLE after_error (id INT);\n"))
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("got %v (%s), want an EINVALID error", err, aegir.ErrorCode(err))
	}
	for _, want := range []string{name, "ERROR 1064", "at line 3", "SQL syntax", "near 'THIS IS NOT SQL'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", name).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d tables (%v), want the one created before the error", n, err)
	}
	rec.check(t, before)
}

func TestImportDoesNotRunClientCommands(t *testing.T) {
	t.Parallel()
	s, _ := setupDump(t, testMasterDB())
	name := createDatabase(t, s)
	dir := t.TempDir()
	for _, cmd := range []string{`\! touch ` + dir + `/shell`, `system touch ` + dir + `/system`, `source /etc/hostname`} {
		err := s.Import(context.Background(), name, strings.NewReader("SELECT 1;\n"+cmd+"\n"))
		if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "at line 2") {
			t.Errorf("Import of %q: got %v, want an EINVALID error at line 2", cmd, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a client command ran a shell: %v", entries)
	}
}

// TestDumpAsAdministratorWithPasswordKeepsItSecret runs as an
// administrator whose password needs quoting in the option file, then
// makes mysqldump fail on it.
func TestDumpAsAdministratorWithPasswordKeepsItSecret(t *testing.T) {
	t.Parallel()
	before := optionFiles(t)
	root, _ := setup(t)
	adm := uniqueName(t)
	const password = `p"a'ss\w#o rd=;x\`
	if _, err := root.db.Exec("CREATE USER ?@? IDENTIFIED BY ?", adm, "127.0.0.1", password); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.db.Exec("DROP USER IF EXISTS ?@?", adm, "127.0.0.1") })
	if _, err := root.db.Exec("GRANT ALL PRIVILEGES ON *.* TO ?@?", adm, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	master := (&url.URL{Scheme: "mysql", User: url.UserPassword(adm, password), Host: "127.0.0.1:" + strconv.Itoa(root.port)}).String()
	s, rec := setupDump(t, master)
	ctx := context.Background()
	name := createDatabase(t, root)
	if _, err := root.db.Exec("CREATE TABLE " + quote(name) + ".t (id INT)"); err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	if err := s.Dump(ctx, name, &dump); err != nil {
		t.Fatalf("Dump as %s: %v", adm, err)
	}
	if err := s.Import(ctx, name, &dump); err != nil {
		t.Fatalf("Import as %s: %v", adm, err)
	}

	// The pool stays connected; a new connection, as mysqldump's, fails.
	if _, err := root.db.Exec("ALTER USER ?@? IDENTIFIED BY ?", adm, "127.0.0.1", "changed"); err != nil {
		t.Fatal(err)
	}
	err := s.Dump(ctx, name, io.Discard)
	if err == nil {
		t.Fatal("Dump with a wrong password succeeded")
	}
	if !strings.Contains(err.Error(), "Access denied for user") || !strings.Contains(err.Error(), name) {
		t.Errorf("error %q does not carry mysqldump's message and the database", err)
	}
	err2 := s.Import(ctx, name, strings.NewReader("SELECT 1;"))
	if err2 == nil || !strings.Contains(err2.Error(), "Access denied for user") {
		t.Errorf("Import with a wrong password: %v", err2)
	}
	for _, e := range []error{err, err2} {
		for ; e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), password) || strings.Contains(e.Error(), `p"a'ss`) {
				t.Errorf("error %q holds the password", e)
			}
		}
	}
	rec.check(t, before)
}

// failingWriter takes limit bytes, then fails.
type failingWriter struct {
	limit, n, calls int
}

var errFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.n+len(p) > w.limit {
		n := w.limit - w.n
		w.n = w.limit
		return n, errFull
	}
	w.n += len(p)
	return len(p), nil
}

func TestDumpStopsWhenTheWriterFails(t *testing.T) {
	t.Parallel()
	before := optionFiles(t)
	s, rec := setupDump(t, testMasterDB())
	name := createDatabase(t, s)
	fillDatabase(t, s, name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := &failingWriter{limit: 100 << 10}
	start := time.Now()
	err := s.Dump(ctx, name, w)
	if !errors.Is(err, errFull) || !strings.Contains(err.Error(), name) {
		t.Fatalf("got %v, want the writer's error for %s", err, name)
	}
	if d := time.Since(start); d > 20*time.Second || ctx.Err() != nil {
		t.Errorf("Dump took %s to give up", d)
	}
	if w.calls < 2 {
		t.Errorf("the dump reached the writer in %d write, want it streamed in pieces", w.calls)
	}
	// Run waits for the command: no mysqldump of that database is left.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(name)) {
			t.Errorf("process %s still runs: %q", filepath.Dir(p), bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
	// Cleanup drops the database: it would wait on a dump still running
	// on the server.
	rec.check(t, before)
}

// cancellingWriter cancels the dump's context at its first write.
type cancellingWriter struct{ cancel context.CancelFunc }

func (w cancellingWriter) Write(p []byte) (int, error) {
	w.cancel()
	return len(p), nil
}

func TestDumpStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	before := optionFiles(t)
	s, rec := setupDump(t, testMasterDB())
	name := createDatabase(t, s)
	fillDatabase(t, s, name)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := s.Dump(ctx, name, cancellingWriter{cancel})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), name) {
		t.Fatalf("got %v, want a cancelled dump of %s", err, name)
	}
	rec.check(t, before)
}

// failingReader returns SQL, then an error.
type failingReader struct{ r io.Reader }

var errBroken = errors.New("connection reset")

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBroken
	}
	return n, err
}

func TestImportStopsWhenTheReaderFails(t *testing.T) {
	t.Parallel()
	s, _ := setupDump(t, testMasterDB())
	name := createDatabase(t, s)
	err := s.Import(context.Background(), name, &failingReader{strings.NewReader("CREATE TABLE t (id INT);\n")})
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), name) {
		t.Fatalf("got %v, want the reader's error for %s", err, name)
	}
}

func TestDumpWithoutRunnerIsAnInternalError(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	if err := s.Dump(context.Background(), "t_aegir_none", io.Discard); aegir.ErrorCode(err) != aegir.EINTERNAL {
		t.Errorf("Dump: got %v, want EINTERNAL", err)
	}
	if err := s.Import(context.Background(), "t_aegir_none", strings.NewReader("")); aegir.ErrorCode(err) != aegir.EINTERNAL {
		t.Errorf("Import: got %v, want EINTERNAL", err)
	}
}

func TestOptionValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                 `""`,
		"plain":            `"plain"`,
		`a"b\c#d e`:        `"a\"b\\c#d e"`,
		"tab\tline\nret\r": `"tab\tline\nret\r"`,
		" spaced ":         `" spaced "`,
	} {
		if got, err := optionValue(in); err != nil || got != want {
			t.Errorf("optionValue(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"nul\x00", "esc\x1b", strings.Repeat("a", 3000)} {
		if _, err := optionValue(in); err == nil {
			t.Errorf("optionValue(%q) succeeded", in)
		}
	}
}
