package teststack

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// apacheModuleDir is where Debian installs Apache's modules.
const apacheModuleDir = "/usr/lib/apache2/modules"

// ApacheModules are the modules a private Apache loads: what the files
// aegir writes need, as Debian enables them, with mod_ssl and mod_headers
// for HTTPS sites.
var ApacheModules = []string{
	"mpm_event", "authz_core", "authz_host", "dir", "mime", "alias", "env", "rewrite", "proxy", "proxy_fcgi",
	"socache_shmcb", "ssl", "headers",
}

// Apache is a running Apache of the test's own. It includes ConfD/*.conf
// at server level, as Debian's conf-enabled, and listens on BasePort (a
// port no aegir server uses) until aegir adds its own.
type Apache struct {
	Dir      string // ServerRoot: apache2.conf, pid, logs
	Conf     string
	ConfD    string
	ErrorLog string
	BasePort int
	child    *child
}

// Stop stops Apache before the test ends, freeing its ports.
func (a *Apache) Stop() { a.child.stop() }

// StartApache starts apache2 in the foreground as a child of the test,
// with every module of ApacheModules but the ones named in without, its
// children as www-data when the test runs as root, and waits for its pid
// file. It is stopped when the test ends. It skips t when apache2 or one
// of the modules is not installed.
func StartApache(t testing.TB, without ...string) *Apache {
	t.Helper()
	Require(t, "apache2")
	var modules []string
	for _, m := range ApacheModules {
		if slices.Contains(without, m) {
			continue
		}
		if _, err := os.Stat(filepath.Join(apacheModuleDir, "mod_"+m+".so")); err != nil {
			Missing(t, "apache2 module %s is not installed: %v", m, err)
		}
		modules = append(modules, m)
	}
	dir := WebDir(t)
	a := &Apache{
		Dir: dir, Conf: filepath.Join(dir, "apache2.conf"), ConfD: filepath.Join(dir, "conf-enabled"),
		ErrorLog: filepath.Join(dir, "error.log"), BasePort: FreePort(t),
	}
	for _, d := range []string{a.ConfD, filepath.Join(dir, "run")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := os.Stat("/etc/mime.types")
	render(t, a.Conf, "apache2.conf.tmpl", struct {
		*Apache
		AsWebUser, MimeTypes, SSL bool
		Modules                   []string
		ModuleDir                 string
	}{a, os.Geteuid() == 0, err == nil, slices.Contains(modules, "ssl") && slices.Contains(modules, "socache_shmcb"), modules, apacheModuleDir})
	a.child = startChild(t, []string{a.ErrorLog}, "apache2", a.args("-DFOREGROUND")...)
	a.child.waitForFile(t, filepath.Join(dir, "apache2.pid"))
	return a
}

// args returns apache2's command line for this instance followed by extra.
func (a *Apache) args(extra ...string) []string {
	return append([]string{"-d", a.Dir, "-f", a.Conf}, extra...)
}

// TestCmd is the command that tests this instance's configuration.
func (a *Apache) TestCmd() []string { return append([]string{"apache2"}, a.args("-t")...) }

// RestartCmd is the command that restarts this instance gracefully.
func (a *Apache) RestartCmd() []string {
	return append([]string{"apache2"}, a.args("-k", "graceful")...)
}
