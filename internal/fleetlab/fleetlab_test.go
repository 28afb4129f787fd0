//go:build linux

package fleetlab

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	_ "github.com/go-sql-driver/mysql"
	"golang.org/x/crypto/ssh"
)

// clientKey is the key the test logs in with, as a signer and as an
// OpenSSH private key file for ssh and rsync.
func clientKey(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "fleetlab-test")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return signer, file
}

// dial opens an SSH connection as user, checking the host key against key.
func dial(s *Server, user string, signer ssh.Signer, key ssh.PublicKey) (*ssh.Client, error) {
	return ssh.Dial("tcp", s.Addr+":22", &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(key), Timeout: 3 * time.Second,
	})
}

// sshRun runs cmd over a new connection as user and returns its output.
func sshRun(t *testing.T, s *Server, user string, signer ssh.Signer, cmd string) string {
	t.Helper()
	c, err := dial(s, user, signer, s.HostKey)
	if err != nil {
		t.Fatalf("ssh %s@%s: %v", user, s.Name, err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("ssh %s@%s %q: %v: %s", user, s.Name, cmd, err, out)
	}
	return strings.TrimSpace(string(out))
}

// pss returns the proportional memory of the processes in a server's
// network namespace, in KiB.
func pss(t testing.TB, s *Server) (kib, procs int) {
	out, err := exec.Command("ip", "netns", "pids", s.netns).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range strings.Fields(string(out)) {
		data, err := os.ReadFile("/proc/" + pid + "/smaps_rollup")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				var n int
				fmt.Sscan(f[1], &n)
				kib += n
			}
		}
		procs++
	}
	return kib, procs
}

// TestFleet starts one fleet (two nginx web servers, one Apache web
// server, one db server, prepared with the aegir user) and proves what
// the remote drivers' tests rely on.
func TestFleet(t *testing.T) {
	t.Parallel() // beside TestRawServer's fleet: two fleets at once
	signer, keyFile := clientKey(t)
	// A directory of the host outside its temporary directory, which is
	// always hidden, to hide by name.
	hidden, err := os.MkdirTemp("/var/tmp", "fleetlab-hide-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(hidden) })
	if err := os.WriteFile(filepath.Join(hidden, "master-only"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var f *Fleet
	t.Cleanup(func() { checkTornDown(t, f) }) // runs after the fleet's own cleanup
	start := time.Now()
	f = Start(t, Options{
		AuthorizedKey: signer.PublicKey(), AegirUser: true, Hide: []string{hidden},
		DBAdmin: &DBAdmin{User: "aegir_root", Password: "pw'with\\quotes"},
	},
		Spec{Name: "web1", Role: RoleWeb}, Spec{Name: "web2", Role: RoleWeb},
		Spec{Name: "web3", Role: RoleWeb, HTTP: HTTPApache}, Spec{Name: "db1", Role: RoleDB})
	t.Logf("fleet of 4 up in %v", time.Since(start).Round(time.Millisecond))
	web1, web2, web3, db1 := f.Servers["web1"], f.Servers["web2"], f.Servers["web3"], f.Servers["db1"]
	for _, s := range []*Server{web1, web2, web3, db1} {
		kib, procs := pss(t, s)
		t.Logf("%s (%s): %d processes, PSS %d MiB", s.Name, s.Addr, procs, kib/1024)
	}
	ctx := context.Background()

	t.Run("SSHAsRootAndAegirWithPinnedHostKey", func(t *testing.T) {
		if got, want := sshRun(t, web1, "root", signer, "id -un; hostname"), "root\nweb1"; got != want {
			t.Errorf("root on web1: got %q, want %q", got, want)
		}
		if got, want := sshRun(t, db1, "aegir", signer, "id -un; hostname; id -Gn"), "aegir\ndb1\naegir www-data"; got != want {
			t.Errorf("aegir on db1: got %q, want %q", got, want)
		}
		// Another server's key is refused: the key is checked.
		if c, err := dial(web1, "root", signer, web2.HostKey); err == nil {
			c.Close()
			t.Error("web1 accepted with web2's host key pinned")
		}
	})

	t.Run("AegirMaySudoOnlyTheWebServersTestAndReload", func(t *testing.T) {
		sshRun(t, web1, "aegir", signer, "sudo -n /usr/sbin/nginx -t")
		sshRun(t, web3, "aegir", signer, "sudo -n /usr/sbin/apache2ctl configtest")
		if out, err := web1.Exec(ctx, "aegir", "sudo", "-n", "/bin/true"); err == nil {
			t.Errorf("aegir may sudo /bin/true: %s", out)
		}
	})

	t.Run("PHPServedByNginxAndApacheThroughTheirAddresses", func(t *testing.T) {
		php := []byte("<?php echo gethostname(), ' ', PHP_SAPI, ' ', $_SERVER['HTTP_HOST'];\n")
		for _, s := range []*Server{web1, web3} {
			if _, err := s.Exec(ctx, "root", "install", "-d", "-o", "aegir", "-g", "aegir", "/var/www/probe"); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteFile(ctx, "aegir", "/var/www/probe/index.php", php, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		nginxSite := `server {
  listen 80;
  server_name probe.example;
  root /var/www/probe;
  index index.php;
  location ~ \.php$ { include snippets/fastcgi-php.conf; fastcgi_pass unix:/run/php/php8.2-fpm.sock; }
}
`
		if err := web1.WriteFile(ctx, "root", "/etc/nginx/sites-enabled/probe.conf", []byte(nginxSite), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := web1.Exec(ctx, "aegir", append([]string{"sudo", "-n"}, aegir.NginxRestartCmd()...)...); err != nil {
			t.Fatal(err)
		}
		apacheSite := `<VirtualHost *:80>
  ServerName probe.example
  DocumentRoot /var/www/probe
  DirectoryIndex index.php
  <Directory /var/www/probe>
    Require all granted
  </Directory>
  <FilesMatch "\.php$">
    SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"
  </FilesMatch>
</VirtualHost>
`
		if err := web3.WriteFile(ctx, "root", "/etc/apache2/sites-enabled/probe.conf", []byte(apacheSite), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := web3.Exec(ctx, "aegir", "sudo", "-n", "/usr/sbin/apache2ctl", "graceful"); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Server{web1, web3} {
			// nginx binds port 80 once the reload is done.
			if err := waitFor(startTimeout, s.Name+":80", func() bool { return dialable(s.Addr + ":80") }); err != nil {
				t.Fatal(err)
			}
			want := s.Name + " fpm-fcgi probe.example"
			var code int
			var body string
			for range 100 { // a reload takes effect a moment later
				if code, body = s.HTTPGet(t, "probe.example", "/"); code == 200 && body == want {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if code != 200 || body != want {
				t.Errorf("%s: got %d %q, want 200 %q", s.Name, code, body, want)
			}
		}
	})

	t.Run("MariaDBOverTCPAsAdministrator", func(t *testing.T) {
		db, err := sql.Open("mysql", fmt.Sprintf("aegir_root:%s@tcp(%s:3306)/?timeout=5s", "pw'with\\quotes", db1.Addr))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var host string
		if err := db.QueryRow("SELECT @@hostname").Scan(&host); err != nil {
			t.Fatal(err)
		}
		if host != "db1" {
			t.Errorf("@@hostname = %q, want db1", host)
		}
		if _, err := db.Exec("CREATE DATABASE fleetlab_probe"); err != nil {
			t.Fatal(err)
		}
		// And from a web server, by the db server's name.
		out, err := web1.Exec(ctx, "aegir", "mariadb", "-h", "db1", "-u", "aegir_root", "-ppw'with\\quotes", "-N", "-e", "SHOW DATABASES LIKE 'fleetlab%'")
		if err != nil || strings.TrimSpace(string(out)) != "fleetlab_probe" {
			t.Errorf("from web1: %q %v", out, err)
		}
	})

	t.Run("RsyncOverSSHAsAegir", func(t *testing.T) {
		src := t.TempDir()
		if err := os.MkdirAll(filepath.Join(src, "sites/default"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, "index.php"), []byte("<?php echo 1;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		known := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(known, f.KnownHosts(), 0o644); err != nil {
			t.Fatal(err)
		}
		sshCmd := "ssh -i " + keyFile + " -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 -o UserKnownHostsFile=" + known + " -o StrictHostKeyChecking=yes"
		if _, err := web1.Exec(ctx, "aegir", "mkdir", "-p", "/var/aegir/platforms"); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("rsync", "-a", "--delete", "-e", sshCmd, src+"/", "aegir@"+web1.Addr+":/var/aegir/platforms/p1/").CombinedOutput()
		if err != nil {
			t.Fatalf("rsync: %v: %s", err, out)
		}
		if got, err := web1.ReadFile("/var/aegir/platforms/p1/index.php"); err != nil || string(got) != "<?php echo 1;\n" {
			t.Errorf("web1's copy: %q, %v", got, err)
		}
		if got := sshRun(t, web1, "aegir", signer, "stat -c %U /var/aegir/platforms/p1/sites/default"); got != "aegir" {
			t.Errorf("owner on web1 %q, want aegir", got)
		}
	})

	t.Run("ServersSeeNeitherTheHostsFilesNorWriteThem", func(t *testing.T) {
		if _, err := web1.Exec(ctx, "root", "sh", "-c", "echo remote > /var/aegir/written-on-web1 && echo remote > /etc/written-on-web1"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/var/aegir/written-on-web1", "/etc/written-on-web1"} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the host has %s: %v", p, err)
			}
			if _, err := web2.ReadFile(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("web2 has %s: %v", p, err)
			}
		}
		// Hidden: empty. The test's temporary directories are not there at all.
		if out, err := web1.Exec(ctx, "root", "ls", "-A", hidden); err != nil || len(out) != 0 {
			t.Errorf("web1 sees in %s: %q %v", hidden, out, err)
		}
		if out, err := web2.Exec(ctx, "root", "ls", "-A", "/var/www", os.TempDir()); err != nil || strings.TrimSpace(string(out)) != os.TempDir()+":\n\n/var/www:" {
			t.Errorf("web2 sees in /var/www and %s: %q %v", os.TempDir(), out, err)
		}
		if _, err := web1.ReadFile(keyFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("web1 sees the test's %s: %v", keyFile, err)
		}
	})

	t.Run("NamesResolveInTheFleetOnlyAndNothingElseIsRouted", func(t *testing.T) {
		if got := sshRun(t, web1, "root", signer, "getent hosts db1 master"); !strings.Contains(got, db1.Addr+" ") || !strings.Contains(got, f.HostAddr+" ") {
			t.Errorf("getent hosts on web1: %q", got)
		}
		// Fails by itself (nothing answers at 127.0.0.1:53), not by the bound.
		bounded, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if out, err := web1.Exec(bounded, "root", "getent", "hosts", "example.com"); err == nil || bounded.Err() != nil {
			t.Errorf("looking up example.com on web1: %s %v (bound: %v)", out, err, bounded.Err())
		}
		if out, err := web1.Exec(ctx, "root", "ip", "route"); err != nil || strings.Contains(string(out), "default") {
			t.Errorf("web1's routes: %s %v", out, err)
		}
	})

	t.Run("ConfigRejectedByWeb2sNginxLeavesItServing", func(t *testing.T) {
		bad := []byte("server { listen 80; server_name bad.example; no_such_directive on; }\n")
		if err := web2.WriteFile(ctx, "root", "/etc/nginx/sites-enabled/bad.conf", bad, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := web2.Exec(ctx, "aegir", "sudo", "-n", "/usr/sbin/nginx", "-t")
		if err == nil || !strings.Contains(string(out), "no_such_directive") {
			t.Errorf("nginx -t on web2 accepted the bad config: %s %v", out, err)
		}
		if _, err := web2.Exec(ctx, "root", "rm", "/etc/nginx/sites-enabled/bad.conf"); err != nil {
			t.Fatal(err)
		}
		sshRun(t, web2, "aegir", signer, "sudo -n /usr/sbin/nginx -t")
	})

	t.Run("FullDisk", func(t *testing.T) {
		web2.FillDisk(t, "/var/aegir")
		out, err := web2.Exec(ctx, "aegir", "sh", "-c", "head -c 100000 /dev/zero > /var/aegir/new")
		if err == nil || !strings.Contains(string(out), "No space left on device") {
			t.Errorf("write on a full disk: %s %v", out, err)
		}
		web2.FreeDisk(t, "/var/aegir")
		if _, err := web2.Exec(ctx, "aegir", "sh", "-c", "echo data > /var/aegir/new"); err != nil {
			t.Error(err)
		}
	})

	t.Run("StoppedServerFailsFastAndComesBack", func(t *testing.T) {
		web2.Stop(t)
		// Refused by the host's route at once, not by the dial's bound.
		if c, err := dial(web2, "root", signer, web2.HostKey); err == nil {
			c.Close()
			t.Fatal("a stopped server accepted a connection")
		} else if !errors.Is(err, syscall.EHOSTUNREACH) {
			t.Errorf("connect to a stopped server: %v, want no route to host", err)
		}
		// The others are untouched, and web2 is cut off from them too.
		sshRun(t, web1, "root", signer, "true")
		if out, err := web1.Exec(ctx, "root", "timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/web2/22"); err == nil {
			t.Errorf("web1 reached a stopped web2: %s", out)
		}
		web2.Start(t)
		if got := sshRun(t, web2, "root", signer, "hostname"); got != "web2" {
			t.Errorf("after Start: %q", got)
		}
	})

	t.Run("DroppedConnectionsEndAtOnce", func(t *testing.T) {
		c, err := dial(web1, "aegir", signer, web1.HostKey)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Start("sleep 30"); err != nil {
			t.Fatal(err)
		}
		web1.DropConnections(t)
		if err := sess.Wait(); err == nil {
			t.Error("a session survived DropConnections")
		}
		if _, err := c.NewSession(); err == nil {
			t.Error("the connection survived DropConnections")
		}
		if got := sshRun(t, web1, "aegir", signer, "hostname"); got != "web1" {
			t.Errorf("a new connection after DropConnections: %q", got)
		}
	})

	t.Run("RotatedHostKeyRefusesTheOldPin", func(t *testing.T) {
		old := db1.HostKey
		db1.RotateHostKey(t)
		_, err := dial(db1, "aegir", signer, old)
		if err == nil || !strings.Contains(err.Error(), "host key mismatch") {
			t.Errorf("dial with the old key pinned: %v, want a host key mismatch", err)
		}
		if got := sshRun(t, db1, "aegir", signer, "hostname"); got != "db1" {
			t.Errorf("with the new key: %q", got)
		}
	})
}

// TestRawServer starts a second fleet, beside TestFleet's, of one raw
// server, as `aegir bootstrap` finds a new machine: root may log in with
// the key, there is no aegir user and no /var/aegir.
func TestRawServer(t *testing.T) {
	t.Parallel()
	signer, _ := clientKey(t)
	f := Start(t, Options{AuthorizedKey: signer.PublicKey()}, Spec{Name: "new1", Role: RoleWeb})
	s := f.Servers["new1"]
	if got := sshRun(t, s, "root", signer, "hostname; getent passwd aegir || echo no aegir; ls -d /var/aegir 2>&1 || true"); !strings.HasPrefix(got, "new1\nno aegir\nls: cannot access '/var/aegir'") {
		t.Errorf("raw server: %q", got)
	}
	if c, err := dial(s, "aegir", signer, s.HostKey); err == nil {
		c.Close()
		t.Error("aegir logged in on a raw server")
	}
}

// checkTornDown fails the test when the fleet left a namespace, a link or
// a process behind.
func checkTornDown(t *testing.T, f *Fleet) {
	if f == nil {
		return
	}
	netns, _ := exec.Command("ip", "netns", "list").Output()
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, s := range f.Servers {
		if strings.Contains(string(netns), s.netns) {
			t.Errorf("namespace %s left", s.netns)
		}
		if strings.Contains(string(links), s.veth+"@") || strings.Contains(string(links), s.veth+":") {
			t.Errorf("veth %s left", s.veth)
		}
		if err := syscall.Kill(s.pid, 0); err == nil {
			t.Errorf("%s's sshd (pid %d) left", s.Name, s.pid)
		}
	}
	if strings.Contains(string(links), " "+f.bridge+":") {
		t.Errorf("bridge %s left", f.bridge)
	}
	if _, err := os.Stat(f.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left: %v", f.dir, err)
	}
}

// BenchmarkStart measures starting and tearing down a fleet of two nginx
// web servers and a db server prepared with the aegir user, as the fleet's
// end-to-end tests use (the db template is made before the timer starts).
func BenchmarkStart(b *testing.B) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	if os.Geteuid() != 0 {
		b.Skip("fleetlab needs root")
	}
	if _, err := makeDBTemplate(); err != nil {
		b.Fatal(err)
	}
	opts := Options{AuthorizedKey: signer.PublicKey(), AegirUser: true, DBAdmin: &DBAdmin{User: "a", Password: "p"}}
	var up time.Duration
	var mem int
	for b.Loop() {
		start := time.Now()
		f, err := launch(&opts, []Spec{{Name: "web1", Role: RoleWeb, HTTP: HTTPNginx}, {Name: "web2", Role: RoleWeb, HTTP: HTTPNginx}, {Name: "db1", Role: RoleDB}})
		if err != nil {
			b.Fatal(err)
		}
		up += time.Since(start)
		for _, s := range f.Servers {
			kib, _ := pss(b, s)
			mem += kib
		}
		if err := f.teardown(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(up.Milliseconds())/float64(b.N), "ms-up/fleet")
	b.ReportMetric(float64(mem)/1024/float64(b.N), "MiB-PSS/fleet")
}

// TestStartRemovesLeftoversOfDeadProcesses makes what a test process
// killed mid-fleet leaves (a namespace, a bridge with a veth, files, all
// named after its pid) and checks that removeLeftovers, which Start runs
// first, removes them and nothing of a live process.
func TestStartRemovesLeftoversOfDeadProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		teststack.Missing(t, "fleetlab needs root")
	}
	// The owner lives while its leftovers are made (another process's
	// Start may remove them as soon as it is dead), then dies.
	owner := exec.Command("sleep", "60")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	pid := owner.Process.Pid
	t.Cleanup(func() { _ = owner.Process.Kill(); _ = owner.Wait() })
	// A subnet no fleet uses now, taken as allocBridge does.
	n := 250
	for ; n > 200 && exec.Command("ip", "link", "add", fmt.Sprintf("%s%d", bridgePrefix, n), "type", "bridge").Run() != nil; n-- {
	}
	ns, br, veth := fmt.Sprintf("%s%d-%d-web1", netnsPrefix, pid, n), fmt.Sprintf("%s%d", bridgePrefix, n), fmt.Sprintf("%s%d-0", vethPrefix, n)
	live := fmt.Sprintf("%s%d-%d-web1", netnsPrefix, os.Getpid(), n)
	dir := filepath.Join(baseDir, fmt.Sprintf("%d-%d", pid, n))
	// The bridge and veth are not deleted here by name: once dead-owned,
	// any process's Start may delete them and another fleet take the name.
	t.Cleanup(func() { _ = run("ip", "netns", "del", live) })
	for _, args := range [][]string{
		{"ip", "netns", "add", ns}, {"ip", "netns", "add", live},
		{"ip", "link", "set", "dev", br, "alias", aliasPrefix + fmt.Sprint(pid)},
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "link", "set", veth, "master", br},
		{"mkdir", "-p", dir},
		// As a test killed while a server was stopped leaves it.
		{"ip", "route", "add", "unreachable", fmt.Sprintf("%s%d.10/32", subnetBase, n)},
	} {
		if err := run(args...); err != nil {
			t.Fatal(err)
		}
	}
	ifindex := map[string]string{}
	for _, link := range []string{br, veth} {
		data, err := os.ReadFile("/sys/class/net/" + link + "/ifindex")
		if err != nil {
			t.Fatal(err)
		}
		ifindex[link] = strings.TrimSpace(string(data))
	}
	_ = owner.Process.Kill()
	_ = owner.Wait() // dead and reaped: its pid is free
	removeLeftovers()
	removeStopRoutes(n) // as allocBridge does for the subnet it takes
	netns, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(netns), ns) || !strings.Contains(string(netns), live) {
		t.Errorf("namespaces after: %s (want %s gone, %s kept)", netns, ns, live)
	}
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	for link, idx := range ifindex { // by index: the name may be another fleet's now
		if strings.Contains("\n"+string(links), "\n"+idx+": ") {
			t.Errorf("link %s (index %s) left", link, idx)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left: %v", dir, err)
	}
	if routes, _ := exec.Command("ip", "route", "show", "type", "unreachable").Output(); strings.Contains(string(routes), fmt.Sprintf("%s%d.10", subnetBase, n)) {
		t.Errorf("route left: %s", routes)
	}
}
