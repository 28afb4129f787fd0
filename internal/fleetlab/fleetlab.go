//go:build linux

package fleetlab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Role is what a server is for.
type Role string

// The roles: a web server runs nginx (or Apache) and php8.2-fpm, a db
// server MariaDB.
const (
	RoleWeb Role = "web"
	RoleDB  Role = "db"
)

// The web servers a web server may run.
const (
	HTTPNginx  = "nginx"
	HTTPApache = "apache"
)

// Spec describes one server of a fleet.
type Spec struct {
	Name string // its hostname, and its name in every server's /etc/hosts
	Role Role
	HTTP string // web servers: HTTPNginx (the default) or HTTPApache
}

// DBAdmin is a MariaDB administrator of every db server, allowed from the
// fleet's network (the host and every server), with every privilege.
type DBAdmin struct {
	User, Password string
}

// Options are what every server of a fleet shares.
type Options struct {
	// AuthorizedKey may log in as root on every server (and as aegir with
	// AegirUser). Required.
	AuthorizedKey ssh.PublicKey
	// AegirUser prepares every server as Aegir's install guide does by
	// hand: the aegir user (the host's uid and gid when the host has one),
	// home /var/aegir, in the www-data group, with AuthorizedKey, and a sudo
	// rule for the web server's test and reload only. Without it a server
	// is raw: no aegir user, no /var/aegir, only root may log in.
	AegirUser bool
	// Hide are host directories the servers see empty, so that nothing the
	// master writes there shows through the overlay's lower layer (the
	// host's /). The host's temporary directory ($TMPDIR or /tmp, where
	// t.TempDir is), /var/www, /var/log, /root and /run are always hidden,
	// and /var/aegir is the server's own.
	Hide []string
	// DBAdmin, when set, is created on every db server.
	DBAdmin *DBAdmin
}

// Fleet is a set of servers on one bridge, torn down when the test ends.
type Fleet struct {
	Servers  map[string]*Server
	HostAddr string // the host's address on the bridge, "master" in the servers' /etc/hosts
	Subnet   string // 10.213.N.0/24

	n      int
	bridge string
	dir    string
}

// Server returns the server named name, failing the test when there is none.
func (f *Fleet) Server(t testing.TB, name string) *Server {
	t.Helper()
	s, ok := f.Servers[name]
	if !ok {
		t.Fatalf("fleet has no server %q", name)
	}
	return s
}

// KnownHosts returns a known_hosts file naming every server's address with
// its current host key, for a master that trusts the fleet from the start.
func (f *Fleet) KnownHosts() []byte {
	var b bytes.Buffer
	for _, s := range f.Servers {
		b.WriteString(knownhosts.Line([]string{s.Addr}, s.HostKey) + "\n")
	}
	return b.Bytes()
}

// namePattern is what a server's name may be: a hostname label short
// enough for the namespace name.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// dbTemplate is this test process's fresh MariaDB datadir, made once by
// mariadb-install-db and copied for every db server.
var dbTemplate struct {
	sync.Mutex
	dir string
}

// Start starts a fleet of servers, in parallel, and stops it when the test
// ends. It skips t (fails it under CI=true) when the test is not root or a
// program the servers need is not installed.
func Start(t testing.TB, opts Options, specs ...Spec) *Fleet {
	t.Helper()
	if os.Geteuid() != 0 {
		teststack.Missing(t, "fleetlab needs root (network and mount namespaces)")
	}
	if opts.AuthorizedKey == nil {
		t.Fatal("fleetlab: Options.AuthorizedKey is required")
	}
	need := []string{"ip", "unshare", "nsenter", "chroot", "runuser", "sshd"}
	seen := map[string]bool{}
	for i := range specs {
		sp := &specs[i]
		if !namePattern.MatchString(sp.Name) || seen[sp.Name] {
			t.Fatalf("fleetlab: server name %q: must match %s and be unique", sp.Name, namePattern)
		}
		seen[sp.Name] = true
		switch {
		case sp.Role == RoleDB:
			sp.HTTP = ""
			need = append(need, "mariadbd", "mariadb-install-db", "mariadb")
		case sp.Role == RoleWeb && (sp.HTTP == "" || sp.HTTP == HTTPNginx):
			sp.HTTP = HTTPNginx
			need = append(need, "nginx", "php-fpm8.2")
		case sp.Role == RoleWeb && sp.HTTP == HTTPApache:
			need = append(need, "apache2ctl", "php-fpm8.2")
		default:
			t.Fatalf("fleetlab: server %s: role %q with HTTP %q: want web (nginx or apache) or db", sp.Name, sp.Role, sp.HTTP)
		}
		if opts.AegirUser {
			need = append(need, "sudo")
		}
	}
	if len(specs) > 200 {
		t.Fatal("fleetlab: at most 200 servers")
	}
	teststack.Require(t, need...)
	for _, p := range opts.Hide {
		if !filepath.IsAbs(p) || filepath.Clean(p) == "/" {
			t.Fatalf("fleetlab: Options.Hide %q: must be an absolute path other than /", p)
		}
	}

	f, err := launch(&opts, specs)
	if err != nil {
		t.Fatalf("fleetlab: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range f.Servers {
				s.logFailure(t)
			}
		}
		if err := f.teardown(); err != nil {
			t.Errorf("fleetlab: %v", err)
		}
	})
	return f
}

// launch starts a fleet of servers in parallel; when one fails, it tears
// down what it started and returns why.
func launch(opts *Options, specs []Spec) (*Fleet, error) {
	removeLeftovers()
	n, err := allocBridge()
	if err != nil {
		return nil, err
	}
	f := &Fleet{
		Servers: map[string]*Server{}, n: n, bridge: fmt.Sprintf("%s%d", bridgePrefix, n),
		HostAddr: fmt.Sprintf("%s%d.1", subnetBase, n), Subnet: fmt.Sprintf("%s%d.0/24", subnetBase, n),
		dir: filepath.Join(baseDir, fmt.Sprintf("%d-%d", os.Getpid(), n)),
	}
	hosts := f.HostAddr + " master\n"
	for i, sp := range specs {
		s := &Server{
			Name: sp.Name, Role: sp.Role, HTTP: sp.HTTP, Addr: fmt.Sprintf("%s%d.%d", subnetBase, n, 10+i),
			fleet: f, netns: fmt.Sprintf("%s%d-%d-%s", netnsPrefix, os.Getpid(), n, sp.Name),
			veth: fmt.Sprintf("%s%d-%d", vethPrefix, n, i), dir: filepath.Join(f.dir, sp.Name),
		}
		s.upper = upper(filepath.Join(s.dir, "fs"))
		f.Servers[sp.Name] = s
		hosts += s.Addr + " " + s.Name + "\n"
	}
	errs := make([]error, len(specs))
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		errs = append(errs, err)
	} else {
		var wg sync.WaitGroup
		for i, sp := range specs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.Servers[sp.Name].start(opts, hosts); err != nil {
					errs[i] = fmt.Errorf("server %s: %w", sp.Name, err)
				}
			}()
		}
		wg.Wait()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, f.teardown())
	}
	return f, nil
}

// teardown stops every server's processes by pid and deletes the fleet's
// veths, namespaces, bridge and files.
func (f *Fleet) teardown() error {
	var wg sync.WaitGroup
	errs := make(chan error, len(f.Servers)+1)
	for _, s := range f.Servers {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- s.stop() }()
	}
	wg.Wait()
	deleteBridge(f.bridge)
	errs <- os.RemoveAll(f.dir)
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// startTimeout bounds each wait of a server's start: sshd listening, a
// service's socket.
const startTimeout = 20 * time.Second

// waitFor polls cond every 10 ms until it holds or d has passed.
func waitFor(d time.Duration, what string, cond func() bool) error {
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, d)
		}
	}
}

// makeDBTemplate returns this process's template datadir, made on first
// use by mariadb-install-db with the servers' InnoDB sizes.
func makeDBTemplate() (string, error) {
	dbTemplate.Lock()
	defer dbTemplate.Unlock()
	if dbTemplate.dir != "" {
		return dbTemplate.dir, nil
	}
	dir := filepath.Join(baseDir, strconv.Itoa(os.Getpid())+"-dbtemplate")
	// Its own tmpdir: two install-db at once collide on temporary tables'
	// names in a shared one.
	tmp := dir + ".tmp"
	for _, d := range []string{dir, tmp} {
		_ = os.RemoveAll(d)
	}
	defer os.RemoveAll(tmp)
	mysql, err := lookupIDs("mysql")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(baseDir, 0o755); err != nil {
		return "", err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return "", err
	}
	if err := os.Chown(tmp, mysql.uid, mysql.gid); err != nil {
		return "", err
	}
	cmd := exec.Command("mariadb-install-db", "--no-defaults", "--user=mysql", "--datadir="+dir, "--tmpdir="+tmp,
		"--skip-test-db", "--auth-root-authentication-method=socket",
		"--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		// The reason is at the start; the advice that follows is generic.
		return "", fmt.Errorf("mariadb-install-db: %v: %s", err, firstLines(string(out), 8))
	}
	dbTemplate.dir = dir
	return dir, nil
}

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
