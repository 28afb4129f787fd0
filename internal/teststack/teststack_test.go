package teststack_test

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/phpapp"
)

func TestServeSitesPassesParamsToTheFrontController(t *testing.T) {
	t.Parallel()
	root := teststack.WebDir(t)
	files := map[string]string{
		"index.php":   `<?php echo "site=", $_SERVER['AEGIR_SITE'], " db=", $_SERVER['db_name'], " uri=", $_SERVER['REQUEST_URI'];`,
		"static.txt":  "static\n",
		"sub/a.html":  "in sub\n",
		"sub/x/.keep": "",
	}
	teststack.WriteFiles(t, root, files)
	port := teststack.FreePort(t)
	db := &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "adb", User: "a", Password: "secret"}
	site := &aegir.AppSite{URI: "a.test", Aliases: []string{"www.a.test"}, Root: root, DB: db}
	teststack.ServeSites(t, port, phpapp.New(aegir.Env{}), site)
	c := teststack.HostClient(port)
	for _, tt := range []struct{ url, want string }{
		{"http://a.test/", "site=a.test db=adb uri=/"},
		{"http://www.a.test/some/page?x=1", "site=a.test db=adb uri=/some/page?x=1"},
		{"http://a.test/static.txt", "static\n"},
		{"http://a.test/sub/a.html", "in sub\n"},
	} {
		resp, err := c.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != tt.want {
			t.Errorf("GET %s: %d %q, want 200 %q", tt.url, resp.StatusCode, body, tt.want)
		}
	}
}

func TestStartNginxReloadsItsConfD(t *testing.T) {
	t.Parallel()
	n := teststack.StartNginx(t)
	port := teststack.FreePort(t)
	conf := "server { listen 127.0.0.1:" + strconv.Itoa(port) + "; return 200 \"reloaded\"; }\n"
	if err := os.WriteFile(filepath.Join(n.ConfD, "test.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{n.TestCmd(), n.ReloadCmd()} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd, err, out)
		}
	}
	c := teststack.HostClient(port)
	var body []byte
	for range 100 {
		resp, err := c.Get("http://any.test/")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) == "reloaded" {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the reloaded nginx answered %q", body)
}

func TestCopyAndLinkTreeFollowLinksAndSkipDanglingOnes(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "linked.txt"), []byte("linked"), 0o640))
	must(os.Mkdir(filepath.Join(src, "dir"), 0o750))
	must(os.WriteFile(filepath.Join(src, "dir", "file.php"), []byte("<?php"), 0o644))
	must(os.Symlink(filepath.Join(outside, "linked.txt"), filepath.Join(src, "dir", "link.txt")))
	must(os.Symlink(outside, filepath.Join(src, "linkdir")))
	must(os.Symlink(filepath.Join(outside, "missing"), filepath.Join(src, "dangling")))

	for _, tt := range []struct {
		name   string
		copy   func(src, dst string) error
		linked bool
	}{{"CopyTree", teststack.CopyTree, false}, {"LinkTree", teststack.LinkTree, true}} {
		dst := filepath.Join(t.TempDir(), "new", "platform")
		if err := tt.copy(src, dst); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for path, want := range map[string]string{"dir/file.php": "<?php", "dir/link.txt": "linked", "linkdir/linked.txt": "linked"} {
			full := filepath.Join(dst, path)
			if b, err := os.ReadFile(full); err != nil || string(b) != want {
				t.Errorf("%s: %s = %q, %v; want %q", tt.name, path, b, err, want)
			}
			if fi, err := os.Lstat(full); err == nil && !fi.Mode().IsRegular() {
				t.Errorf("%s: %s is %v, want a regular file", tt.name, path, fi.Mode())
			}
		}
		if fi, err := os.Stat(filepath.Join(dst, "dir")); err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("%s: dir is %v, %v; want mode 0750", tt.name, fi.Mode(), err)
		}
		if fi, err := os.Stat(filepath.Join(dst, "dir", "link.txt")); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: link.txt is %v, %v; want mode 0640", tt.name, fi.Mode(), err)
		}
		if _, err := os.Lstat(filepath.Join(dst, "dangling")); !os.IsNotExist(err) {
			t.Errorf("%s: the dangling link was copied: %v", tt.name, err)
		}
		orig, _ := os.Stat(filepath.Join(src, "dir", "file.php"))
		got, _ := os.Stat(filepath.Join(dst, "dir", "file.php"))
		if same := os.SameFile(orig, got); same != tt.linked {
			t.Errorf("%s: the copy is the original: %v, want %v", tt.name, same, tt.linked)
		}
	}
}

func TestTempDatabaseIsDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("create", func(t *testing.T) {
		creds := teststack.TempDatabase(t, "aegir_ts_")
		name = creds.Name
		if _, err := teststack.RootDB(t).Exec("CREATE TABLE `" + name + "`.t (id INT)"); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" {
		t.FailNow()
	}
	var n int
	db := teststack.RootDB(t)
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s: %d left (%v)", name, n, err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE user = ?", name).Scan(&n); err != nil || n != 0 {
		t.Errorf("user %s: %d left (%v)", name, n, err)
	}
}

func TestSSHD(t *testing.T) {
	t.Parallel()
	s := teststack.StartSSHD(t)
	c := s.Dial(t, "root")
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("id -un")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "root" {
		t.Errorf("id -un = %q, want root", got)
	}
	// OpenSSH's own client reads the known_hosts file and the key file.
	cmd := exec.Command("ssh", "-i", s.ClientKeyFile, "-p", strconv.Itoa(s.Port), "-o", "UserKnownHostsFile="+s.KnownHosts,
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "root@"+s.Host, "echo", "ok")
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("ssh: %v: %s", err, out)
	}
	s.Stop()
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Error("a stopped sshd still accepts connections")
	}
}
