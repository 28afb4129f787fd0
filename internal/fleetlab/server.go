//go:build linux

package fleetlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Server is one server of a fleet: a network namespace with its address
// on the fleet's bridge, and a mount, UTS and PID namespace whose root is
// an overlay of the host's / with the server's own upper directory. Its
// sshd is the namespaces' first process; everything else runs under it.
type Server struct {
	Name    string
	Addr    string // 10.213.N.x, port 22 sshd, 80 the web server, 3306 MariaDB
	Role    Role
	HTTP    string        // web servers: HTTPNginx or HTTPApache
	HostKey ssh.PublicKey // its sshd's host key, new for every fleet and RotateHostKey

	fleet *Fleet
	netns string
	veth  string // the host's end; the server's is eth0
	dir   string // work, merged and upper (fs) of its overlay
	upper upper

	pid      int // host pid of the namespaces' first process, sshd
	initDone chan struct{}
	initOut  *lockedBuffer
	// daemons are the children of the test the server runs in the
	// foreground (mariadbd), each with a channel closed when it exits.
	daemons []chan struct{}
}

// lockedBuffer is a bytes.Buffer that a child's output and the test may
// use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// initScript runs as the first process of the server's new mount, UTS and
// PID namespaces: it mounts the overlay root and becomes the chrooted sshd.
// $1 name, $2 upper, $3 work, $4 merged: the harness's own values.
const initScript = `set -e
hostname "$1"
mount -t overlay "fleetlab-$1" -o "lowerdir=/,upperdir=$2,workdir=$3" "$4"
mount --rbind /dev "$4/dev"
mount -t proc proc "$4/proc"
mount --rbind /sys "$4/sys"
cd "$4"
exec chroot "$4" /usr/sbin/sshd -D -e
`

// start makes the server's files, network and namespaces, and starts its
// sshd and its role's services.
func (s *Server) start(opts *Options, hosts string) error {
	for _, d := range []string{"work", "merged", "fs"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := s.prepare(opts, hosts); err != nil {
		return err
	}
	// The template is made while the server's namespaces start.
	tmpl := make(chan error, 1)
	var tmplDir string
	if s.Role == RoleDB {
		go func() {
			var err error
			tmplDir, err = makeDBTemplate()
			tmpl <- err
		}()
	}
	_ = exec.Command("ip", "link", "del", s.veth).Run() // a leftover of a dead fleet of the same N
	for _, args := range [][]string{
		{"ip", "netns", "add", s.netns},
		{"ip", "link", "add", s.veth, "type", "veth", "peer", "name", "eth0", "netns", s.netns},
		{"ip", "link", "set", s.veth, "master", s.fleet.bridge, "up"},
		{"ip", "-n", s.netns, "link", "set", "lo", "up"},
		{"ip", "-n", s.netns, "addr", "add", s.Addr + "/24", "dev", "eth0"},
		// No default route: the bridge's subnet is all a server reaches.
		{"ip", "-n", s.netns, "link", "set", "eth0", "up"},
	} {
		if err := run(args...); err != nil {
			return err
		}
	}
	if err := s.startInit(); err != nil {
		return err
	}
	switch {
	case s.Role == RoleDB:
		if err := <-tmpl; err != nil {
			return err
		}
		// Through the server's root, as the upper must not be written to
		// while mounted.
		if err := run("cp", "-a", tmplDir+"/.", s.Path("/var/lib/mysql")+"/"); err != nil {
			return err
		}
		return s.startMariaDB(opts.DBAdmin)
	case s.HTTP == HTTPApache:
		return s.startWeb("apache2ctl", "start")
	default:
		return s.startWeb("nginx")
	}
}

// startInit starts the namespaces' first process, sshd, as a child of the
// test that dies with it (and with it every process of the server: the
// kernel kills a PID namespace's processes when its first one dies), and
// waits for port 22.
func (s *Server) startInit() error {
	cmd := exec.Command("ip", "netns", "exec", s.netns,
		"unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--propagation", "private",
		"sh", "-c", initScript, "sh", s.Name, string(s.upper), filepath.Join(s.dir, "work"), filepath.Join(s.dir, "merged"))
	s.initOut = &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = s.initOut, s.initOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.initDone = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.initDone) }()
	exited := func() bool {
		select {
		case <-s.initDone:
			return true
		default:
			return false
		}
	}
	children := fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid)
	err := waitFor(startTimeout, "the namespaces' first process", func() bool {
		data, _ := os.ReadFile(children)
		if f := strings.Fields(string(data)); len(f) > 0 {
			s.pid, _ = strconv.Atoi(f[0])
		}
		return s.pid > 0 || exited()
	})
	if err == nil {
		err = waitFor(startTimeout, "sshd on "+s.Addr+":22", func() bool {
			return dialable(s.Addr+":22") || exited()
		})
	}
	if err == nil && exited() {
		err = errors.New("sshd exited")
	}
	if err != nil {
		return fmt.Errorf("%v: %s", err, lastLines(s.initOut.String(), 20))
	}
	return nil
}

// dialable reports whether a TCP connection to addr opens at once.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// startWeb starts php8.2-fpm and the web server (both daemonize), and
// waits for php-fpm's socket. The web server has Debian's configuration
// with no site: nothing listens on port 80 until a test or aegir adds one
// (Apache: Debian's ports.conf listens on 80).
func (s *Server) startWeb(http ...string) error {
	ctx := context.Background()
	// Both at once: php-fpm takes its time to start its workers.
	fpm := make(chan error, 1)
	go func() {
		_, err := s.Exec(ctx, "root", "php-fpm8.2", "--fpm-config", "/etc/php/8.2/fpm/php-fpm.conf")
		fpm <- err
	}()
	_, err := s.Exec(ctx, "root", http...)
	if err := errors.Join(err, <-fpm); err != nil {
		return err
	}
	return waitFor(startTimeout, "php-fpm's socket", func() bool {
		fi, err := os.Stat(s.Path("/run/php/php8.2-fpm.sock"))
		return err == nil && fi.Mode()&os.ModeSocket != 0
	})
}

// startMariaDB starts mariadbd in the foreground as a child of the test,
// waits for its socket and creates the administrator.
func (s *Server) startMariaDB(admin *DBAdmin) error {
	cmd := s.Command(context.Background(), "root", "mariadbd")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.daemons = append(s.daemons, done)
	err := waitFor(startTimeout, "mariadbd's socket", func() bool {
		select {
		case <-done:
			return true
		default:
		}
		fi, err := os.Stat(s.Path("/run/mysqld/mysqld.sock"))
		return err == nil && fi.Mode()&os.ModeSocket != 0
	})
	select {
	case <-done:
		err = errors.New("mariadbd exited")
	default:
	}
	if err != nil {
		log, _ := os.ReadFile(s.upper.path("/var/log/mysql/error.log"))
		return fmt.Errorf("%v: %s%s", err, out, lastLines(string(log), 20))
	}
	if admin == nil {
		return nil
	}
	from := sqlQuote(strings.TrimSuffix(s.fleet.Subnet, "0/24") + "%")
	user := sqlQuote(admin.User)
	// On stdin, not in the arguments: the password stays out of ps and of
	// the error.
	create := s.Command(context.Background(), "root", "mariadb")
	create.Stdin = strings.NewReader("CREATE USER " + user + "@" + from + " IDENTIFIED BY " + sqlQuote(admin.Password) +
		";\nGRANT ALL PRIVILEGES ON *.* TO " + user + "@" + from + " WITH GRANT OPTION;\n")
	if out, err := create.CombinedOutput(); err != nil {
		return fmt.Errorf("create the administrator %s: %v: %s", admin.User, err, bytes.TrimSpace(out))
	}
	return nil
}

// sqlQuote quotes s as a MariaDB string literal.
func sqlQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Command returns a command that runs args inside the server (its
// namespaces and root) as user ("" or "root": root; another user by
// runuser), with a plain environment. The caller sets its input and
// output and runs it.
func (s *Server) Command(ctx context.Context, user string, args ...string) *exec.Cmd {
	a := []string{"-t", strconv.Itoa(s.pid), "-m", "-u", "-n", "-p", "-r", "-w", "--"}
	if user != "" && user != "root" {
		a = append(a, "runuser", "-u", user, "--")
	}
	cmd := exec.CommandContext(ctx, "nsenter", append(a, args...)...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Exec runs args inside the server as user (see Command) and returns
// their output, stdout and stderr together. The error, when they fail,
// names the server and holds the output.
func (s *Server) Exec(ctx context.Context, user string, args ...string) ([]byte, error) {
	out, err := s.Command(ctx, user, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %s as %s: %v: %s", s.Name, strings.Join(args, " "), orRoot(user), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// WriteFile writes data to the server's file p as user (through the
// server, so the file has that user's ownership and the server's umask
// applies before mode).
func (s *Server) WriteFile(ctx context.Context, user, p string, data []byte, mode os.FileMode) error {
	cmd := s.Command(ctx, user, "sh", "-c", `cat > "$1" && chmod "$2" "$1"`, "sh", p, strconv.FormatUint(uint64(mode.Perm()), 8))
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: write %s as %s: %v: %s", s.Name, p, orRoot(user), err, bytes.TrimSpace(out))
	}
	return nil
}

func orRoot(user string) string {
	if user == "" {
		return "root"
	}
	return user
}

// Path returns the host's path to the server's file p as the server sees
// it (through its sshd's root, /proc/PID/root), valid while the fleet runs.
func (s *Server) Path(p string) string {
	return fmt.Sprintf("/proc/%d/root%s", s.pid, filepath.Clean("/"+p))
}

// ReadFile reads the server's file p as the server sees it.
func (s *Server) ReadFile(p string) ([]byte, error) { return os.ReadFile(s.Path(p)) }

// Stop makes the server unreachable, as a machine gone off the network:
// its link is down (no server reaches it either), and the host's route to
// it answers "no route to host" at once, so a connect from the host fails
// fast while open connections hang until their timeouts. Its processes
// and files stay.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	for _, args := range [][]string{
		{"ip", "link", "set", s.veth, "down"},
		{"ip", "route", "add", "unreachable", s.Addr + "/32"},
	} {
		if err := run(args...); err != nil {
			t.Fatalf("fleetlab: stop %s: %v", s.Name, err)
		}
	}
}

// DropConnections cuts every SSH connection open to the server, as a
// network failure mid-task would: the sshd process of each is killed, so
// the client sees the connection end at once. New connections work.
func (s *Server) DropConnections(t testing.TB) {
	t.Helper()
	// Each connection has an sshd under the first one, and that one's
	// unprivileged child, which holds the socket too; the daemons the first
	// sshd adopted (nginx, php-fpm) are left alone.
	var sshds []int
	var walk func(pid int)
	walk = func(pid int) {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		for _, f := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child)); err == nil && strings.TrimSpace(string(comm)) == "sshd" {
				sshds = append(sshds, child)
				walk(child)
			}
		}
	}
	walk(s.pid)
	for _, pid := range sshds {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Start makes a stopped server reachable again and waits for its sshd.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	_ = run("ip", "route", "del", "unreachable", s.Addr+"/32")
	if err := run("ip", "link", "set", s.veth, "master", s.fleet.bridge, "up"); err != nil {
		t.Fatalf("fleetlab: start %s: %v", s.Name, err)
	}
	if err := waitFor(startTimeout, "sshd on "+s.Addr+":22", func() bool { return dialable(s.Addr + ":22") }); err != nil {
		t.Fatalf("fleetlab: start %s: %v", s.Name, err)
	}
}

// RotateHostKey gives the server's sshd a new host key (sshd re-executes
// itself on SIGHUP), waits until it offers it, and returns it; HostKey is
// the new key afterwards.
func (s *Server) RotateHostKey(t testing.TB) ssh.PublicKey {
	t.Helper()
	key, pub, err := newHostKey("fleetlab-" + s.Name)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.WriteFile(ctx, "root", "/etc/ssh/ssh_host_ed25519_key", key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFile(ctx, "root", "/etc/ssh/ssh_host_ed25519_key.pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each connection's sshd reads the key anew; the restart is what a
	// real server's operator does, and it closes the port a moment: wait
	// for sshd to say it listens again.
	restarts := strings.Count(s.initOut.String(), sshdListening)
	if err := syscall.Kill(s.pid, syscall.SIGHUP); err != nil {
		t.Fatalf("fleetlab: SIGHUP sshd of %s: %v", s.Name, err)
	}
	want := string(pub.Marshal())
	if err := waitFor(startTimeout, s.Name+"'s sshd offering its new host key", func() bool {
		if strings.Count(s.initOut.String(), sshdListening) <= restarts {
			return false
		}
		got, _ := offeredHostKey(s.Addr + ":22")
		return got != nil && string(got.Marshal()) == want
	}); err != nil {
		t.Fatalf("fleetlab: %v", err)
	}
	s.HostKey = pub
	return pub
}

// sshdListening is what sshd -e writes once it listens (again).
const sshdListening = "Server listening on 0.0.0.0 port 22"

// errGotKey ends a handshake once the host key is known.
var errGotKey = errors.New("got the host key")

// offeredHostKey returns the host key an SSH server offers.
func offeredHostKey(addr string) (ssh.PublicKey, error) {
	var key ssh.PublicKey
	_, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: "nobody", Timeout: time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error { key = k; return errGotKey },
	})
	if key == nil {
		return nil, err
	}
	return key, nil
}

// HTTPGet sends GET path with Host host to the server's address, port 80,
// from the host, and returns the status and body; it fails the test when
// no response comes within 10 s.
func (s *Server) HTTPGet(t testing.TB, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("fleetlab: GET http://%s%s from %s: %v", host, path, s.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// FillDisk makes the server's directory p a full file system: a tmpfs of
// one page mounted over it (inside the server only) and filled, so that
// every write under p fails with "No space left on device". What p held
// is hidden until FreeDisk.
func (s *Server) FillDisk(t testing.TB, p string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Exec(ctx, "root", "mount", "-t", "tmpfs", "-o", "size=4k,mode=1777", "fleetlab-full", p); err != nil {
		t.Fatal(err)
	}
	// dd fails with ENOSPC once the tmpfs is full, as intended.
	_, _ = s.Exec(ctx, "root", "dd", "if=/dev/zero", "of="+filepath.Join(p, ".fleetlab-fill"), "bs=4k")
}

// FreeDisk undoes FillDisk.
func (s *Server) FreeDisk(t testing.TB, p string) {
	t.Helper()
	if _, err := s.Exec(context.Background(), "root", "umount", p); err != nil {
		t.Fatal(err)
	}
}

// stop kills every process of the server (the first one's death takes its
// PID namespace with it) and deletes its veth and network namespace.
func (s *Server) stop() error {
	var errs []error
	if s.initDone != nil {
		if s.pid > 0 {
			_ = syscall.Kill(s.pid, syscall.SIGKILL)
		}
		select {
		case <-s.initDone:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("%s: the namespaces' first process did not exit", s.Name))
		}
		for _, done := range s.daemons {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				errs = append(errs, fmt.Errorf("%s: a daemon did not exit", s.Name))
			}
		}
	}
	_ = exec.Command("ip", "route", "del", "unreachable", s.Addr+"/32").Run()
	// The veth first: it can outlive the namespace's name.
	_ = exec.Command("ip", "link", "del", s.veth).Run()
	if out, _ := exec.Command("ip", "netns", "pids", s.netns).Output(); len(bytes.TrimSpace(out)) > 0 {
		errs = append(errs, fmt.Errorf("%s: processes left in its namespace: %s", s.Name, out))
	}
	_ = exec.Command("ip", "netns", "del", s.netns).Run()
	return errors.Join(errs...)
}

// logFailure logs the server's sshd output and the tails of its services'
// logs, where the reason for a failed test usually is.
func (s *Server) logFailure(t testing.TB) {
	if s.initOut != nil && s.initOut.String() != "" {
		t.Logf("%s sshd:\n%s", s.Name, lastLines(s.initOut.String(), 30))
	}
	for _, p := range []string{"/var/log/nginx/error.log", "/var/log/php8.2-fpm.log", "/var/log/apache2/error.log", "/var/log/mysql/error.log"} {
		if data, err := os.ReadFile(s.upper.path(p)); err == nil && len(data) > 0 {
			t.Logf("%s %s:\n%s", s.Name, p, lastLines(string(data), 30))
		}
	}
}
