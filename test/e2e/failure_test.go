package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestInstallFailureLeavesNothingBehind proves install's rollback on two
// natural failures: a db server that does not answer, and a codebase whose
// installer dies. Neither leaves a database, user, vhost or site directory.
func TestInstallFailureLeavesNothingBehind(t *testing.T) {
	s := newStack(t)
	s.setup()
	root := s.platform("wp", "/usr/share/wordpress")
	vhosts := filepath.Join(s.home, "config", "server_master", "nginx", "vhost.d")

	t.Run("db server unreachable", func(t *testing.T) {
		s.mustAegir("save", "@server_deaddb", "--context_type=server", "--http_service_type=null",
			fmt.Sprintf("--master_db=mysql://root:@127.0.0.1:%d", teststack.FreePort(t)))
		uri := "dead." + s.token + ".test"
		s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp", "--db_server=@server_deaddb")
		r, err := s.task("install", "@"+uri)
		if err == nil || r.Status != "failed" {
			t.Fatalf("install on a dead db server: err %v, status %s", err, r.Status)
		}
		if !strings.Contains(fmt.Sprint(r.Log), "127.0.0.1") {
			t.Fatalf("the log does not name the db server: %+v", r.Log)
		}
		assertNoSite(t, s, root, vhosts, uri)
	})

	t.Run("installer fails", func(t *testing.T) {
		broken := s.platform("broken", "/usr/share/wordpress")
		// A codebase whose installer cannot load: wp-settings.php dies.
		if err := os.WriteFile(filepath.Join(broken, "wp-settings.php"), []byte("<?php\nthrow new Exception('broken codebase');\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		uri := "brk." + s.token + ".test"
		s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_broken")
		r, err := s.task("install", "@"+uri)
		if err == nil || r.Status != "failed" {
			t.Fatalf("install on a broken codebase: err %v, status %s", err, r.Status)
		}
		if !strings.Contains(fmt.Sprint(r.Log), "broken codebase") {
			t.Fatalf("the log does not carry the installer's error: %+v", r.Log)
		}
		assertNoSite(t, s, broken, vhosts, uri)
	})

	t.Run("failure injected at each step", func(t *testing.T) {
		for _, step := range []string{"site directory", "database", "settings", "permissions", "app install", "vhost", "context"} {
			uri := "inj." + s.token + ".test"
			s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
			if _, err := s.task("install", "@"+uri, "--fail_at", step); err == nil {
				t.Fatalf("install with a failure at %q succeeded", step)
			}
			assertNoSite(t, s, root, vhosts, uri)
			if out := s.mustAegir("show", "@"+uri); strings.Contains(out, "status") || strings.Contains(out, "db_name") {
				t.Fatalf("failure at %q left the context changed:\n%s", step, out)
			}
			s.mustAegir("save", "@"+uri, "--delete")
		}
	})
}

func assertNoSite(t *testing.T, s *stack, root, vhosts, uri string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "sites", uri)); !os.IsNotExist(err) {
		t.Errorf("site directory of %s left behind (%v)", uri, err)
	}
	if _, err := os.Stat(filepath.Join(vhosts, uri+".conf")); !os.IsNotExist(err) {
		t.Errorf("vhost of %s left behind (%v)", uri, err)
	}
	label := strings.SplitN(uri, ".", 2)[0]
	dbs, users := s.databases()
	for _, name := range append(dbs, users...) {
		if strings.HasPrefix(name, label) {
			t.Errorf("database or user %s of %s left behind", name, uri)
		}
	}
}

// TestVhostFailingTheConfigTestIsNotApplied shows a vhost nginx rejects
// never reaches the running server: the task fails with nginx's message,
// the previous vhost stays, and every site keeps serving.
func TestVhostFailingTheConfigTestIsNotApplied(t *testing.T) {
	s := newStack(t)
	s.setup()
	s.platform("wp", "/usr/share/wordpress")
	a, b := "a."+s.token+".test", "b."+s.token+".test"
	for _, uri := range []string{a, b} {
		s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
		s.mustTask("install", "@"+uri)
	}
	vhost := filepath.Join(s.home, "config", "server_master", "nginx", "vhost.d", a+".conf")
	before, err := os.ReadFile(vhost)
	if err != nil {
		t.Fatal(err)
	}
	// A valid domain name longer than nginx's server name hash bucket.
	long := strings.Repeat("x", 60) + "." + strings.Repeat("y", 60) + "." + strings.Repeat("z", 60) + "." + s.token + ".test"
	s.mustAegir("save", "@"+a, "--aliases="+long)
	r, err := s.task("verify", "@"+a)
	if err == nil {
		t.Fatal("verify with a vhost nginx rejects succeeded")
	}
	if !strings.Contains(fmt.Sprint(r.Log), "server_names_hash") {
		t.Fatalf("the log does not carry nginx's message: %+v", r.Log)
	}
	if after, _ := os.ReadFile(vhost); string(after) != string(before) {
		t.Fatalf("the rejected vhost was left in place:\n%s", after)
	}
	for _, uri := range []string{a, b} {
		if code, body := s.get(s.url(uri, "/")); code != 200 || !strings.Contains(body, uri) {
			t.Fatalf("GET %s = %d after the rejected vhost", uri, code)
		}
	}
}
