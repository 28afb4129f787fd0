package provision_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/tarball"

	_ "github.com/aegir-hosting/aegir/drupal"
)

// TestKilledDrupalTasksLeaveThePrivateFilesInOnePlace installs a Drupal 7
// site, whose private files live outside the root, and stops a restore
// after its copy took the site's place, and a migrate to a new name after
// its commit point, as kill -9 would. The verify that follows each puts
// the private files of the site, as they were, in the site's private
// directory, and nowhere else where a site could take them.
func TestKilledDrupalTasksLeaveThePrivateFilesInOnePlace(t *testing.T) {
	t.Parallel()
	teststack.Require(t, "php")
	s := newWebStack(t, aegir.ServiceNginx)
	s.backend.Archiver = &tarball.Archiver{}
	for _, p := range []string{"d7a", "d7b"} {
		root := filepath.Join(s.paths.Platforms(), p)
		if err := teststack.LinkTree(teststack.Fixture(t, "drupal-7.105.tar.xz"), root); err != nil {
			t.Fatal(err)
		}
		s.save("@platform_"+p, aegir.PlatformContext, map[string]string{"root": root})
		s.mustRun(aegir.TaskVerify, "@platform_"+p, nil)
	}
	uri := s.site("priv")
	s.save("@"+uri, aegir.SiteContext, map[string]string{"platform": "@platform_d7a", "profile": "minimal"})
	s.mustRun(aegir.TaskInstall, "@"+uri, nil)
	private := s.paths.SitePrivate(uri)
	inRoot := filepath.Join(s.paths.Platforms(), "d7a", "sites", uri, "private")
	if _, err := os.Lstat(inRoot); err == nil {
		t.Fatalf("%s is in the root", inRoot)
	}
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(private, "x.txt"), []byte(content), 0o660); err != nil {
			t.Fatal(err)
		}
	}
	has := func(dir, content string) {
		t.Helper()
		if got, err := os.ReadFile(filepath.Join(dir, "x.txt")); err != nil || string(got) != content {
			t.Fatalf("%s/x.txt: %q, %v; want %q", dir, got, err, content)
		}
	}
	crash := func(task, name, step string, args map[string]string) {
		t.Helper()
		r, err := s.backend.Run(context.Background(), task, name, aegir.TaskOptions{Args: args, CrashAt: step})
		if err == nil || !strings.Contains(err.Error(), "crash-at") {
			t.Fatalf("%s did not stop before %q: %v\n%s", task, step, err, logText(r))
		}
	}
	write("backed up")
	backup := aegir.PartOf[aegir.BackupMade](s.mustRun(aegir.TaskBackup, "@"+uri, nil).Data).File
	write("now")

	// A restore stopped once the backup's copy is in place, private files
	// included: the verify puts back the site's own.
	crash(aegir.TaskRestore, "@"+uri, "context", map[string]string{"file": backup})
	has(private, "backed up")
	s.mustRun(aegir.TaskVerify, "@"+uri, nil)
	has(private, "now")
	if left, _ := filepath.Glob(private + ".old-*"); len(left) > 0 {
		t.Fatalf("left %v", left)
	}
	// The restore then goes through, and the backup's private files with it.
	s.mustRun(aegir.TaskRestore, "@"+uri, map[string]string{"file": backup})
	has(private, "backed up")

	// A migrate to a new name stopped past its commit point: the verify
	// of the new name finishes it, and the old name's private directory
	// goes aside with its site directory.
	newURI := s.site("moved")
	crash(aegir.TaskMigrate, "@"+uri, "remove old copy", map[string]string{"platform": "@platform_d7b", "new_uri": newURI})
	s.mustRun(aegir.TaskVerify, "@"+newURI, nil)
	has(s.paths.SitePrivate(newURI), "backed up")
	for _, gone := range []string{private, private + ".old-*", filepath.Join(s.paths.Platforms(), "d7b", "sites", newURI, "private")} {
		if left, _ := filepath.Glob(gone); len(left) > 0 {
			t.Errorf("left %v", left)
		}
	}
}

// TestADrupalSiteWritesItsPrivateDirFromItsOwnPool installs a Drupal 7
// site with per-site pools on: its private directory outside the root is
// its user's group, 02770, in its pool's open_basedir with temp/ as the
// pool's temporary directory, and its PHP, requested over HTTP, writes
// there and reads nothing of another site's private directory.
func TestADrupalSiteWritesItsPrivateDirFromItsOwnPool(t *testing.T) {
	teststack.Require(t, "php")
	s, _ := newPoolStack(t, aegir.ServiceNginx)
	s.save("@server_master", aegir.ServerContext, map[string]string{"php_fpm_pools": "true"})
	root := filepath.Join(s.paths.Platforms(), "d7")
	if err := teststack.LinkTree(teststack.Fixture(t, "drupal-7.105.tar.xz"), root); err != nil {
		t.Fatal(err)
	}
	teststack.WriteFiles(t, root, map[string]string{"probe.php": probePHP})
	s.save("@platform_d7", aegir.PlatformContext, map[string]string{"root": root})
	s.mustRun(aegir.TaskVerify, "@platform_d7", nil)
	var private []string
	for _, prefix := range []string{"a", "b"} {
		site := s.site(prefix)
		s.save("@"+site, aegir.SiteContext, map[string]string{"platform": "@platform_d7", "db_server": "@server_master", "profile": "minimal"})
		s.mustRun(aegir.TaskInstall, "@"+site, nil)
		private = append(private, s.paths.SitePrivate(site))
	}
	site, user := s.site("a"), aegir.SiteUser(s.site("a"))
	expect(t, fmt.Sprintf("http://%s:%d/user", site, s.httpPort), nil, 200, "Log in")

	st, err := os.Stat(private[0])
	if err != nil {
		t.Fatal(err)
	}
	g, err := userGroup(user)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&(os.ModePerm|os.ModeSetgid) != 0o770|os.ModeSetgid || int(st.Sys().(*syscall.Stat_t).Gid) != g {
		t.Errorf("%s: mode %v, group %d; want 02770, group %s", private[0], st.Mode(), st.Sys().(*syscall.Stat_t).Gid, user)
	}
	pool, err := os.ReadFile(filepath.Join(s.paths.PHPPoolDir(aegir.MasterServer), user+".conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{":" + private[0] + "/:", `upload_tmp_dir] = "` + private[0] + `/temp"`} {
		if !strings.Contains(string(pool), want) {
			t.Errorf("the pool lacks %s:\n%s", want, pool)
		}
	}
	probe := func(op, path string) string {
		return expect(t, fmt.Sprintf("http://%s:%d/probe.php?op=%s&path=%s", site, s.httpPort, op, url.QueryEscape(path)), nil, 200, "user=").body
	}
	if got := probe("write", filepath.Join(private[0], "x.txt")); !strings.Contains(got, "user="+user+" allowed") {
		t.Errorf("writing its private directory: %s", got)
	}
	if got := probe("write", filepath.Join(private[0], "temp", "t.txt")); !strings.Contains(got, "allowed") {
		t.Errorf("writing its temp directory: %s", got)
	}
	for _, path := range []string{filepath.Join(private[1], "config"), s.paths.Private()} {
		if got := probe("list", path); !strings.Contains(got, "denied") {
			t.Errorf("listing %s: %s", path, got)
		}
	}
}

func userGroup(name string) (int, error) {
	g, err := osuser.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}
