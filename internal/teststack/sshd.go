package teststack

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHD is a private OpenSSH server of the test on a loopback port: key-only
// logins, with ClientKey authorized for every user the machine has (root
// included, by key only), and OpenSSH's own SFTP server (internal-sftp). It
// is a real peer for the SSH runner and for SFTP backup targets; servers on
// their own network (a fleet) come from internal/fleetlab.
type SSHD struct {
	Dir  string
	Host string // 127.0.0.1
	Port int
	// HostKey is the server's host key; KnownHosts a known_hosts file that
	// names it for [127.0.0.1]:Port, as OpenSSH's clients read it.
	HostKey    ssh.PublicKey
	KnownHosts string
	// ClientKey is the key authorized for every user; ClientKeyFile the
	// same key in OpenSSH's format (0600), for ssh, rsync and restic
	// command lines.
	ClientKey     ssh.Signer
	ClientKeyFile string
	child         *child
}

// Addr returns host:port.
func (s *SSHD) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Stop stops the server and the sessions it serves, as a machine that
// went away: open connections end and later ones are refused.
func (s *SSHD) Stop() {
	killDescendants(s.child.pid)
	s.child.stop()
}

// StartSSHD starts a private sshd, stopped when the test ends. It needs
// root (sshd's privilege separation, logins as other users) and Debian's
// openssh-server; either missing is a skip, or a failure under CI=true.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	Require(t, "/usr/sbin/sshd")
	if os.Geteuid() != 0 {
		Missing(t, "a private sshd needs root")
	}
	// sshd refuses to start without its privilege separation directory,
	// which Debian makes only in its init script.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &SSHD{Dir: dir, Host: "127.0.0.1", Port: FreePort(t)}

	hostKey := writeKey(t, filepath.Join(dir, "ssh_host_ed25519_key"))
	s.HostKey = hostKey.PublicKey()
	s.ClientKeyFile = filepath.Join(dir, "id_ed25519")
	s.ClientKey = writeKey(t, s.ClientKeyFile)
	authorized := filepath.Join(dir, "authorized_keys")
	writeFile(t, authorized, ssh.MarshalAuthorizedKey(s.ClientKey.PublicKey()), 0o644)
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	writeFile(t, s.KnownHosts, []byte(fmt.Sprintf("[%s]:%d %s", s.Host, s.Port, ssh.MarshalAuthorizedKey(s.HostKey))), 0o644)

	conf := filepath.Join(dir, "sshd_config")
	render(t, conf, "sshd_config", map[string]any{
		"Dir": dir, "Host": s.Host, "Port": s.Port, "HostKey": filepath.Join(dir, "ssh_host_ed25519_key"),
		"AuthorizedKeys": authorized,
	})
	log := filepath.Join(dir, "sshd.log")
	s.child = startChild(t, []string{log}, "/usr/sbin/sshd", "-D", "-f", conf, "-E", log)
	waitForPort(t, s.child, s.Addr())
	return s
}

// Dial connects as user with the client key, checking the host key.
func (s *SSHD) Dial(t testing.TB, user string) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(s.ClientKey)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey),
		Timeout:         5 * time.Second,
	})
	if err != nil {
		t.Fatalf("ssh %s@%s: %v", user, s.Addr(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// writeKey makes an ed25519 key and writes its private half to path in
// OpenSSH's format, 0600.
func writeKey(t testing.TB, path string) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, pem.EncodeToMemory(block), 0o600)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// waitForPort waits until addr accepts connections, failing the test when
// the child exits or takes too long.
func waitForPort(t testing.TB, c *child, addr string) {
	t.Helper()
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return
		}
		select {
		case <-c.done:
			t.Fatalf("%s exited before %s answered:\n%s", c.name, addr, c.out)
		default:
		}
	}
	t.Fatalf("%s did not answer within %v", addr, startTimeout)
}
