package crashtrial

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// masterDB is the machine's MariaDB, as the other integration tests use it.
const masterDB = "mysql://root:@127.0.0.1:3306"

// platforms are the two WordPress platforms a site moves between.
var platforms = []string{"a", "b"}

// stack is a private hosting stack driven by the aegir binary: its own
// $AEGIR_HOME, nginx and php-fpm on a free port, on the machine's MariaDB
// with every database and user name holding token.
type stack struct {
	t      testing.TB
	bin    string
	home   string
	port   int
	token  string
	db     *sql.DB
	client *http.Client
	nginx  *teststack.Nginx
	roots  map[string]string // platform name: root
}

func newStack(t testing.TB, bin string) *stack {
	t.Helper()
	teststack.Require(t, "php", "mysqldump", "mysql", "tar")
	if _, err := os.Stat("/usr/share/wordpress/wp-settings.php"); err != nil {
		teststack.Missing(t, "the Debian wordpress package is not installed: %v", err)
	}
	fpm, ng := teststack.StartPHPFPM(t), teststack.StartNginx(t)
	port := teststack.FreePort(t)
	s := &stack{t: t, bin: bin, home: filepath.Join(teststack.WebDir(t), "aegir"), port: port,
		token: "c" + teststack.RandomHex(t, 3), db: teststack.RootDB(t), client: teststack.HostClient(port),
		nginx: ng, roots: map[string]string{}}
	t.Cleanup(s.dropDatabases)
	if _, err := s.aegir("setup", "--aegir_user", "root", "--http_port", fmt.Sprint(port),
		"--http_service_type", "nginx",
		"--http_test_cmd", strings.Join(ng.TestCmd(), " "),
		"--http_restart_cmd", strings.Join(ng.ReloadCmd(), " "),
		"--http_conf_link", filepath.Join(ng.ConfD, "aegir.conf"),
		"--php_fpm_socket", fpm.Socket, "--master_db", masterDB, "--web_group", "www-data"); err != nil {
		t.Fatal(err)
	}
	for _, p := range platforms {
		root := filepath.Join(s.home, "platforms", p)
		if err := teststack.CopyTree("/usr/share/wordpress", root); err != nil {
			t.Fatal(err)
		}
		s.roots[p] = root
		if _, err := s.aegir("save", "@platform_"+p, "--context_type=platform", "--root="+root); err != nil {
			t.Fatal(err)
		}
		if _, err := s.task("verify", "@platform_"+p); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// env is the environment the binary runs in.
func (s *stack) env() []string {
	return append(os.Environ(), "AEGIR_HOME="+s.home, "AEGIR_ALLOW_ROOT=1")
}

// aegir runs the binary to its end and returns its output.
func (s *stack) aegir(args ...string) (string, error) {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("aegir %s: %v\n%s", strings.Join(args, " "), err, tail(out.String()))
	}
	return out.String(), nil
}

// result is the part of a task's JSON Result the trials read.
type result struct {
	Status string         `json:"status"`
	Data   map[string]any `json:"data"`
	Log    []struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	} `json:"log"`
}

// logText is the task's log, one entry a line.
func (r *result) logText() string {
	var b strings.Builder
	for _, e := range r.Log {
		fmt.Fprintf(&b, "[%s] %s\n", e.Level, e.Message)
	}
	return b.String()
}

// task runs a task to its end with --json; a task that fails is an error
// holding its log.
func (s *stack) task(args ...string) (*result, error) {
	out, err := s.aegir(append(args, "--json")...)
	var r result
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil && err == nil {
		err = fmt.Errorf("aegir %s: no JSON result (%v): %s", strings.Join(args, " "), jerr, tail(out))
	}
	if err == nil && r.Status != "success" && r.Status != "warning" {
		err = fmt.Errorf("aegir %s: status %s", strings.Join(args, " "), r.Status)
	}
	if err != nil && len(r.Log) > 0 {
		err = fmt.Errorf("%v\n%s", err, tail(r.logText()))
	}
	return &r, err
}

// started is a task run until it ended or was killed.
type started struct {
	killed bool          // the kill came first
	took   time.Duration // until it ended or was killed
	err    error         // how it ended, when not killed
	out    string
}

// startAndKill runs a task as its own process group and, unless it ends
// first, kills the group with SIGKILL after delay (never when delay < 0).
// The whole group dies, as when a service manager kills a unit: a PHP or
// mysqldump child left running would change the site behind the recovery's
// back, which is another trial. It returns once every process of the group
// is gone.
func (s *stack) startAndKill(delay time.Duration, args ...string) started {
	cmd := exec.Command(s.bin, append(args, "--json")...)
	cmd.Env = s.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return started{err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timer <-chan time.Time
	if delay >= 0 {
		timer = time.After(delay)
	}
	r := started{}
	select {
	case r.err = <-done:
		r.took = time.Since(begin)
	case <-timer:
		r.took = time.Since(begin)
		r.killed = true
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	// The group outlives its leader until its last child has gone.
	for i := 0; i < 1000 && syscall.Kill(-cmd.Process.Pid, 0) == nil; i++ {
		if r.killed {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.out = out.String()
	if !r.killed && r.err != nil {
		r.err = fmt.Errorf("aegir %s: %v\n%s", strings.Join(args, " "), r.err, tail(r.out))
	}
	return r
}

// contexts reads the contexts as the binary left them.
func (s *stack) contexts() *contextfile.Store {
	return contextfile.New(aegir.Paths{Home: s.home})
}

// site returns the context of the site uri, nil when there is none.
func (s *stack) site(uri string) (*aegir.Context, error) {
	c, err := s.contexts().Get(context.Background(), uri)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if c.Type != aegir.SiteContext {
		return nil, fmt.Errorf("@%s is a %s", uri, c.Type)
	}
	return c, nil
}

// siteContexts lists every site context.
func (s *stack) siteContexts() ([]*aegir.Context, error) {
	return s.contexts().List(context.Background(), aegir.SiteContext)
}

// platformOf is the name of the platform a site context names ("a").
func platformOf(c *aegir.Context) string {
	return strings.TrimPrefix(aegir.ContextName(c.Site.Platform), "platform_")
}

// get fetches a page of a site through the stack's nginx. nginx applies a
// reload asynchronously, so while the answer is its own 404 for an
// unknown host it asks again, for at most five seconds.
func (s *stack) get(host, path string) (int, string, error) {
	url := fmt.Sprintf("http://%s:%d%s", host, s.port, path)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := s.client.Get(url)
		if err != nil {
			return 0, "", fmt.Errorf("GET %s: %w", url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		unknownHost := resp.StatusCode == http.StatusNotFound && strings.Contains(string(body), "<center>nginx")
		if !unknownHost || time.Now().After(deadline) {
			return resp.StatusCode, string(body), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// strings runs a query returning one column of strings.
func (s *stack) strings(query string, args ...any) ([]string, error) {
	rows, err := s.db.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// databases lists the databases and the users (user@host) of the stack.
func (s *stack) databases() (dbs, users []string, err error) {
	like := "%" + s.token + "%"
	if dbs, err = s.strings("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", like); err != nil {
		return nil, nil, err
	}
	users, err = s.strings("SELECT CONCAT(User, '@', Host) FROM mysql.user WHERE User LIKE ?", like)
	return dbs, users, err
}

// tables counts the tables of a database.
func (s *stack) tables(db string) (int, error) {
	var n int
	err := s.db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", db).Scan(&n)
	return n, err
}

// dropDatabase drops a database and its user, as someone cleaning up by
// hand would.
func (s *stack) dropDatabase(name string) error {
	if !strings.Contains(name, s.token) {
		return fmt.Errorf("%s is not the stack's", name)
	}
	_, err := s.db.Exec("DROP DATABASE IF EXISTS `" + name + "`")
	return err
}

// dropUser drops a user given as user@host.
func (s *stack) dropUser(userHost string) error {
	user, host, _ := strings.Cut(userHost, "@")
	if !strings.Contains(user, s.token) || !plainName.MatchString(user) || !plainName.MatchString(host) {
		return fmt.Errorf("%s is not the stack's", userHost)
	}
	// DROP USER takes no placeholders: the names are checked above.
	_, err := s.db.Exec("DROP USER IF EXISTS '" + user + "'@'" + host + "'")
	return err
}

// plainName is what the stack's user and host names look like.
var plainName = regexp.MustCompile(`^[A-Za-z0-9_.%:-]+$`)

// dropDatabases removes everything the stack left on MariaDB.
func (s *stack) dropDatabases() {
	dbs, users, err := s.databases()
	if err != nil {
		s.t.Logf("clean up the stack's databases: %v", err)
		return
	}
	for _, d := range dbs {
		s.dropDatabase(d)
	}
	for _, u := range users {
		s.dropUser(u)
	}
}

// vhostDir is where aegir writes the stack's vhosts.
func (s *stack) vhostDir() string {
	return filepath.Join(s.home, "config", "server_master", "nginx", "vhost.d")
}

// backupsDir is where aegir writes backups.
func (s *stack) backupsDir() string { return filepath.Join(s.home, "backups") }

// exists reports whether path exists (as a link, too).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// tail is the end of a long output.
func tail(s string) string {
	const max = 3000
	if len(s) > max {
		return "..." + s[len(s)-max:]
	}
	return s
}
