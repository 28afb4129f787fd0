package teststack

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"text/template"

	"github.com/aegir-hosting/aegir"
)

//go:embed files
var files embed.FS

var templates = template.Must(template.ParseFS(files, "files/*.tmpl"))

// render writes the template name, executed with data, to path.
func render(t testing.TB, path, name string, data any) {
	t.Helper()
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// PHPFPM is a running php-fpm of the test's own, with one pool on a unix
// socket.
type PHPFPM struct {
	Dir    string // prefix: php-fpm.conf, pid file, logs and socket
	Socket string // the pool's socket, mode 0666
	Log    string // php-fpm's error log, with the workers' output and PHP's errors
	// PoolDir, when set, is a directory of pools the master includes
	// (StartPHPFPMWithPools).
	PoolDir string
}

// StartPHPFPMWithPools starts php-fpm8.2 as StartPHPFPM does, its
// configuration also including poolDir/*.conf (created when missing), the
// pools aegir writes for sites of their own. Run as root, its master can
// run those pools as other users.
func StartPHPFPMWithPools(t testing.TB, poolDir string) *PHPFPM {
	t.Helper()
	if err := os.MkdirAll(poolDir, 0o711); err != nil {
		t.Fatal(err)
	}
	return startPHPFPM(t, poolDir)
}

// TestCmd is the command that tests this instance's configuration.
func (p *PHPFPM) TestCmd() []string {
	return []string{"php-fpm8.2", "-t", "-y", filepath.Join(p.Dir, "php-fpm.conf"), "-p", p.Dir}
}

// ReloadCmd is the command that reloads this instance: a USR2 signal to
// its master, as aegir.PHPFPMReloadCmd reloads the system's php-fpm.
func (p *PHPFPM) ReloadCmd() []string {
	fpm, err := exec.LookPath("php-fpm8.2")
	if err != nil {
		fpm = "/usr/sbin/php-fpm8.2"
	}
	return []string{"start-stop-daemon", "--stop", "--signal", "USR2", "--pidfile", filepath.Join(p.Dir, "php-fpm.pid"), "--exec", fpm}
}

// StartPHPFPM starts php-fpm8.2 in the foreground as a child of the test
// and waits for its socket; its pool runs as www-data when the test runs
// as root. It is stopped when the test ends. It skips t when php-fpm8.2 is
// not installed.
func StartPHPFPM(t testing.TB) *PHPFPM {
	t.Helper()
	return startPHPFPM(t, "")
}

func startPHPFPM(t testing.TB, poolDir string) *PHPFPM {
	t.Helper()
	Require(t, "php-fpm8.2")
	dir := WebDir(t)
	p := &PHPFPM{
		Dir: dir, Socket: filepath.Join(dir, "php-fpm.sock"),
		Log: filepath.Join(dir, "php-fpm.log"), PoolDir: poolDir,
	}
	conf := filepath.Join(dir, "php-fpm.conf")
	render(t, conf, "php-fpm.conf.tmpl", struct {
		*PHPFPM
		AsWebUser bool
	}{p, os.Geteuid() == 0})
	c := startChild(t, []string{p.Log}, "php-fpm8.2", "-F", "-y", conf, "-p", dir)
	c.waitForFile(t, p.Socket)
	return p
}

// Nginx is a running nginx of the test's own. Its http block includes
// ConfD/*.conf and nothing else, so with nothing there it listens on no
// port.
type Nginx struct {
	Dir      string // prefix: nginx.conf, pid file, error log, temp paths
	Conf     string // nginx.conf
	ConfD    string // where the server blocks go
	ErrorLog string
	child    *child
}

// Stop stops nginx before the test ends, freeing its ports.
func (n *Nginx) Stop() { n.child.stop() }

// StartNginx starts nginx in the foreground as a child of the test, its
// workers as www-data when the test runs as root, and waits for its pid
// file. It is stopped when the test ends. It skips t when nginx is not
// installed.
func StartNginx(t testing.TB) *Nginx {
	t.Helper()
	return startNginx(t, nil)
}

// startNginx starts nginx with the server blocks confs in ConfD. nginx
// writes its pid file once it listens, so their ports answer on return.
func startNginx(t testing.TB, confs []string) *Nginx {
	t.Helper()
	Require(t, "nginx")
	dir := WebDir(t)
	n := &Nginx{
		Dir: dir, Conf: filepath.Join(dir, "nginx.conf"), ConfD: filepath.Join(dir, "conf.d"),
		ErrorLog: filepath.Join(dir, "error.log"),
	}
	if err := os.Mkdir(n.ConfD, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, conf := range confs {
		if err := os.WriteFile(filepath.Join(n.ConfD, fmt.Sprintf("site%d.conf", i)), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	render(t, n.Conf, "nginx.conf.tmpl", struct {
		*Nginx
		AsWebUser bool
	}{n, os.Geteuid() == 0})
	n.child = startChild(t, []string{n.ErrorLog}, "nginx", n.args()...)
	n.child.waitForFile(t, filepath.Join(dir, "nginx.pid"))
	return n
}

// args returns nginx's arguments for this instance followed by extra; -e
// keeps nginx off the system's error log before it reads the config.
func (n *Nginx) args(extra ...string) []string {
	return append([]string{"-p", n.Dir, "-c", n.Conf, "-e", n.ErrorLog}, extra...)
}

// TestCmd is the command that tests this instance's configuration.
func (n *Nginx) TestCmd() []string { return append([]string{"nginx"}, n.args("-t")...) }

// ReloadCmd is the command that reloads this instance: a HUP signal to
// its master through its pid file, as aegir.NginxRestartCmd reloads the
// system's nginx.
func (n *Nginx) ReloadCmd() []string {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
	}
	return []string{"start-stop-daemon", "--stop", "--signal", "HUP", "--pidfile", filepath.Join(n.Dir, "nginx.pid"), "--exec", nginx}
}

// vhost is what a site's server block is made of.
type vhost struct {
	Port   int
	Socket string
	Names  []string      // the site's URI, then its aliases
	Root   string        // the platform, whose index.php is the front controller
	Params []aegir.Param // FastCGI parameters
}

// ServeSites starts a private php-fpm and nginx serving the sites of app
// on 127.0.0.1:port as aegir's http drivers do: a server per site, named by
// its URI and aliases and rooted at its platform, that serves files, else
// the front controller index.php, and runs PHP with the site's database
// credentials and the app's parameters as FastCGI parameters. Both are
// stopped when the test ends. It skips t when php-fpm8.2 or nginx is not
// installed.
func ServeSites(t testing.TB, port int, app aegir.App, sites ...*aegir.AppSite) {
	t.Helper()
	Require(t, "php-fpm8.2", "nginx")
	fpm := StartPHPFPM(t)
	var confs []string
	for _, s := range sites {
		v := vhost{
			Port: port, Socket: fpm.Socket,
			Names: append([]string{s.URI}, s.Aliases...), Root: s.Root,
			Params: append(s.DB.Params(), app.Params(s)...),
		}
		var buf bytes.Buffer
		if err := templates.ExecuteTemplate(&buf, "php-site.conf.tmpl", v); err != nil {
			t.Fatal(err)
		}
		confs = append(confs, buf.String())
	}
	startNginx(t, confs)
}
