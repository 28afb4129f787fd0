package mediawiki

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/local"
)

// debianRoot is the codebase of Debian's mediawiki package.
const debianRoot = "/usr/share/mediawiki"

// rootDSN reaches the test MariaDB as root.
const rootDSN = "root@tcp(127.0.0.1:3306)/?timeout=5s"

var shared struct {
	once sync.Once
	dir  string
	root string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// platform returns a copy of Debian's MediaWiki, shared by the package's
// tests as a platform is shared by sites, with aegir's platform files.
func platform(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(debianRoot); err != nil {
		t.Skipf("no MediaWiki codebase: %v", err)
	}
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "aegir-mediawiki-"); shared.err != nil {
			return
		}
		if shared.err = os.Chmod(shared.dir, 0o755); shared.err != nil {
			return
		}
		shared.root = filepath.Join(shared.dir, "platform")
		if shared.err = copyTree(debianRoot, shared.root, true); shared.err != nil {
			return
		}
		shared.err = New(testEnv()).VerifyPlatform(context.Background(), shared.root)
	})
	if shared.err != nil {
		t.Fatalf("platform: %v", shared.err)
	}
	return shared.root
}

func testEnv() aegir.Env {
	return aegir.Env{Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)}
}

// copyTree copies src to dst as a platform is made from a Debian package:
// symbolic links are followed (Debian links some directories into /etc and
// /var/lib) and dangling ones are left out. With link, files are hard links
// to the originals, which is much faster than copying hundreds of
// megabytes: safe because neither the driver nor PHP ever writes into an
// existing file of the codebase (aegir replaces files by renaming new ones
// over them), and a copy is made when linking fails.
func copyTree(src, dst string, link bool) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if link {
			if real, err := filepath.EvalSymlinks(src); err == nil && os.Link(real, dst) == nil {
				return nil
			}
		}
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, st.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	if err := os.Mkdir(dst, st.Mode().Perm()); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s := filepath.Join(src, e.Name())
		if _, err := os.Stat(s); errors.Is(err, fs.ErrNotExist) {
			continue // a dangling link
		}
		if err := copyTree(s, filepath.Join(dst, e.Name()), link); err != nil {
			return err
		}
	}
	return nil
}

func requirePHP(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs PHP and MariaDB")
	}
	if _, err := exec.LookPath("php"); err != nil {
		t.Skip("php is not installed")
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newDatabase creates a database and its user, dropped when the test ends.
func newDatabase(t *testing.T) *aegir.DBCredentials {
	t.Helper()
	db, err := sql.Open("mysql", rootDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("MariaDB at 127.0.0.1:3306: %v", err)
	}
	name := "aegir_mw_" + randomHex(t, 6)
	creds := &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: name, User: name, Password: randomHex(t, 12)}
	stmts := []string{"CREATE DATABASE `" + name + "`"}
	for _, host := range []string{"localhost", "127.0.0.1"} {
		stmts = append(stmts,
			fmt.Sprintf("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", name, host, creds.Password),
			fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%s'", name, name, host))
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE IF EXISTS `" + name + "`")
		for _, host := range []string{"localhost", "127.0.0.1"} {
			db.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%s'", name, host))
		}
	})
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return creds
}

// newSite makes the site directory of a fresh wiki on root, as provision
// does (sites/<uri> 0755, files and private 02770 in the web group),
// removed when the test ends.
func newSite(t *testing.T, root, url string, creds *aegir.DBCredentials) *aegir.AppSite {
	t.Helper()
	uri := "mw" + randomHex(t, 4) + ".test"
	s := &aegir.AppSite{
		URI: uri, URL: strings.ReplaceAll(url, "URI", uri), Root: root,
		SiteDir: filepath.Join(root, "sites", uri), Language: "en",
		Email: "admin@" + uri, DB: creds, WebGroup: "www-data",
	}
	gid := webGID(t)
	t.Cleanup(func() { os.RemoveAll(s.SiteDir) })
	for _, d := range []string{"files", "private"} {
		dir := filepath.Join(s.SiteDir, d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, -1, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o770|os.ModeSetgid); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func webGID(t *testing.T) int {
	t.Helper()
	g, err := user.LookupGroup("www-data")
	if err != nil {
		t.Skipf("no www-data group: %v", err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	return gid
}

// maintenance runs a maintenance script of the platform with env (the
// site's database credentials and the given variables), as cron or an
// administrator would, and returns its output.
func maintenance(t *testing.T, s *aegir.AppSite, env []string, args ...string) (string, error) {
	t.Helper()
	out, err := (&local.Runner{}).Run(context.Background(), aegir.Command{
		Args: append([]string{"php", "-d", "display_errors=stderr"}, args...),
		Dir:  s.Root,
		Env:  append(s.DB.Env(), env...),
	})
	return string(out), err
}

// stack is a private php-fpm and nginx serving sites on a loopback port.
type stack struct {
	Dir   string
	Port  int
	Sites []stackSite
}

type stackSite struct {
	URI, Root string
	Params    []aegir.Param
}

// startStack starts php-fpm and nginx as children of the test, serving the
// sites on that port of 127.0.0.1, and stops them when the test ends.
func startStack(t *testing.T, port int, app aegir.App, sites ...*aegir.AppSite) *stack {
	t.Helper()
	fpm, err := exec.LookPath("php-fpm8.2")
	if err != nil {
		t.Skip("php-fpm8.2 is not installed")
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed")
	}
	dir := t.TempDir()
	// nginx's workers (www-data) reach the php-fpm socket in dir.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	st := &stack{Dir: dir, Port: port}
	for _, s := range sites {
		st.Sites = append(st.Sites, stackSite{URI: s.URI, Root: s.Root, Params: append(s.DB.Params(), app.Params(s)...)})
	}
	for _, name := range []string{"php-fpm.conf", "nginx.conf"} {
		tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", name+".tmpl")))
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := tmpl.Execute(f, st); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	startChild(t, fpm, "-F", "-y", filepath.Join(dir, "php-fpm.conf"), "-p", dir)
	waitFor(t, "php-fpm socket", func() bool {
		_, err := os.Stat(filepath.Join(dir, "php-fpm.sock"))
		return err == nil
	})
	startChild(t, nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	waitFor(t, "nginx port", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", st.Port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	t.Cleanup(func() {
		if t.Failed() {
			for _, log := range []string{"nginx-error.log", "php-fpm.log", "php-error.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, log)); err == nil && len(b) > 0 {
					t.Logf("%s:\n%s", log, b)
				}
			}
		}
	})
	return st
}

// client returns an HTTP client that reaches every host through the
// stack's port and does not follow redirects.
func (st *stack) client(jar http.CookieJar) *http.Client {
	addr := fmt.Sprintf("127.0.0.1:%d", st.Port)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startChild starts a server in the foreground as a child of the test and
// stops it (SIGTERM, then SIGKILL) when the test ends.
func startChild(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() && out.Len() > 0 {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
