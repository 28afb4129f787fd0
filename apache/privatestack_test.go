//go:build linux

package apache

// This file starts a private Apache for tests: it runs as a child of the
// test in the foreground, with its server root, pid file and logs in a
// temp dir, listening on a free loopback port, and is stopped in
// t.Cleanup. It depends on nothing else in the package, so it can move to
// internal/teststack (beside StartNginx and StartPHPFPM) as is.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/httpservicetest"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

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

// apacheModules are the modules the private Apache loads: what the files
// aegir writes need, as Debian enables them.
var apacheModules = []string{
	"mpm_event", "authz_core", "authz_host", "dir", "mime", "alias", "env", "rewrite", "proxy", "proxy_fcgi",
}

// privateApache is a running Apache of the test's own. It includes
// ConfD/*.conf at server level, as Debian's conf-enabled, and listens on
// BasePort (a port no aegir server uses) until aegir adds its own.
type privateApache struct {
	Dir      string // ServerRoot: apache2.conf, pid, logs
	Conf     string
	ConfD    string
	BasePort int
}

// startPrivateApache starts apache2 as a foreground child, with every
// module of apacheModules but the ones named in without.
func startPrivateApache(t *testing.T, without ...string) *privateApache {
	t.Helper()
	teststack.Require(t, "apache2")
	modules := "/usr/lib/apache2/modules"
	for _, m := range apacheModules {
		if _, err := os.Stat(filepath.Join(modules, "mod_"+m+".so")); err != nil {
			teststack.Missing(t, "apache2 module %s is not installed: %v", m, err)
		}
	}
	dir := teststack.WebDir(t)
	p := &privateApache{Dir: dir, Conf: filepath.Join(dir, "apache2.conf"), ConfD: filepath.Join(dir, "conf-enabled"), BasePort: teststack.FreePort(t)}
	for _, d := range []string{p.ConfD, filepath.Join(dir, "run")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, `ServerRoot %[1]s
ServerName localhost
PidFile %[1]s/apache2.pid
DefaultRuntimeDir %[1]s/run
ErrorLog %[1]s/error.log
LogLevel warn
Listen 127.0.0.1:%[2]d
`, dir, p.BasePort)
	if os.Geteuid() == 0 {
		conf.WriteString("User www-data\nGroup www-data\n")
	}
	for _, m := range apacheModules {
		if slices.Contains(without, m) {
			continue
		}
		fmt.Fprintf(&conf, "LoadModule %s_module %s/mod_%s.so\n", m, modules, m)
	}
	if _, err := os.Stat("/etc/mime.types"); err == nil {
		conf.WriteString("TypesConfig /etc/mime.types\n")
	}
	// Few children and threads: several instances run side by side.
	fmt.Fprintf(&conf, `StartServers 1
ServerLimit 4
ThreadsPerChild 8
MinSpareThreads 8
MaxSpareThreads 16
MaxRequestWorkers 32
GracefulShutdownTimeout 5
<Directory />
    AllowOverride None
    Require all denied
</Directory>
IncludeOptional %s/*.conf
`, p.ConfD)
	if err := os.WriteFile(p.Conf, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	startChild(t, []string{filepath.Join(dir, "error.log")}, "apache2", p.args("-DFOREGROUND")...)
	waitForFile(t, filepath.Join(dir, "apache2.pid"))
	return p
}

// args returns apache2's command line for this instance followed by extra.
func (p *privateApache) args(extra ...string) []string {
	return append([]string{"-d", p.Dir, "-f", p.Conf}, extra...)
}

// TestCmd is the command that tests this instance's configuration.
func (p *privateApache) TestCmd() []string { return append([]string{"apache2"}, p.args("-t")...) }

// RestartCmd is the command that restarts this instance gracefully.
func (p *privateApache) RestartCmd() []string {
	return append([]string{"apache2"}, p.args("-k", "graceful")...)
}

// The HTTP helpers are the conformance suite's.
var (
	expect    = httpservicetest.Expect
	expectNow = httpservicetest.ExpectNow
)
