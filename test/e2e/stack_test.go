package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// aegirBin is the binary under test, built once by TestMain.
var aegirBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aegir-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	aegirBin = filepath.Join(dir, "aegir")
	build := exec.Command("go", "build", "-o", aegirBin, "github.com/aegir-hosting/aegir/cmd/aegir")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build aegir:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	teststack.RemoveFixtures()
	os.Exit(code)
}

// stack is one private hosting stack: $AEGIR_HOME, nginx and php-fpm
// under temp dirs, on a free port, with MariaDB names unique to the test.
type stack struct {
	t      *testing.T
	dir    string
	home   string
	port   int
	token  string // unique lowercase token for site names and databases
	fpm    *teststack.PHPFPM
	nginx  *teststack.Nginx
	apache *teststack.Apache // instead of nginx, on stacks made by newStackOn
	client *http.Client
}

const masterDB = "mysql://root:@127.0.0.1:3306"

func newStack(t *testing.T) *stack {
	t.Helper()
	for _, bin := range []string{"nginx", "php-fpm8.2", "php"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: run make test, which installs the stack", bin)
		}
	}
	// php-fpm and nginx stop when the test ends and, when it failed, log
	// the tails of their error logs, where the reason for a 404 or a 500
	// usually is.
	dir := teststack.WebDir(t)
	port := teststack.FreePort(t)
	s := &stack{
		t: t, dir: dir, home: filepath.Join(dir, "aegir"), port: port, token: "t" + teststack.RandomHex(t, 3),
		fpm: teststack.StartPHPFPM(t), nginx: teststack.StartNginx(t), client: teststack.HostClient(port),
	}
	t.Cleanup(s.dropDatabases)
	return s
}

// newStackOn returns a stack whose web server is nginx or apache.
func newStackOn(t *testing.T, web string) *stack {
	t.Helper()
	s := newStack(t)
	if web == "apache" {
		s.nginx.Stop()
		s.nginx, s.apache = nil, teststack.StartApache(t)
	}
	return s
}

// webServerArgs are the server properties that point aegir at the stack's
// running web server.
func (s *stack) webServerArgs() []string {
	if s.apache != nil {
		return []string{"--http_service_type", "apache",
			"--http_test_cmd", strings.Join(s.apache.TestCmd(), " "),
			"--http_restart_cmd", strings.Join(s.apache.RestartCmd(), " "),
			"--http_conf_link", filepath.Join(s.apache.ConfD, "aegir.conf")}
	}
	return []string{"--http_service_type", "nginx",
		"--http_test_cmd", strings.Join(s.nginx.TestCmd(), " "),
		"--http_restart_cmd", strings.Join(s.nginx.ReloadCmd(), " "),
		"--http_conf_link", filepath.Join(s.nginx.ConfD, "aegir.conf")}
}

// with returns the stack as seen from a subtest, so failures stop the
// subtest and not its parent.
func (s *stack) with(t *testing.T) *stack {
	c := *s
	c.t = t
	return &c
}

func (s *stack) write(path, content string) {
	s.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// aegir runs the binary with $AEGIR_HOME set to the stack's home.
func (s *stack) aegir(args ...string) (string, error) {
	s.t.Helper()
	cmd := exec.Command(aegirBin, args...)
	cmd.Env = append(os.Environ(), "AEGIR_HOME="+s.home, "AEGIR_ALLOW_ROOT=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("aegir %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// mustAegir runs the binary and fails the test when it fails.
func (s *stack) mustAegir(args ...string) string {
	s.t.Helper()
	out, err := s.aegir(args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// result is the JSON Result a task prints with --json.
type result struct {
	Status string         `json:"status"`
	Log    []logEntry     `json:"log"`
	Data   map[string]any `json:"data"`
}

type logEntry struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// task runs a task with --json and decodes its Result, failed or not.
func (s *stack) task(args ...string) (*result, error) {
	s.t.Helper()
	cmd := exec.Command(aegirBin, append(args, "--json")...)
	cmd.Env = append(os.Environ(), "AEGIR_HOME="+s.home, "AEGIR_ALLOW_ROOT=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		s.t.Fatalf("aegir %s: no JSON result (%v): %s %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if runErr != nil {
		return &r, fmt.Errorf("aegir %s: %w: %s", strings.Join(args, " "), runErr, stderr.String())
	}
	return &r, nil
}

func (s *stack) mustTask(args ...string) *result {
	s.t.Helper()
	r, err := s.task(args...)
	if err != nil {
		s.t.Fatalf("%v\nlog: %+v", err, r.Log)
	}
	if r.Status != "success" && r.Status != "warning" {
		s.t.Fatalf("aegir %v: status %s, log %+v", args, r.Status, r.Log)
	}
	return r
}

// setup runs aegir setup for the private stack, with extra options, and
// returns what it printed.
func (s *stack) setup(extra ...string) string {
	s.t.Helper()
	args := append([]string{"setup", "--aegir_user", "root", "--http_port", fmt.Sprint(s.port)}, s.webServerArgs()...)
	args = append(args, "--php_fpm_socket", s.fpm.Socket, "--master_db", masterDB, "--web_group", "www-data")
	return s.mustAegir(append(args, extra...)...)
}

// platform copies a Debian-packaged codebase into a new platform root and
// saves and verifies the platform context.
func (s *stack) platform(name, source string) string {
	s.t.Helper()
	root := filepath.Join(s.home, "platforms", name)
	if err := teststack.CopyTree(source, root); err != nil {
		s.t.Fatal(err)
	}
	s.mustAegir("save", "@platform_"+name, "--context_type=platform", "--root="+root)
	s.mustTask("verify", "@platform_"+name)
	return root
}

// get fetches a URL through the stack's nginx. nginx applies a reload
// asynchronously (new workers start after the signal), so while the
// answer is nginx's own 404 for an unknown host it asks again, for at
// most five seconds.
func (s *stack) get(url string) (int, string) {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := s.client.Get(url)
		if err != nil {
			s.t.Fatalf("GET %s: %v", url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		unknownHost := resp.StatusCode == http.StatusNotFound && strings.Contains(string(body), "<center>nginx")
		if !unknownHost || time.Now().After(deadline) {
			return resp.StatusCode, string(body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// url is the address of a site on the stack's port.
func (s *stack) url(host, path string) string {
	return fmt.Sprintf("http://%s:%d%s", host, s.port, path)
}

// databases lists the databases and users whose names hold the token.
func (s *stack) databases() (dbs, users []string) {
	s.t.Helper()
	db := teststack.RootDB(s.t)
	dbs = queryStrings(s.t, db, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?", "%"+s.token+"%")
	users = queryStrings(s.t, db, "SELECT DISTINCT CONCAT(user, '@', host) FROM mysql.user WHERE user LIKE ?", "%"+s.token+"%")
	return dbs, users
}

func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// dropDatabases removes what the test's sites left on MariaDB.
func (s *stack) dropDatabases() {
	db := teststack.RootDB(s.t)
	for _, name := range queryStrings(s.t, db, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?", "%"+s.token+"%") {
		db.Exec("DROP DATABASE `" + name + "`")
	}
	for _, u := range queryStrings(s.t, db, "SELECT CONCAT('`', user, '`@`', host, '`') FROM mysql.user WHERE user LIKE ?", "%"+s.token+"%") {
		db.Exec("DROP USER " + u)
	}
}

// vhostFile is where aegir writes the vhost of a site on the stack.
func (s *stack) vhostFile(uri string) string {
	web := "nginx"
	if s.apache != nil {
		web = "apache"
	}
	return filepath.Join(s.home, "config", "server_master", web, "vhost.d", uri+".conf")
}
