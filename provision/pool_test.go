package provision_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/siteuser"
	"github.com/aegir-hosting/aegir/tarball"
)

// probePHP is a page of the platform that tries, as the PHP of the site it
// is asked through, to read or write a path, and says who it runs as.
const probePHP = `<?php
$who = function_exists('posix_geteuid') ? posix_getpwuid(posix_geteuid())['name'] : '?';
$path = $_GET['path'] ?? '';
switch ($_GET['op'] ?? '') {
case 'read':
	$ok = @file_get_contents($path) !== false;
	break;
case 'write':
	$ok = @file_put_contents($path, "probe\n") !== false;
	break;
case 'list':
	$ok = @scandir($path) !== false;
	break;
default:
	$ok = true;
}
echo "user=$who ", $ok ? "allowed" : "denied", "\n";
`

// newPoolStack is a webStack on nginx or Apache (kind) whose php-fpm
// includes the pools aegir writes, and whose back end creates site users
// in-process (the test runs as root).
func newPoolStack(t *testing.T, kind string) (*webStack, *teststack.PHPFPM) {
	t.Helper()
	if os.Geteuid() != 0 {
		teststack.Missing(t, "per-site pools need root: the test's php-fpm master runs pools as site users")
	}
	teststack.Require(t, "php-fpm8.2", "useradd")
	var s *webStack
	// Registered before php-fpm starts, so it runs once php-fpm has
	// stopped: userdel refuses a user whose processes still run.
	t.Cleanup(func() {
		for _, prefix := range []string{"a", "b", "c", "a2"} {
			siteuser.Local{}.Remove(context.Background(), aegir.SiteUser(s.site(prefix)))
		}
	})
	dir := teststack.WebDir(t)
	s = &webStack{
		t: t, kind: kind, paths: aegir.Paths{Home: filepath.Join(dir, "aegir")},
		httpPort: teststack.FreePort(t), httpsPort: teststack.FreePort(t), token: "p" + teststack.RandomHex(t, 4),
	}
	fpm := teststack.StartPHPFPMWithPools(t, s.paths.PHPPoolDir(aegir.MasterServer))
	s.store = contextfile.New(s.paths)
	s.backend = &provision.Backend{Paths: s.paths, Contexts: s.store, Runner: &local.Runner{}, Archiver: &tarball.Archiver{}, SiteUsers: siteuser.Local{}}
	t.Cleanup(s.dropDatabases)

	props := map[string]string{
		"http_service_type": kind, "http_port": fmt.Sprint(s.httpPort), "https_port": fmt.Sprint(s.httpsPort),
		"php_fpm_socket": fpm.Socket, "master_db": "mysql://root:@127.0.0.1:3306", "web_group": "www-data",
		"php_fpm_test_cmd": strings.Join(fpm.TestCmd(), " "), "php_fpm_reload_cmd": strings.Join(fpm.ReloadCmd(), " "),
	}
	switch kind {
	case aegir.ServiceNginx:
		n := teststack.StartNginx(t)
		props["http_test_cmd"], props["http_restart_cmd"] = strings.Join(n.TestCmd(), " "), strings.Join(n.ReloadCmd(), " ")
		props["http_conf_link"] = filepath.Join(n.ConfD, "aegir.conf")
	case aegir.ServiceApache:
		a := teststack.StartApache(t)
		props["http_test_cmd"], props["http_restart_cmd"] = strings.Join(a.TestCmd(), " "), strings.Join(a.RestartCmd(), " ")
		props["http_conf_link"] = filepath.Join(a.ConfD, "aegir.conf")
	}
	s.save("@server_master", aegir.ServerContext, props)
	s.mustRun(aegir.TaskVerify, "@server_master", nil)

	root := filepath.Join(s.paths.Platforms(), "p")
	teststack.WriteFiles(t, root, map[string]string{"index.php": indexPHP, "probe.php": probePHP})
	s.save("@platform_p", aegir.PlatformContext, map[string]string{"root": root})
	s.mustRun(aegir.TaskVerify, "@platform_p", nil)
	return s, fpm
}

// installSite installs a php site named after prefix (a, b, c or a2,
// whose Unix users newPoolStack removes when the test ends).
func (s *webStack) installSite(prefix string) string {
	s.t.Helper()
	site := s.site(prefix)
	s.save("@"+site, aegir.SiteContext, map[string]string{"platform": "@platform_p", "db_server": "@server_master"})
	s.mustRun(aegir.TaskInstall, "@"+site, nil)
	return site
}

// probe asks probe.php through site to do op on path and returns its answer.
func (s *webStack) probe(site, op, path string) string {
	s.t.Helper()
	u := fmt.Sprintf("http://%s:%d/probe.php?op=%s&path=%s", site, s.httpPort, op, url.QueryEscape(path))
	return expect(s.t, u, nil, 200, "user=").body
}

func (s *webStack) siteDir(site string) string {
	return filepath.Join(s.paths.Platforms(), "p", "sites", site)
}

// TestASitesPHPCannotReachAnotherSiteNorAegir proves per-site pools: two
// sites installed in the shared pool (where A reads B's settings), moved to
// pools of their own by a verify once the server has them; then A's PHP,
// requested over HTTP, runs as A's user, reads and writes its own
// directory, and can neither read B's settings, write B's files, nor read
// $AEGIR_HOME's contexts. A failed install takes its pool and user away;
// deleting B removes its pool and its user.
func TestASitesPHPCannotReachAnotherSiteNorAegir(t *testing.T) {
	for _, kind := range []string{aegir.ServiceNginx, aegir.ServiceApache} {
		t.Run(kind, func(t *testing.T) { testASitesPHPCannotReachAnotherSiteNorAegir(t, kind) })
	}
}

func testASitesPHPCannotReachAnotherSiteNorAegir(t *testing.T, kind string) {
	s, _ := newPoolStack(t, kind)
	a, b := s.installSite("a"), s.installSite("b")
	bSettings := filepath.Join(s.siteDir(b), "settings.php")
	if got := s.probe(a, "read", bSettings); !strings.Contains(got, "user=www-data allowed") {
		t.Fatalf("in the shared pool, A reading B's settings: %s (want: allowed, as www-data)", got)
	}

	s.save("@server_master", aegir.ServerContext, map[string]string{"php_fpm_pools": "true"})
	// A verify of the server keeps the sites in the shared pool, still
	// serving, until their own verify gives them theirs.
	s.mustRun(aegir.TaskVerify, "@server_master", nil)
	if got := s.probe(a, "read", bSettings); !strings.Contains(got, "user=www-data allowed") {
		t.Fatalf("after the server's verify, before the site's: %s", got)
	}
	// A verify that fails after the pool step leaves the site serving
	// from the shared pool, as it was.
	if r, err := s.backend.Run(context.Background(), aegir.TaskVerify, "@"+a, aegir.TaskOptions{FailAt: "settings"}); err == nil {
		t.Fatalf("verify @%s with --fail_at=settings succeeded:\n%s", a, logText(r))
	}
	if got := s.probe(a, "write", filepath.Join(s.siteDir(a), "files", "rolled-back.txt")); !strings.Contains(got, "user=www-data allowed") {
		t.Fatalf("after a failed verify, A writing its files: %s (want: allowed, as www-data in the shared pool)", got)
	}
	for _, site := range []string{a, b} {
		r := s.mustRun(aegir.TaskVerify, "@"+site, nil)
		if !strings.Contains(logText(r), "in its own php-fpm pool") {
			t.Errorf("verify @%s did not move it to its own pool:\n%s", site, logText(r))
		}
	}
	userA := aegir.SiteUser(a)
	if _, err := user.Lookup(userA); err != nil {
		t.Fatalf("no user %s for %s: %v", userA, a, err)
	}

	cases := []struct {
		what, op, path, want string
	}{
		{"A reads its own settings", "read", filepath.Join(s.siteDir(a), "settings.php"), "allowed"},
		{"A writes its own files", "write", filepath.Join(s.siteDir(a), "files", "upload.txt"), "allowed"},
		{"A writes its own temp dir", "write", filepath.Join(s.siteDir(a), "private", "temp", "t.txt"), "allowed"},
		{"A reads B's settings", "read", bSettings, "denied"},
		{"A lists B's directory", "list", s.siteDir(b), "denied"},
		{"A writes B's files", "write", filepath.Join(s.siteDir(b), "files", "evil.txt"), "denied"},
		{"A writes B's private files", "write", filepath.Join(s.siteDir(b), "private", "evil.txt"), "denied"},
		{"A reads its own context", "read", filepath.Join(s.paths.Contexts(), a+".yml"), "denied"},
		{"A reads the server's context", "read", filepath.Join(s.paths.Contexts(), aegir.MasterServer+".yml"), "denied"},
		{"A lists $AEGIR_HOME's contexts", "list", s.paths.Contexts(), "denied"},
		{"A writes the platform's code", "write", filepath.Join(s.paths.Platforms(), "p", "index.php"), "denied"},
	}
	for _, c := range cases {
		got := s.probe(a, c.op, c.path)
		if want := "user=" + userA + " " + c.want; !strings.Contains(got, want) {
			t.Errorf("%s: %s, want %q", c.what, strings.TrimSpace(got), want)
		}
	}
	if _, err := os.Stat(filepath.Join(s.siteDir(b), "files", "evil.txt")); err == nil {
		t.Error("A's PHP wrote a file into B's files")
	}
	// The site's own handler does not make its uploads runnable.
	if err := os.WriteFile(filepath.Join(s.siteDir(a), "files", "upload.php"), []byte("<?php echo 'ran';\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := fetch(fmt.Sprintf("http://%s:%d/sites/%s/files/upload.php", a, s.httpPort, a), nil); err != nil || got.status == 200 || strings.Contains(got.body, "ran") {
		t.Errorf("an upload ran as PHP: %v (%v)", got, err)
	}
	// B still serves, as its own user.
	if got := s.probe(b, "read", bSettings); !strings.Contains(got, "user="+aegir.SiteUser(b)+" allowed") {
		t.Errorf("B reading its own settings: %s", got)
	}

	// An install that fails after its pool takes the pool and the new
	// user away again.
	c := s.site("c")
	s.save("@"+c, aegir.SiteContext, map[string]string{"platform": "@platform_p", "db_server": "@server_master"})
	if r, err := s.backend.Run(context.Background(), aegir.TaskInstall, "@"+c, aegir.TaskOptions{FailAt: "vhost"}); err == nil {
		t.Fatalf("install @%s with --fail_at=vhost succeeded:\n%s", c, logText(r))
	}
	if _, err := os.Stat(filepath.Join(s.paths.PHPPoolDir(aegir.MasterServer), aegir.SiteUser(c)+".conf")); err == nil {
		t.Error("a failed install left its pool")
	}
	if _, err := user.Lookup(aegir.SiteUser(c)); err == nil {
		t.Error("a failed install left its user")
	}

	s.mustRun(aegir.TaskDelete, "@"+b, nil)
	if _, err := os.Stat(filepath.Join(s.paths.PHPPoolDir(aegir.MasterServer), aegir.SiteUser(b)+".conf")); err == nil {
		t.Error("delete left B's pool")
	}
	if _, err := user.Lookup(aegir.SiteUser(b)); err == nil {
		t.Error("delete left B's user")
	}
	// A is untouched by B's removal.
	if got := s.probe(a, "read", filepath.Join(s.siteDir(a), "settings.php")); !strings.Contains(got, "allowed") {
		t.Errorf("A after B's delete: %s", got)
	}
}

// TestClonedRenamedAndRestoredSitesKeepPoolsOfTheirOwn: with pools on from
// the start, a clone runs as its own user and neither it nor the original
// reads the other's settings; a migrate under a new name moves the site to
// the new name's user and pool and removes the old pool and user; a
// restore, and a disable and enable, keep the site in its pool.
func TestClonedRenamedAndRestoredSitesKeepPoolsOfTheirOwn(t *testing.T) {
	s, _ := newPoolStack(t, aegir.ServiceNginx)
	s.save("@server_master", aegir.ServerContext, map[string]string{"php_fpm_pools": "true"})
	a := s.installSite("a")
	c := s.site("c")
	s.mustRun(aegir.TaskClone, "@"+a, map[string]string{"new_uri": c})

	aSettings, cSettings := filepath.Join(s.siteDir(a), "settings.php"), filepath.Join(s.siteDir(c), "settings.php")
	for _, tc := range []struct{ site, path, want string }{
		{a, aSettings, aegir.SiteUser(a) + " allowed"},
		{a, cSettings, aegir.SiteUser(a) + " denied"},
		{c, cSettings, aegir.SiteUser(c) + " allowed"},
		{c, aSettings, aegir.SiteUser(c) + " denied"},
	} {
		if got := s.probe(tc.site, "read", tc.path); !strings.Contains(got, "user="+tc.want) {
			t.Errorf("%s reading %s: %s, want %q", tc.site, tc.path, strings.TrimSpace(got), tc.want)
		}
	}

	a2 := s.site("a2")
	s.mustRun(aegir.TaskMigrate, "@"+a, map[string]string{"platform": "@platform_p", "new_uri": a2})
	poolDir := s.paths.PHPPoolDir(aegir.MasterServer)
	if _, err := os.Stat(filepath.Join(poolDir, aegir.SiteUser(a)+".conf")); err == nil {
		t.Error("the renamed site's old pool is still there")
	}
	if _, err := user.Lookup(aegir.SiteUser(a)); err == nil {
		t.Error("the renamed site's old user is still there")
	}
	a2Settings := filepath.Join(s.siteDir(a2), "settings.php")
	if got := s.probe(a2, "read", a2Settings); !strings.Contains(got, "user="+aegir.SiteUser(a2)+" allowed") {
		t.Errorf("%s after the rename: %s", a2, got)
	}
	if got := s.probe(c, "read", a2Settings); !strings.Contains(got, "denied") {
		t.Errorf("the clone reading the renamed site's settings: %s", got)
	}

	s.mustRun(aegir.TaskBackup, "@"+a2, nil)
	backups, _ := filepath.Glob(filepath.Join(s.paths.Backups(), a2+"-*.tar.*"))
	var archive string
	for _, b := range backups {
		if !strings.HasSuffix(b, ".sha256") {
			archive = b
		}
	}
	if archive == "" {
		t.Fatalf("no backup of %s in %v", a2, backups)
	}
	s.mustRun(aegir.TaskRestore, "@"+a2, map[string]string{"file": archive})
	if got := s.probe(a2, "write", filepath.Join(s.siteDir(a2), "files", "after-restore.txt")); !strings.Contains(got, "user="+aegir.SiteUser(a2)+" allowed") {
		t.Errorf("%s writing its files after a restore: %s", a2, got)
	}
	if got := s.probe(c, "read", a2Settings); !strings.Contains(got, "denied") {
		t.Errorf("the clone reading the restored site's settings: %s", got)
	}

	s.mustRun(aegir.TaskDisable, "@"+a2, nil)
	s.mustRun(aegir.TaskEnable, "@"+a2, nil)
	if got := s.probe(a2, "read", a2Settings); !strings.Contains(got, "user="+aegir.SiteUser(a2)+" allowed") {
		t.Errorf("%s after disable and enable: %s", a2, got)
	}
}

// TestAWordPressSiteServesFromItsOwnPool installs a WordPress site on a
// server with per-site pools: its pages and its login page are served by
// its own pool, under open_basedir and its own temporary directory.
func TestAWordPressSiteServesFromItsOwnPool(t *testing.T) {
	teststack.Require(t, "php")
	s, fpm := newPoolStack(t, aegir.ServiceNginx)
	s.save("@server_master", aegir.ServerContext, map[string]string{"php_fpm_pools": "true"})
	root := filepath.Join(s.paths.Platforms(), "wp")
	if err := teststack.LinkTree("/usr/share/wordpress", root); err != nil {
		teststack.Missing(t, "no WordPress codebase: %v", err)
	}
	s.save("@platform_wp", aegir.PlatformContext, map[string]string{"root": root})
	s.mustRun(aegir.TaskVerify, "@platform_wp", nil)
	site := s.site("a")
	s.save("@"+site, aegir.SiteContext, map[string]string{"platform": "@platform_wp", "db_server": "@server_master"})
	s.mustRun(aegir.TaskInstall, "@"+site, nil)

	base := fmt.Sprintf("http://%s:%d", site, s.httpPort)
	expect(t, base+"/", nil, 200, "</html>")
	expect(t, base+"/wp-login.php", nil, 200, "user_login")
	log, _ := os.ReadFile(fpm.Log)
	if strings.Contains(string(log), "open_basedir restriction in effect") {
		t.Errorf("WordPress hit open_basedir:\n%s", log)
	}
	pool, err := os.ReadFile(filepath.Join(s.paths.PHPPoolDir(aegir.MasterServer), aegir.SiteUser(site)+".conf"))
	if err != nil || !strings.Contains(string(pool), "user = "+aegir.SiteUser(site)) {
		t.Errorf("the site's pool: %v\n%s", err, pool)
	}
}

// TestVerifyRemovesThePoolsAndUsersOfRenamingTasksThatDied: with pools
// on, a clone stopped after its copy had a pool and a Unix user of its own
// (before its context) is undone by the verify of the original, which
// removes that pool and user with the copy; a migrate under a new name
// stopped before its cleanup (the new name's context in place, the old
// one's gone) is finished by the verify of the new name, which removes the
// old name's Unix user. Each time the site serves from its own pool.
func TestVerifyRemovesThePoolsAndUsersOfRenamingTasksThatDied(t *testing.T) {
	s, _ := newPoolStack(t, aegir.ServiceNginx)
	s.save("@server_master", aegir.ServerContext, map[string]string{"php_fpm_pools": "true"})
	a := s.installSite("a")
	poolDir := s.paths.PHPPoolDir(aegir.MasterServer)
	crash := func(task, name, at string, args map[string]string) {
		t.Helper()
		r, err := s.backend.Run(context.Background(), task, name, aegir.TaskOptions{Args: args, CrashAt: at})
		if err == nil || !strings.Contains(err.Error(), "crash-at") {
			t.Fatalf("%s %s did not stop at %s: %v\n%s", task, name, at, err, logText(r))
		}
	}
	has := func(site string) (pool, unixUser bool) {
		_, perr := os.Stat(filepath.Join(poolDir, aegir.SiteUser(site)+".conf"))
		_, uerr := user.Lookup(aegir.SiteUser(site))
		return perr == nil, uerr == nil
	}

	c := s.site("c")
	crash(aegir.TaskClone, "@"+a, "context", map[string]string{"new_uri": c})
	if pool, u := has(c); !pool || !u {
		t.Fatalf("the stopped clone left no pool (%v) or no user (%v) of its copy to undo", pool, u)
	}
	s.mustRun(aegir.TaskVerify, "@"+a, nil)
	if pool, u := has(c); pool || u {
		t.Errorf("after the verify, the copy's pool (%v) or user (%v) is still there", pool, u)
	}
	if _, err := os.Stat(s.siteDir(c)); err == nil {
		t.Errorf("the copy's directory %s is still there", s.siteDir(c))
	}
	aSettings := filepath.Join(s.siteDir(a), "settings.php")
	if got := s.probe(a, "read", aSettings); !strings.Contains(got, "user="+aegir.SiteUser(a)+" allowed") {
		t.Errorf("%s after the verify: %s", a, got)
	}

	a2 := s.site("a2")
	crash(aegir.TaskMigrate, "@"+a, "remove old copy", map[string]string{"platform": "@platform_p", "new_uri": a2})
	if _, u := has(a); !u {
		t.Fatal("the stopped migrate left no old user to remove")
	}
	s.mustRun(aegir.TaskVerify, "@"+a2, nil)
	if pool, u := has(a); pool || u {
		t.Errorf("after the verify, the old name's pool (%v) or user (%v) is still there", pool, u)
	}
	a2Settings := filepath.Join(s.siteDir(a2), "settings.php")
	if got := s.probe(a2, "read", a2Settings); !strings.Contains(got, "user="+aegir.SiteUser(a2)+" allowed") {
		t.Errorf("%s after the verify: %s", a2, got)
	}
}
