package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
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
	os.Exit(code)
}

// stack is one private hosting stack: $AEGIR_HOME, nginx and php-fpm
// under a temp dir, on a free port, with MariaDB names unique to the test.
type stack struct {
	t      *testing.T
	dir    string
	home   string
	port   int
	token  string // unique lowercase token for site names and databases
	nginx  []string
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
	dir := t.TempDir()
	// Workers run as www-data and must traverse the temp dirs.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &stack{t: t, dir: dir, home: filepath.Join(dir, "aegir"), port: freePort(t), token: randomToken(t)}
	s.startPHPFPM()
	s.startNginx()
	s.client = hostClient(s.port)
	t.Cleanup(s.dropDatabases)
	t.Cleanup(s.logServerErrors)
	return s
}

// with returns the stack as seen from a subtest, so failures stop the
// subtest and not its parent.
func (s *stack) with(t *testing.T) *stack {
	c := *s
	c.t = t
	return &c
}

// logServerErrors shows the tails of the servers' error logs of a failed
// test, where the reason for a 404 or a 500 usually is.
func (s *stack) logServerErrors() {
	if !s.t.Failed() {
		return
	}
	for _, log := range []string{"nginx/error.log", "php-fpm/error.log", "php-fpm/php-error.log"} {
		data, err := os.ReadFile(filepath.Join(s.dir, log))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		s.t.Logf("%s:\n%s", log, data)
	}
}

func randomToken(t *testing.T) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hostClient dials every http://HOST:port URL on loopback, so sites are
// fetched by their real names, and keeps cookies like a browser.
func hostClient(port int) *http.Client {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		// A new connection per request, as after a reload a kept-alive one
		// may still reach an old worker with the previous configuration.
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
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

func (s *stack) startPHPFPM() {
	s.t.Helper()
	fpm := filepath.Join(s.dir, "php-fpm")
	s.write(filepath.Join(fpm, "php-fpm.conf"), fmt.Sprintf(`[global]
pid = %[1]s/php-fpm.pid
error_log = %[1]s/error.log
daemonize = no
[aegir]
user = www-data
group = www-data
listen = %[1]s/php.sock
listen.mode = 0666
pm = dynamic
pm.max_children = 6
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = 3
catch_workers_output = yes
php_admin_value[error_log] = %[1]s/php-error.log
`, fpm))
	cmd := exec.Command("php-fpm8.2", "-F", "-y", filepath.Join(fpm, "php-fpm.conf"), "-p", fpm)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	s.waitFor("php-fpm socket", func() bool {
		_, err := os.Stat(filepath.Join(fpm, "php.sock"))
		return err == nil
	}, &out)
}

func (s *stack) startNginx() {
	s.t.Helper()
	prefix := filepath.Join(s.dir, "nginx")
	conf := filepath.Join(prefix, "nginx.conf")
	s.write(conf, fmt.Sprintf(`user www-data;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 256; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path %[1]s/client_body;
  fastcgi_temp_path %[1]s/fastcgi;
  proxy_temp_path %[1]s/proxy;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  include %[1]s/conf.d/*.conf;
}
`, prefix))
	if err := os.MkdirAll(filepath.Join(prefix, "conf.d"), 0o755); err != nil {
		s.t.Fatal(err)
	}
	s.nginx = []string{"nginx", "-p", prefix, "-c", conf}
	if out, err := exec.Command(s.nginx[0], s.nginx[1:]...).CombinedOutput(); err != nil {
		s.t.Fatalf("start nginx: %v\n%s", err, out)
	}
	s.t.Cleanup(func() {
		exec.Command(s.nginx[0], append(s.nginx[1:], "-s", "stop")...).Run()
	})
}

func (s *stack) waitFor(what string, ok func() bool, log *bytes.Buffer) {
	s.t.Helper()
	for range 200 {
		if ok() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %s\n%s", what, log)
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

// setup runs aegir setup for the private stack.
func (s *stack) setup() {
	s.t.Helper()
	s.mustAegir("setup", "--aegir_user", "root",
		"--http_port", fmt.Sprint(s.port),
		"--http_test_cmd", strings.Join(append(s.nginx, "-t"), " "),
		"--http_restart_cmd", strings.Join(append(s.nginx, "-s", "reload"), " "),
		"--http_conf_link", filepath.Join(s.dir, "nginx", "conf.d", "aegir.conf"),
		"--php_fpm_socket", filepath.Join(s.dir, "php-fpm", "php.sock"),
		"--master_db", masterDB, "--web_group", "www-data")
}

// platform copies a Debian-packaged codebase into a new platform root and
// saves and verifies the platform context.
func (s *stack) platform(name, source string) string {
	s.t.Helper()
	root := filepath.Join(s.home, "platforms", name)
	if err := copyTree(source, root); err != nil {
		s.t.Fatal(err)
	}
	s.mustAegir("save", "@platform_"+name, "--context_type=platform", "--root="+root)
	s.mustTask("verify", "@platform_"+name)
	return root
}

// copyTree copies a codebase, following links (Debian links parts of
// WordPress and MediaWiki into /etc and /var/lib) and skipping dangling ones.
func copyTree(src, dst string) error {
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := os.Stat(path)
		if err != nil {
			return nil // a dangling link
		}
		if info.IsDir() {
			if d.Type()&fs.ModeSymlink != 0 {
				return copyTree(path, target)
			}
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
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

func rootDB(t *testing.T) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", "127.0.0.1:3306"
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// databases lists the databases and users whose names hold the token.
func (s *stack) databases() (dbs, users []string) {
	s.t.Helper()
	db := rootDB(s.t)
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
	db := rootDB(s.t)
	for _, name := range queryStrings(s.t, db, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?", "%"+s.token+"%") {
		db.Exec("DROP DATABASE `" + name + "`")
	}
	for _, u := range queryStrings(s.t, db, "SELECT CONCAT('`', user, '`@`', host, '`') FROM mysql.user WHERE user LIKE ?", "%"+s.token+"%") {
		db.Exec("DROP USER " + u)
	}
}
