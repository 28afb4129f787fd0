//go:build linux

package nginx

// This file starts a private nginx and a private php-fpm for tests: each
// runs as a child of the test in the foreground, with its prefix, pid file,
// logs, temp paths and socket in a temp dir, listening on a free port, and
// is stopped in t.Cleanup. It depends on nothing else in the package, so it
// can move to a shared test package as is.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// webDir returns a new temp dir that nginx and php-fpm workers running as
// www-data can traverse and read.
func webDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// freePort returns a TCP port nothing listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startChild starts a command as a child that dies with the test process,
// and stops it (SIGTERM, then SIGKILL after 5 s) in t.Cleanup. Its output
// and the given log files are shown when the test failed.
func startChild(t *testing.T, logs []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out)
			for _, l := range logs {
				data, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, data)
			}
		}
	})
}

// waitForFile waits up to 5 s for path to exist.
func waitForFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && (fi.Mode()&os.ModeSocket != 0 || fi.Size() > 0) {
			return
		}
	}
	t.Fatalf("%s did not appear within 5 s", path)
}

// privateNginx is a running nginx of the test's own. Its http block
// includes ConfD/*.conf and nothing else.
type privateNginx struct {
	Dir   string // prefix: nginx.conf, pid, logs, temp paths
	Conf  string
	ConfD string
}

// startPrivateNginx starts nginx as a foreground child. With nothing in
// ConfD it listens on no port.
func startPrivateNginx(t *testing.T) *privateNginx {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx is not installed")
	}
	dir := webDir(t)
	p := &privateNginx{Dir: dir, Conf: filepath.Join(dir, "nginx.conf"), ConfD: filepath.Join(dir, "conf.d")}
	if err := os.Mkdir(p.ConfD, 0o755); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user www-data;"
	}
	conf := fmt.Sprintf(`%[2]s
daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {
    worker_connections 128;
}
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/conf.d/*.conf;
}
`, dir, user)
	if err := os.WriteFile(p.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startChild(t, []string{filepath.Join(dir, "error.log")}, "nginx", p.args()...)
	waitForFile(t, filepath.Join(dir, "nginx.pid"))
	return p
}

// args returns nginx's command line for this instance followed by extra;
// -e keeps nginx off the system's error log before it reads the config.
func (p *privateNginx) args(extra ...string) []string {
	return append([]string{"-p", p.Dir, "-c", p.Conf, "-e", filepath.Join(p.Dir, "error.log")}, extra...)
}

// TestCmd is the command that tests this instance's configuration.
func (p *privateNginx) TestCmd() []string { return append([]string{"nginx"}, p.args("-t")...) }

// ReloadCmd is the command that reloads this instance.
func (p *privateNginx) ReloadCmd() []string {
	return append([]string{"nginx"}, p.args("-s", "reload")...)
}

// response is what one request got.
type response struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

func (r response) String() string {
	return fmt.Sprintf("%d %q (Location %q)", r.Status, r.Body, r.Location)
}

// get requests path from 127.0.0.1:port with the Host header host. It
// never reuses a connection, since an old worker would answer with the
// configuration it started with, and never follows a redirect.
func get(port int, host, path string) (response, error) {
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       5 * time.Second,
	}
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	if err != nil {
		return response{}, err
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(body), resp.Header, resp.Header.Get("Location")}, err
}

// expect polls for up to 5 s until host answers path with status and a
// body containing want, since nginx reloads in the background after the
// reload command returns.
func expect(t *testing.T, port int, host, path string, status int, want string) response {
	t.Helper()
	var last response
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		last, err = get(port, host, path)
		if err == nil && last.Status == status && strings.Contains(last.Body, want) {
			return last
		}
	}
	t.Fatalf("GET http://%s%s: got %v (error %v), want %d with %q", host, path, last, err, status, want)
	return last
}

// startPrivatePHPFPM starts php-fpm8.2 as a foreground child with one pool
// listening on a unix socket in a temp dir, and returns the socket's path.
func startPrivatePHPFPM(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("php-fpm8.2"); err != nil {
		t.Skip("php-fpm8.2 is not installed")
	}
	dir := webDir(t)
	sock := filepath.Join(dir, "php-fpm.sock")
	user := ""
	if os.Geteuid() == 0 {
		user = "user = www-data\ngroup = www-data"
	}
	conf := fmt.Sprintf(`[global]
pid = %[1]s/php-fpm.pid
error_log = %[1]s/php-fpm.log
daemonize = no

[aegirtest]
%[2]s
listen = %[3]s
listen.mode = 0666
pm = static
pm.max_children = 2
catch_workers_output = yes
`, dir, user, sock)
	confPath := filepath.Join(dir, "fpm.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startChild(t, []string{filepath.Join(dir, "php-fpm.log")}, "php-fpm8.2", "-F", "-y", confPath, "-p", dir)
	waitForFile(t, sock)
	return sock
}
