package ssh_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/ssh"
	xssh "golang.org/x/crypto/ssh"
)

// setup starts a private sshd and returns a pool that logs in to it with
// its client key, the host key pinned in a known_hosts of the test's own.
func setup(t *testing.T) (*ssh.Pool, ssh.Target, *teststack.SSHD) {
	t.Helper()
	d := teststack.StartSSHD(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	data, err := os.ReadFile(d.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kh, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &ssh.Pool{KeyFile: d.ClientKeyFile, KnownHosts: kh, Local: &local.Runner{}, ConnectTimeout: 3 * time.Second}
	t.Cleanup(func() { p.Close() })
	return p, ssh.Target{Name: "server_web1", Host: d.Host, Port: d.Port, User: "root"}, d
}

func TestRunnerRunsArgumentVectorsOnOneSharedConnection(t *testing.T) {
	t.Parallel()
	p, tg, d := setup(t)
	r := p.Runner(tg)
	ctx := context.Background()

	args := []string{"a b", "'", "$(id)", "`id`", "x\ny", ";", "*"}
	out, err := r.Run(ctx, aegir.Command{Args: append([]string{"printf", `%s\0`}, args...)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"); strings.Join(got, "|") != strings.Join(args, "|") {
		t.Errorf("arguments arrived as %q, want %q", got, args)
	}

	dir := t.TempDir()
	out, err = r.Run(ctx, aegir.Command{Dir: dir, Env: []string{"GREETING=it's me"}, Stdin: strings.NewReader("from stdin"),
		Args: []string{"sh", "-c", `printf '%s|%s|' "$PWD" "$GREETING"; cat`}})
	if err != nil {
		t.Fatal(err)
	}
	if want := dir + "|it's me|from stdin"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}

	var streamed bytes.Buffer
	if _, err := r.Run(ctx, aegir.Command{Args: []string{"seq", "3"}, Stdout: &streamed}); err != nil || streamed.String() != "1\n2\n3\n" {
		t.Errorf("streamed %q, %v", streamed.String(), err)
	}

	_, err = r.Run(ctx, aegir.Command{Args: []string{"sh", "-c", "echo 'error: it broke' >&2; exit 3"}})
	if err == nil || !strings.Contains(err.Error(), "server_web1") || !strings.Contains(err.Error(), "it broke") {
		t.Errorf("a failing command gave %v, want an error naming the server and carrying its stderr", err)
	}

	// Parallel sessions share the one connection: sshd accepts one login.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Run(ctx, aegir.Command{Args: []string{"sleep", "0.2"}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	log, _ := os.ReadFile(filepath.Join(d.Dir, "sshd.log"))
	if n := strings.Count(string(log), "Accepted publickey"); n != 1 {
		t.Errorf("sshd accepted %d logins, want 1 shared connection:\n%s", n, log)
	}
}

func TestRunnerDialsAgainAfterTheConnectionDrops(t *testing.T) {
	t.Parallel()
	p, tg, _ := setup(t)
	r := p.Runner(tg)
	ctx := context.Background()
	if _, err := r.Run(ctx, aegir.Command{Args: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	// The pooled connection goes away under the pool, as on a network drop.
	ssh.BreakConnection(p, tg)
	if out, err := r.Run(ctx, aegir.Command{Args: []string{"echo", "back"}}); err != nil || string(out) != "back\n" {
		t.Fatalf("after a drop: %q, %v", out, err)
	}
}

func TestChangedHostKeyIsRefusedNamingBothFingerprints(t *testing.T) {
	t.Parallel()
	p, tg, d := setup(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := xssh.NewSignerFromKey(other)
	line := "[" + d.Host + "]:" + itoa(d.Port) + " " + string(xssh.MarshalAuthorizedKey(otherSigner.PublicKey()))
	if err := os.WriteFile(p.KnownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := p.Runner(tg).Run(context.Background(), aegir.Command{Args: []string{"true"}})
	for _, want := range []string{"server_web1", "host key changed", xssh.FingerprintSHA256(otherSigner.PublicKey()), xssh.FingerprintSHA256(d.HostKey)} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error holding %q", err, want)
		}
	}
	// Learning (bootstrap) refuses a changed key too.
	signer, _ := ssh.LoadKey(d.ClientKeyFile)
	if _, err := ssh.Dial(context.Background(), tg, signer, p.KnownHosts, true, time.Second*3); err == nil || !strings.Contains(err.Error(), "host key changed") {
		t.Errorf("learning over a changed key: %v", err)
	}
}

func TestUnknownHostIsLearnedOnlyAtBootstrap(t *testing.T) {
	t.Parallel()
	p, tg, d := setup(t)
	if err := os.WriteFile(p.KnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := p.Runner(tg).Run(context.Background(), aegir.Command{Args: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "not pinned") || !strings.Contains(err.Error(), "aegir bootstrap @server_web1") {
		t.Fatalf("unknown host: %v", err)
	}
	signer, _ := ssh.LoadKey(d.ClientKeyFile)
	c, err := ssh.Dial(context.Background(), tg, signer, p.KnownHosts, true, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := p.Runner(tg).Run(context.Background(), aegir.Command{Args: []string{"true"}}); err != nil {
		t.Fatalf("after learning: %v", err)
	}
	// OpenSSH reads the learned pin too (rsync goes through it).
	if err := p.Push(context.Background(), tg, t.TempDir(), filepath.Join(t.TempDir(), "copy"), nil); err != nil {
		t.Fatalf("rsync with the learned pin: %v", err)
	}
}

func TestUnreachableServerFailsFastNamingIt(t *testing.T) {
	t.Parallel()
	p, tg, _ := setup(t)
	p.ConnectTimeout = time.Second
	// A port that accepts and never speaks SSH: the handshake times out.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := tg
	silent.Name, silent.Port = "server_silent", l.Addr().(*net.TCPAddr).Port
	closed := tg
	closed.Name, closed.Port = "server_down", teststack.FreePort(t)
	for _, target := range []ssh.Target{silent, closed} {
		_, err := p.Runner(target).Run(context.Background(), aegir.Command{Args: []string{"true"}})
		if err == nil || !strings.Contains(err.Error(), target.Name) || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("%s: got %v, want an error naming it unreachable", target.Name, err)
		}
		err = p.Push(context.Background(), target, t.TempDir(), "/tmp/x", nil)
		if err == nil || !strings.Contains(err.Error(), target.Name) {
			t.Errorf("%s: push gave %v, want an error naming it", target.Name, err)
		}
	}
}

func TestCommandTimeoutEndsTheCommand(t *testing.T) {
	t.Parallel()
	p, tg, _ := setup(t)
	p.CommandTimeout = 500 * time.Millisecond
	_, err := p.Runner(tg).Run(context.Background(), aegir.Command{Args: []string{"sleep", "60"}})
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("got %v, want the command timeout", err)
	}
	p.CommandTimeout = 0
	if _, err := p.Runner(tg).Run(context.Background(), aegir.Command{Args: []string{"true"}}); err != nil {
		t.Fatalf("the connection after a timeout: %v", err)
	}
}

func TestPushKeepsTheRemotesOwnFilesAndFetchBringsThemBack(t *testing.T) {
	t.Parallel()
	p, tg, _ := setup(t)
	ctx := context.Background()
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "platform")
	write := func(path, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(src+"/index.php", "<?php echo 1;")
	write(src+"/old.php", "gone soon")
	write(src+"/sites/a.example/files/local-only.txt", "not sent")
	exclude := []string{"/sites/*/files", "/sites/*/private"}
	if err := p.Push(ctx, tg, src, dst, exclude); err != nil {
		t.Fatal(err)
	}
	write(dst+"/sites/a.example/files/upload.jpg", "uploaded on the web server")
	os.Remove(src + "/old.php")
	if err := p.Push(ctx, tg, src, dst, exclude); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/index.php": "<?php echo 1;", "/sites/a.example/files/upload.jpg": "uploaded on the web server"} {
		if got, err := os.ReadFile(dst + path); err != nil || string(got) != want {
			t.Errorf("remote %s: %q, %v", path, got, err)
		}
	}
	for _, path := range []string{"/old.php", "/sites/a.example/files/local-only.txt"} {
		if _, err := os.Stat(dst + path); err == nil {
			t.Errorf("remote %s exists", path)
		}
	}
	back := t.TempDir()
	if err := p.Fetch(ctx, tg, dst+"/sites/a.example/files", back, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(back + "/upload.jpg"); err != nil || string(got) != "uploaded on the web server" {
		t.Errorf("fetched upload: %q, %v", got, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
