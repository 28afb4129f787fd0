package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// drupalPlatform makes a platform of a Drupal fixture: the unpacked
// archive linked into a directory of the stack, with the platform's root
// at sub (web for a composer project), saved and verified.
func (s *stack) drupalPlatform(name, fixture, sub string) string {
	s.t.Helper()
	dir := filepath.Join(s.home, "platforms", name)
	if err := teststack.LinkTree(teststack.Fixture(s.t, fixture), dir); err != nil {
		s.t.Fatal(err)
	}
	root := filepath.Join(dir, sub)
	s.mustAegir("save", "@platform_"+name, "--context_type=platform", "--root="+root)
	s.mustTask("verify", "@platform_"+name)
	return root
}

// drupalVersion is what the lifecycle test needs to know of one major
// version of Drupal.
type drupalVersion struct {
	name, fixture, sub string
	profile            string // installed by the main site
	loginPath          string // a page every install serves, with the site name in its title
	// setName sets the site name (shown in every page's title) as the site's
	// own code would.
	setName func(s *stack, root, uri, name string)
	// drush is whether the platform ships drush (Drupal 8+ needs it).
	drush bool
}

// writePrivate writes a private file through Drupal (private://name).
func (v drupalVersion) writePrivate(s *stack, root, uri, name, content string) {
	s.t.Helper()
	code := fmt.Sprintf(`if (file_put_contents('private://%s', %q) === FALSE) { throw new Exception('not written'); }`, name, content)
	if v.drush {
		s.drush(root, uri, "php:eval", code)
		return
	}
	s.runSitePHP(root, uri, nil, d7Bootstrap+code+"\n")
}

// readPrivate reads a private file through Drupal.
func (v drupalVersion) readPrivate(s *stack, root, uri, name string) string {
	s.t.Helper()
	code := fmt.Sprintf(`echo file_get_contents('private://%s');`, name)
	if v.drush {
		return s.drush(root, uri, "php:eval", code)
	}
	return strings.TrimSpace(s.runSitePHP(root, uri, nil, d7Bootstrap+code+"\n"))
}

// d7Bootstrap bootstraps a Drupal 7 site fully, from its root.
const d7Bootstrap = "<?php\ndefine('DRUPAL_ROOT', getcwd());\n$_SERVER['REMOTE_ADDR'] = '127.0.0.1';\n$_SERVER['SCRIPT_NAME'] = '/index.php';\nrequire_once DRUPAL_ROOT . '/includes/bootstrap.inc';\ndrupal_bootstrap(DRUPAL_BOOTSTRAP_FULL);\n"

// assertPrivate checks that the private directory dir, outside the
// docroot, holds the file name with content.
func assertPrivate(t *testing.T, dir, name, content string) {
	t.Helper()
	if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != content {
		t.Fatalf("%s: %q, %v; want %q", filepath.Join(dir, name), got, err, content)
	}
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

var drupalVersions = []drupalVersion{
	{name: "drupal7", fixture: "drupal-7.105.tar.xz", sub: ".", profile: "standard", loginPath: "/user",
		setName: func(s *stack, root, uri, name string) {
			s.runSitePHP(root, uri, nil, fmt.Sprintf(`<?php
define('DRUPAL_ROOT', getcwd());
$_SERVER['REMOTE_ADDR'] = '127.0.0.1';
$_SERVER['SCRIPT_NAME'] = '/index.php';
require_once DRUPAL_ROOT . '/includes/bootstrap.inc';
drupal_bootstrap(DRUPAL_BOOTSTRAP_FULL);
variable_set('site_name', %q);
cache_clear_all();
`, name))
		}},
	{name: "drupal10", fixture: "drupal-10.6.12.tar.xz", sub: "web", profile: "standard", loginPath: "/user/login", drush: true,
		setName: func(s *stack, root, uri, name string) {
			s.drush(root, uri, "config:set", "system.site", "name", name, "--yes")
		}},
}

// drush runs the platform's drush for a site, with the site's cloaked
// credentials in the environment as aegir passes them.
func (s *stack) drush(root, uri string, args ...string) string {
	s.t.Helper()
	c := s.siteContext(uri)
	cmd := exec.Command(filepath.Join(filepath.Dir(root), "vendor", "bin", "drush"),
		append([]string{"--root=" + root, "--uri=" + s.url(uri, "")}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "db_type=mysql", "db_host=127.0.0.1", "db_port=3306",
		"db_name="+str(c["db_name"]), "db_user="+str(c["db_user"]), "db_passwd="+str(c["db_passwd"]))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("drush %v for %s: %v\n%s\n%s", args, uri, err, out.String(), errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// TestDrupalLifecycle takes a Drupal 7 and a Drupal 10 site, each from a
// real codebase, through install, the web server's rules, backup, restore,
// cron, login-reset, migrate, clone, disable and enable, delete and import,
// checking what each serves over HTTP.
func TestDrupalLifecycle(t *testing.T) {
	for _, v := range drupalVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			testDrupalLifecycle(t, v)
		})
	}
}

// TestDrupalOnApache serves a Drupal 7 and a Drupal 10 site through
// Apache: installed, served by their names, and the same rules as on
// nginx (private files, the installer, source files, PHP deeper down).
func TestDrupalOnApache(t *testing.T) {
	for _, v := range drupalVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			s := newStackOn(t, "apache")
			s.setup()
			root := s.drupalPlatform("a", v.fixture, v.sub)
			uri := "ap." + s.token + ".test"
			s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_a", "--profile=minimal")
			s.mustTask("install", "@"+uri)
			s.mustServe(s.url(uri, v.loginPath), "Log in")
			s.write(filepath.Join(root, "sites", uri, "private", "secret.txt"), "private-"+s.token)
			s.write(filepath.Join(root, "sites", uri, "files", "x.php"), "<?php echo 'ran-', '"+s.token+"';")
			for _, path := range []string{"/sites/" + uri + "/private/secret.txt", "/sites/" + uri + "/files/x.php",
				"/install.php", "/core/install.php", "/.htaccess", "/composer.json", "/modules/system/system.module"} {
				if code, body := s.get(s.url(uri, path)); code == 200 || strings.Contains(body, "private-"+s.token) || strings.Contains(body, "ran-"+s.token) {
					t.Errorf("GET %s = %d, want it refused", path, code)
				}
			}
		})
	}
}

func testDrupalLifecycle(t *testing.T, v drupalVersion) {
	s := newStack(t)
	s.setup()
	root := s.drupalPlatform("a", v.fixture, v.sub)
	root2 := s.drupalPlatform("b", v.fixture, v.sub)
	uri := "d." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_a", "--profile="+v.profile, "--aliases=www."+uri)
	r := s.mustTask("install", "@"+uri)
	link := str(r.Data["login_link"])
	if !strings.HasPrefix(link, s.url(uri, "/")) {
		t.Fatalf("login link %q is not on %s", link, s.url(uri, "/"))
	}
	s.mustServe(s.url(uri, v.loginPath), "Log in")
	s.mustServe(s.url("www."+uri, v.loginPath), "Log in")
	assertLoginLinkWorks(s, link)
	marker := "Marker " + s.token
	v.setName(s, root, uri, marker)
	s.mustServe(s.url(uri, v.loginPath), marker)
	if data, _ := os.ReadFile(filepath.Join(root, "sites", uri, "settings.php")); bytes.Contains(data, []byte(str(s.siteContext(uri)["db_passwd"]))) {
		t.Fatal("settings.php holds the database password")
	}

	// The private files and the config sync directory live outside the
	// docroot, at $AEGIR_HOME/private/<uri>: a file Drupal writes to
	// private:// lands there, and follows the site through every task.
	private := func(uri string) string { return filepath.Join(s.home, "private", uri) }
	secret := "private-" + s.token
	v.writePrivate(s, root, uri, "x.txt", secret)
	assertPrivate(t, private(uri), "x.txt", secret)
	for _, dir := range []string{filepath.Join(private(uri), "config", "sync"), filepath.Join(private(uri), "temp")} {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			t.Fatalf("%s: %v, want a directory outside the root", dir, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "sites", uri, "private")); !os.IsNotExist(err) {
		t.Fatalf("sites/%s/private is in the docroot: %v", uri, err)
	}

	t.Run("web server rules", func(t *testing.T) {
		s := s.with(t)
		s.write(filepath.Join(root, "sites", uri, "files", "public.txt"), "public-"+s.token)
		s.mustServe(s.url(uri, "/sites/"+uri+"/files/public.txt"), "public-"+s.token)
		for _, path := range []string{
			"/sites/" + uri + "/private/x.txt", "/system/files/x.txt", "/private/x.txt", // private files
			"/sites/" + uri + "/settings.php.bak", // hidden or backup copies
			"/.htaccess", "/sites/" + uri + "/.git/config",
			"/core/install.php", "/install.php", // the web installer
			"/core/core.services.yml", "/modules/system/system.module", "/composer.json",
		} {
			if code, body := s.get(s.url(uri, path)); code == 200 || strings.Contains(body, secret) {
				t.Errorf("GET %s = %d, want it refused", path, code)
			}
		}
		if v.drush {
			// Drupal's own rebuild.php runs (and refuses, with its
			// rebuild_access setting off, by redirecting to the front page).
			resp, err := s.client.Get(s.url(uri, "/core/rebuild.php"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Errorf("GET /core/rebuild.php = %d, want Drupal's redirect", resp.StatusCode)
			}
			// An image style derivative that does not exist yet is made by
			// Drupal on the first request.
			src, err := os.ReadFile(filepath.Join(root, "core", "misc", "druplicon.png"))
			if err != nil {
				t.Fatal(err)
			}
			s.write(filepath.Join(root, "sites", uri, "files", "logo.png"), string(src))
			url := s.drush(root, uri, "php:eval", `echo \Drupal\image\Entity\ImageStyle::load('thumbnail')->buildUrl('public://logo.png');`)
			// Drupal 10's standard profile converts its styles to WebP.
			code, body := s.get(url)
			if code != 200 || !(strings.HasPrefix(body, "\x89PNG") || strings.HasPrefix(body, "RIFF")) {
				t.Fatalf("GET %s = %d %.100q, want an image", url, code, body)
			}
			if made, _ := filepath.Glob(filepath.Join(root, "sites", uri, "files", "styles", "thumbnail", "public", "logo.png*")); len(made) == 0 {
				t.Fatal("no derivative written")
			}
		}
	})

	t.Run("backup, change, restore", func(t *testing.T) {
		s := s.with(t)
		r := s.mustTask("backup", "@"+uri)
		backup := str(r.Data["backup_file"])
		// The backup holds the private files where backups always had
		// them: private/ in the site directory.
		if out := s.mustRun(s.home, "tar", "-tzf", backup); !strings.Contains(out, "./private/x.txt") {
			t.Fatalf("the backup lacks ./private/x.txt:\n%s", out)
		}
		v.setName(s, root, uri, "Changed "+s.token)
		v.writePrivate(s, root, uri, "x.txt", "changed")
		s.mustServe(s.url(uri, v.loginPath), "Changed "+s.token)
		s.mustTask("restore", "@"+uri, backup)
		s.mustServe(s.url(uri, v.loginPath), marker)
		assertPrivate(t, private(uri), "x.txt", secret)
		if got := v.readPrivate(s, root, uri, "x.txt"); got != secret {
			t.Fatalf("Drupal reads private://x.txt as %q after the restore, want %q", got, secret)
		}
		if left, _ := filepath.Glob(private(uri) + ".old-*"); len(left) > 0 || fileExists(filepath.Join(root, "sites", uri, "private")) {
			t.Fatalf("the restore left %v, or a private directory in the root", left)
		}
	})

	t.Run("verify, cron, login-reset", func(t *testing.T) {
		s := s.with(t)
		s.mustTask("verify", "@"+uri)
		s.mustTask("cron", "@"+uri)
		link := str(s.mustTask("login-reset", "@"+uri).Data["login_link"])
		assertLoginLinkWorks(s, link)
	})

	t.Run("flush-cache, update-db", func(t *testing.T) {
		s := s.with(t)
		cached := func() string {
			if v.drush {
				return s.drush(root, uri, "php:eval", `$c = \Drupal::cache()->get('aegir_e2e'); echo $c ? $c->data : 'none';`)
			}
			return s.runSitePHP(root, uri, nil, "<?php\ndefine('DRUPAL_ROOT', getcwd());\n$_SERVER['REMOTE_ADDR'] = '127.0.0.1';\n$_SERVER['SCRIPT_NAME'] = '/index.php';\nrequire_once DRUPAL_ROOT . '/includes/bootstrap.inc';\ndrupal_bootstrap(DRUPAL_BOOTSTRAP_FULL);\n$c = cache_get('aegir_e2e');\necho $c ? $c->data : 'none';\n")
		}
		if v.drush {
			s.drush(root, uri, "php:eval", `\Drupal::cache()->set('aegir_e2e', 'cached');`)
		} else {
			s.runSitePHP(root, uri, nil, "<?php\ndefine('DRUPAL_ROOT', getcwd());\n$_SERVER['REMOTE_ADDR'] = '127.0.0.1';\n$_SERVER['SCRIPT_NAME'] = '/index.php';\nrequire_once DRUPAL_ROOT . '/includes/bootstrap.inc';\ndrupal_bootstrap(DRUPAL_BOOTSTRAP_FULL);\ncache_set('aegir_e2e', 'cached');\n")
		}
		if got := cached(); got != "cached" {
			t.Fatalf("cache entry before the flush: %q", got)
		}
		s.mustTask("flush-cache", "@"+uri)
		if got := cached(); got != "none" {
			t.Fatalf("cache entry after flush-cache: %q", got)
		}
		s.mustServe(s.url(uri, v.loginPath), marker)

		if v.drush {
			// A module of the site's own with an update that has not run.
			mod := filepath.Join(root, "sites", uri, "modules", "aegirt")
			s.write(filepath.Join(mod, "aegirt.info.yml"), "name: Aegir test\ntype: module\ncore_version_requirement: ^10\n")
			s.write(filepath.Join(mod, "aegirt.install"), "<?php\nfunction aegirt_update_10001() {\n  \\Drupal::state()->set('aegirt.updated', 'yes');\n}\n")
			s.drush(root, uri, "pm:install", "aegirt", "--yes")
			s.drush(root, uri, "php:eval", `\Drupal::service('update.update_hook_registry')->setInstalledVersion('aegirt', 10000);`)
		}
		r := s.mustTask("update-db", "@"+uri)
		if _, err := os.Stat(str(r.Data["backup_file"])); err != nil {
			t.Fatalf("update-db took no backup first: %v (%v)", err, r.Data)
		}
		if v.drush {
			if got := s.drush(root, uri, "php:eval", `echo \Drupal::state()->get('aegirt.updated', 'no'), ' ', \Drupal::service('update.update_hook_registry')->getInstalledVersion('aegirt');`); got != "yes 10001" {
				t.Fatalf("after update-db: %q, want the update run and schema 10001", got)
			}
			s.drush(root, uri, "pm:uninstall", "aegirt", "--yes")
			if err := os.RemoveAll(filepath.Join(root, "sites", uri, "modules")); err != nil {
				t.Fatal(err)
			}
		}
		s.mustServe(s.url(uri, v.loginPath), marker)
	})

	t.Run("migrate", func(t *testing.T) {
		s := s.with(t)
		oldDB := str(s.siteContext(uri)["db_name"])
		r := s.mustTask("migrate", "@"+uri, "@platform_b")
		if _, ok := r.Data["package_report"]; !ok {
			t.Fatalf("no package report in %v", r.Data)
		}
		s.mustServe(s.url(uri, v.loginPath), marker)
		s.mustServe(s.url("www."+uri, v.loginPath), marker)
		if _, err := os.Stat(filepath.Join(root, "sites", uri)); !os.IsNotExist(err) {
			t.Fatalf("old site directory left behind: %v", err)
		}
		if dbs, _ := s.databases(); slices.Contains(dbs, oldDB) {
			t.Fatalf("old database %s left behind", oldDB)
		}
		// Same name, same private directory.
		assertPrivate(t, private(uri), "x.txt", secret)
		if got := v.readPrivate(s, root2, uri, "x.txt"); got != secret {
			t.Fatalf("Drupal reads private://x.txt as %q after the migrate, want %q", got, secret)
		}
	})

	clone := "copy." + s.token + ".test"
	t.Run("clone", func(t *testing.T) {
		s := s.with(t)
		s.mustTask("clone", "@"+uri, clone)
		s.mustServe(s.url(clone, v.loginPath), marker)
		// The clone has a copy of its own.
		assertPrivate(t, private(clone), "x.txt", secret)
		v.writePrivate(s, root2, clone, "x.txt", "clone's")
		assertPrivate(t, private(uri), "x.txt", secret)
		v.setName(s, root2, clone, "Clone only "+s.token)
		s.mustServe(s.url(clone, v.loginPath), "Clone only "+s.token)
		s.mustServe(s.url(uri, v.loginPath), marker)
		// The clone's settings trust its own name, not the original's.
		settings, _ := os.ReadFile(filepath.Join(root2, "sites", clone, "settings.php"))
		if v.drush && (!bytes.Contains(settings, []byte(strings.ReplaceAll(clone, ".", `\\.`))) || bytes.Contains(settings, []byte("www"))) {
			t.Fatalf("clone settings:\n%s", settings)
		}
	})

	t.Run("disable and enable", func(t *testing.T) {
		s := s.with(t)
		s.mustTask("disable", "@"+uri)
		if code, body := s.get(s.url(uri, v.loginPath)); code != 503 || !strings.Contains(body, "disabled") {
			t.Fatalf("disabled site answered %d:\n%.300s", code, body)
		}
		s.mustTask("enable", "@"+uri)
		s.mustServe(s.url(uri, v.loginPath), marker)
	})

	t.Run("refuses to migrate to older code", func(t *testing.T) {
		s := s.with(t)
		// Platform c is a copy whose core says it is one release older: every
		// core module would be downgraded.
		dirC := filepath.Join(s.home, "platforms", "c")
		if err := teststack.LinkTree(teststack.Fixture(t, v.fixture), dirC); err != nil {
			t.Fatal(err)
		}
		rootC := filepath.Join(dirC, v.sub)
		versionFile, decl := filepath.Join(rootC, "core", "lib", "Drupal.php"), "const VERSION = '"
		if !v.drush {
			versionFile, decl = filepath.Join(rootC, "includes", "bootstrap.inc"), "define('VERSION', '"
		}
		code, err := os.ReadFile(versionFile)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(code, []byte(decl))
		if i < 0 {
			t.Fatalf("no %q in %s", decl, versionFile)
		}
		old := code[i+len(decl) : i+len(decl)+bytes.IndexByte(code[i+len(decl):], '\'')]
		older := append(bytes.Clone(code[:i+len(decl)]), []byte(string(old[:bytes.LastIndexByte(old, '.')])+".1")...)
		older = append(older, code[i+len(decl)+len(old):]...)
		// A new file, not a write into the one linked to the fixture.
		if err := os.Remove(versionFile); err != nil {
			t.Fatal(err)
		}
		s.write(versionFile, string(older))
		s.mustAegir("save", "@platform_c", "--context_type=platform", "--root="+rootC)
		s.mustTask("verify", "@platform_c")
		r, err := s.task("migrate", "@"+uri, "@platform_c")
		if err == nil || !strings.Contains(fmt.Sprint(r.Log), "downgrade") {
			t.Fatalf("migrate to older code: %v %+v", err, r.Log)
		}
		s.mustServe(s.url(uri, v.loginPath), marker)
		if str(s.siteContext(uri)["platform"]) != "@platform_b" {
			t.Fatal("the refused migrate moved the site")
		}
	})

	t.Run("import", func(t *testing.T) {
		s := s.with(t)
		// A site made behind aegir's back, with its credentials written in
		// its own settings.php, as sites made before aegir are.
		foreign := "old." + s.token + ".test"
		creds := teststack.TempDatabase(t, "old"+s.token)
		dir := filepath.Join(root2, "sites", foreign)
		// Its private files where sites made before aegir keep them.
		s.write(filepath.Join(dir, "private", "old.txt"), "old-"+s.token)
		if v.drush {
			s.mustRun(root2, filepath.Join(filepath.Dir(root2), "vendor", "bin", "drush"), "--root="+root2, "--uri="+s.url(foreign, ""), "--yes",
				"site:install", "minimal", "--sites-subdir="+foreign, "--site-name=Foreign "+s.token,
				fmt.Sprintf("--db-url=mysql://%s:%s@127.0.0.1:3306/%s", creds.User, creds.Password, creds.Name))
		} else {
			dump, err := exec.Command("mysqldump", "-h127.0.0.1", "-uroot", str(s.siteContext(uri)["db_name"])).Output()
			if err != nil {
				t.Fatal(err)
			}
			load := exec.Command("mysql", "-h127.0.0.1", "-uroot", creds.Name)
			load.Stdin = bytes.NewReader(dump)
			if out, err := load.CombinedOutput(); err != nil {
				t.Fatalf("load: %v %s", err, out)
			}
			s.write(filepath.Join(dir, "settings.php"), fmt.Sprintf("<?php\n$databases['default']['default'] = array('driver' => 'mysql', 'database' => '%s', 'username' => '%s', 'password' => '%s', 'host' => '127.0.0.1', 'port' => '3306', 'prefix' => '');\n$drupal_hash_salt = 'foreign-salt';\n", creds.Name, creds.User, creds.Password))
			s.mustRun(root2, "mysql", "-h127.0.0.1", "-uroot", creds.Name, "-e", "UPDATE variable SET value = '"+phpSerialized("Foreign "+s.token)+"' WHERE name = 'site_name'; DELETE FROM cache; DELETE FROM cache_page; DELETE FROM cache_bootstrap;")
		}
		r := s.mustTask("verify", "@platform_b")
		if sites, _ := r.Data["sites"].([]any); !slices.Contains(sites, any(foreign)) {
			t.Fatalf("platform verify did not find %s: %v", foreign, r.Data["sites"])
		}
		s.mustAegir("save", "@"+foreign, "--context_type=site", "--platform=@platform_b")
		r = s.mustTask("import", "@"+foreign)
		if r.Data["db_name"] != creds.Name {
			t.Fatalf("import read database %v, want %s", r.Data["db_name"], creds.Name)
		}
		s.mustServe(s.url(foreign, v.loginPath), "Foreign "+s.token)
		assertPrivate(t, private(foreign), "old.txt", "old-"+s.token)
		if fileExists(filepath.Join(dir, "private")) {
			t.Fatal("the import left the private directory in the root")
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "settings.php")); bytes.Contains(data, []byte(creds.Password)) {
			t.Fatal("the imported site's settings still hold its password")
		}
		s.mustTask("verify", "@"+foreign)
		s.mustTask("backup", "@"+foreign)
	})

	t.Run("delete", func(t *testing.T) {
		s := s.with(t)
		db := str(s.siteContext(clone)["db_name"])
		s.mustTask("delete", "@"+clone)
		if dbs, _ := s.databases(); slices.Contains(dbs, db) {
			t.Fatalf("database %s left", db)
		}
		if _, err := os.Stat(filepath.Join(root2, "sites", clone)); !os.IsNotExist(err) {
			t.Fatal("site directory left")
		}
		if fileExists(private(clone)) {
			t.Fatal("private directory left")
		}
		assertPrivate(t, private(uri), "x.txt", secret)
		if code, _ := s.get(s.url(clone, v.loginPath)); code != 404 {
			t.Fatalf("deleted site answers %d", code)
		}
		s.mustServe(s.url(uri, v.loginPath), marker)
	})
}

// mustRun runs a command in dir and fails the test when it fails.
func (s *stack) mustRun(dir string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return string(out)
}

// phpSerialized is a string as PHP's serialize() writes it.
func phpSerialized(v string) string {
	return fmt.Sprintf("s:%d:\"%s\";", len(v), v)
}

// assertLoginLinkWorks follows a one-time login link and expects a session.
func assertLoginLinkWorks(s *stack, link string) {
	s.t.Helper()
	client := *s.client
	client.Jar = nil // the test's other requests stay anonymous
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(link)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	cookie := ""
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "SESS") || strings.HasPrefix(c.Name, "SSESS") {
			cookie = c.Name
		}
	}
	if resp.StatusCode/100 != 3 || cookie == "" {
		s.t.Fatalf("login link %s answered %d with cookies %v, want a redirect with a session", link, resp.StatusCode, resp.Cookies())
	}
}
