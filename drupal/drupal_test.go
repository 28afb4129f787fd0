package drupal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/drupal"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func newApp(t *testing.T, runnerEnv ...string) aegir.App {
	t.Helper()
	app, err := aegir.NewApp("drupal", aegir.Env{Runner: &local.Runner{Env: runnerEnv}, Log: aegir.NewTaskLog(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestDetectDrupalVersions(t *testing.T) {
	t.Parallel()
	d6 := t.TempDir()
	teststack.WriteFiles(t, d6, map[string]string{
		"includes/bootstrap.inc":        "<?php\n// Drupal 6 declares its version elsewhere.\n",
		"modules/system/system.module":  "<?php\ndefine('VERSION', '6.38');\n",
		"index.php":                     "<?php\n",
		"sites/default/settings.php":    "<?php\n",
		"sites/all/modules/README.txt":  "",
		"profiles/default/default.info": "",
	})
	notSeven := t.TempDir()
	teststack.WriteFiles(t, notSeven, map[string]string{"includes/bootstrap.inc": "<?php\ndefine('VERSION', '5.23');\n"})
	tests := []struct {
		name, root, version string
		ok                  bool
	}{
		{"drupal 7", "testdata/d7", "7.99", true},
		{"drupal 8+", "testdata/d8", "10.2.3", true},
		{"drupal 6", d6, "", false},
		{"other bootstrap.inc", notSeven, "", false},
		{"empty", t.TempDir(), "", false},
		{"missing", filepath.Join(t.TempDir(), "nothing"), "", false},
	}
	app := newApp(t)
	for _, tt := range tests {
		version, ok := app.Detect(tt.root)
		if version != tt.version || ok != tt.ok {
			t.Errorf("%s: Detect = %q, %v; want %q, %v", tt.name, version, ok, tt.version, tt.ok)
		}
	}
}

func TestDrupalDetectedBeforeGenericPHP(t *testing.T) {
	t.Parallel()
	name, _, version, err := aegir.DetectApp("testdata/d8", aegir.Env{})
	if err != nil || name != "drupal" || version != "10.2.3" {
		t.Errorf("DetectApp(testdata/d8) = %q, %q, %v; want drupal 10.2.3", name, version, err)
	}
}

func TestPackagesDrupal7(t *testing.T) {
	t.Parallel()
	got, err := newApp(t).Packages(context.Background(), "testdata/d7")
	if err != nil {
		t.Fatal(err)
	}
	want := []aegir.Package{
		{Name: "drupal", Type: "core", Version: "7.99"},
		{Name: "intranet", Type: "profile", Version: "7.x-2.1", Schema: 7201, Path: "profiles/intranet"},
		{Name: "standard", Type: "profile", Version: "7.99", Path: "profiles/standard"},
		{Name: "block", Type: "module", Version: "7.99", Path: "modules/block"},
		{Name: "field", Type: "module", Version: "7.99", Path: "modules/field"},
		{Name: "intranet_news", Type: "module", Version: "7.x-2.1", Path: "profiles/intranet/modules/intranet_news"},
		{Name: "node", Type: "module", Version: "7.99", Schema: 7015, Path: "modules/node"},
		{Name: "profile", Type: "module", Version: "7.99", Path: "modules/profile"},
		{Name: "simpletest", Type: "module", Version: "7.99", Path: "modules/simpletest"},
		{Name: "text", Type: "module", Version: "7.99", Schema: 7000, Path: "modules/field/modules/text"},
		{Name: "views", Type: "module", Version: "7.x-3.24", Schema: 7301, Path: "sites/all/modules/views"},
		{Name: "views_ui", Type: "module", Version: "7.x-3.24", Path: "sites/all/modules/views"},
		{Name: "bartik", Type: "theme", Version: "7.99", Path: "themes/bartik"},
		{Name: "intranet_theme", Type: "theme", Version: "7.x-2.1", Path: "profiles/intranet/themes/intranet_theme"},
		{Name: "zen", Type: "theme", Version: "7.x-5.6", Path: "sites/all/themes/zen"},
		{Name: "zen_sub", Type: "theme", Path: "sites/all/themes/zen/zen_sub"},
	}
	comparePackages(t, got, want)
}

func TestPackagesDrupal8(t *testing.T) {
	t.Parallel()
	got, err := newApp(t).Packages(context.Background(), "testdata/d8")
	if err != nil {
		t.Fatal(err)
	}
	// Drupal 8+ records 8000 for a module or profile with no update of its own.
	want := []aegir.Package{
		{Name: "drupal", Type: "core", Version: "10.2.3"},
		{Name: "acme", Type: "profile", Version: "1.2.0", Schema: 8000, Path: "profiles/acme"},
		{Name: "demo_umami", Type: "profile", Version: "10.2.3", Schema: 8000, Path: "core/profiles/demo_umami"},
		{Name: "standard", Type: "profile", Version: "10.2.3", Schema: 8000, Path: "core/profiles/standard"},
		{Name: "config", Type: "module", Version: "10.2.3", Schema: 8000, Path: "core/modules/config"},
		{Name: "demo_umami_content", Type: "module", Version: "10.2.3", Schema: 8000, Path: "core/profiles/demo_umami/modules/demo_umami_content"},
		{Name: "mymodule", Type: "module", Schema: 8000, Path: "modules/custom/mymodule"},
		{Name: "node", Type: "module", Version: "10.2.3", Schema: 10101, Path: "core/modules/node"},
		{Name: "system", Type: "module", Version: "10.2.3", Schema: 8000, Path: "core/modules/system"},
		{Name: "token", Type: "module", Version: "8.x-1.13", Schema: 8002, Path: "modules/contrib/token"},
		{Name: "gin", Type: "theme", Version: "3.0.0", Path: "themes/contrib/gin"},
		{Name: "olivero", Type: "theme", Version: "10.2.3", Path: "core/themes/olivero"},
	}
	comparePackages(t, got, want)
}

func comparePackages(t *testing.T, got, want []aegir.Package) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	t.Errorf("packages:\n%s\nwant:\n%s", g, w)
}

func TestPackagesOfNoDrupalIsAnError(t *testing.T) {
	t.Parallel()
	_, err := newApp(t).Packages(context.Background(), t.TempDir())
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("Packages of an empty directory: %v, want an EINVALID error", err)
	}
}

// platform copies the detection file of a fixture into a fresh root, with
// the given files.
func platform(t *testing.T, fixture string, extra map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for _, rel := range []string{"includes/bootstrap.inc", "core/lib/Drupal.php"} {
		if b, err := os.ReadFile(filepath.Join("testdata", fixture, rel)); err == nil {
			teststack.WriteFiles(t, root, map[string]string{rel: string(b)})
		}
	}
	teststack.WriteFiles(t, root, extra)
	return root
}

func site(root, uri string, aliases ...string) *aegir.AppSite {
	return &aegir.AppSite{
		URI: uri, Aliases: aliases, URL: "http://" + uri, Root: root,
		SiteDir: filepath.Join(root, "sites", uri), Profile: "standard", Language: "en",
		DB: &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "examplecom", User: "examplecom", Password: "pa55-w0rd-never-written"},
	}
}

// The sites.php of a platform with other sites on it, and a stale line of
// the site under test.
const otherSites = `<?php
// Hand-written by the platform's owner.
$sites['old.example.com'] = 'example.com';
$sites['blog.example.net'] = 'example.net';
$sites['8080.shop.example.net'] = 'shop.example.net';

$sites["double.example.net"] = "example.net";
`

func TestWriteSettingsGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ fixture, salt string }{
		{"d7", "$drupal_hash_salt = 'kept-salt-of-the-old-d7-settings';"},
		{"d8", "$settings['hash_salt'] = 'kept-salt-of-the-old-d8-settings';"},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			root := platform(t, tt.fixture, map[string]string{
				"sites/example.com/settings.php": "<?php\n// Written by the installer.\n" + tt.salt + "\n",
				"sites/sites.php":                otherSites,
			})
			s := site(root, "example.com", "www.example.com", "example.org")
			s.Custom = aegir.Custom{"cheesy": "cheddar", "quote": "it's"}
			s.SettingsIncludes = []string{"/var/aegir/config/includes/global.inc"}
			app := newApp(t)
			if err := app.WriteSettings(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(s.SiteDir, "settings.php")
			settings := golden(t, path, "settings"+tt.fixture[1:]+".php.golden")
			if bytes.Contains(settings, []byte(s.DB.Password)) {
				t.Errorf("settings.php holds the database password")
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o440 {
				t.Errorf("settings.php mode %v (%v), want 0440", st.Mode(), err)
			}
			golden(t, filepath.Join(root, "sites", "sites.php"), "sites"+tt.fixture[1:]+".php.golden")
			phpLint(t, path, filepath.Join(root, "sites", "sites.php"))
		})
	}
}

// golden compares the file at path with testdata/name, or rewrites the
// latter with -update.
func golden(t *testing.T, path, name string) []byte {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(want, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, w) {
		t.Errorf("%s differs from %s:\n%s", path, want, got)
	}
	return got
}

func phpLint(t *testing.T, paths ...string) {
	t.Helper()
	if _, err := exec.LookPath("php"); err != nil {
		t.Log("no php: syntax not checked")
		return
	}
	for _, p := range paths {
		if out, err := exec.Command("php", "-l", p).CombinedOutput(); err != nil {
			t.Errorf("php -l %s: %v: %s", p, err, out)
		}
	}
}

// TestSettingsReadCloakedCredentials runs the settings files in PHP, with
// the credentials given the way php-fpm gives them ($_SERVER, from FastCGI
// parameters) and the way aegir's command-line runs do (environment).
func TestSettingsReadCloakedCredentials(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("php"); err != nil {
		teststack.Missing(t, "php is not installed")
	}
	helper, err := filepath.Abs("testdata/dump_settings.php")
	if err != nil {
		t.Fatal(err)
	}
	for _, fixture := range []string{"d7", "d8"} {
		root := platform(t, fixture, nil)
		s := site(root, "example.com", "www.example.com")
		if err := newApp(t).WriteSettings(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		params := map[string]string{}
		for _, p := range s.DB.Params() {
			params[p.Name] = p.Value
		}
		raw, _ := json.Marshal(params)
		for _, mode := range []string{"env", "server"} {
			cmd := exec.Command("php", helper, filepath.Join(s.SiteDir, "settings.php"), mode)
			cmd.Env = os.Environ()
			if mode == "env" {
				cmd.Env = append(cmd.Env, s.DB.Env()...)
			}
			cmd.Stdin = bytes.NewReader(raw)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s %s: %v: %s", fixture, mode, err, out)
			}
			var got struct {
				Databases map[string]map[string]map[string]any `json:"databases"`
				Conf      map[string]any                       `json:"conf"`
				Settings  map[string]any                       `json:"settings"`
				Salt      any                                  `json:"drupal_hash_salt"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s %s: %v: %s", fixture, mode, err, out)
			}
			db := got.Databases["default"]["default"]
			for key, want := range map[string]string{
				"driver": "mysql", "database": "examplecom", "username": "examplecom",
				"password": "pa55-w0rd-never-written", "host": "127.0.0.1", "port": "3306",
			} {
				if db[key] != want {
					t.Errorf("%s %s: $databases[default][default][%s] = %v, want %s", fixture, mode, key, db[key], want)
				}
			}
			files := got.Conf
			if fixture == "d8" {
				files = got.Settings
				if got.Settings["config_sync_directory"] != "sites/example.com/private/config/sync" {
					t.Errorf("d8: config_sync_directory = %v", got.Settings["config_sync_directory"])
				}
				if s, _ := got.Settings["hash_salt"].(string); len(s) != 43 {
					t.Errorf("d8: hash_salt = %v, want 43 random characters", got.Settings["hash_salt"])
				}
			} else if s, _ := got.Salt.(string); len(s) != 43 {
				t.Errorf("d7: drupal_hash_salt = %v, want 43 random characters", got.Salt)
			}
			for key, want := range map[string]string{
				"file_public_path":  "sites/example.com/files",
				"file_private_path": "sites/example.com/private",
			} {
				if files[key] != want {
					t.Errorf("%s %s: %s = %v, want %s", fixture, mode, key, files[key], want)
				}
			}
		}
	}
}

func TestWriteSettingsKeepsSaltAndReplacesReadOnlyFile(t *testing.T) {
	t.Parallel()
	root := platform(t, "d7", nil)
	app := newApp(t)
	ctx := context.Background()
	a, b := site(root, "a.example.com"), site(root, "b.example.com")
	salt := regexp.MustCompile(`\$drupal_hash_salt = '([^']+)';`)
	read := func(s *aegir.AppSite) string {
		t.Helper()
		content, err := os.ReadFile(filepath.Join(s.SiteDir, "settings.php"))
		if err != nil {
			t.Fatal(err)
		}
		m := salt.FindStringSubmatch(string(content))
		if m == nil {
			t.Fatalf("no salt in %s", content)
		}
		return m[1]
	}
	for _, s := range []*aegir.AppSite{a, b} {
		if err := app.WriteSettings(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	first := read(a)
	if first == read(b) {
		t.Error("two sites got the same hash salt")
	}
	if err := app.WriteSettings(ctx, a); err != nil {
		t.Fatalf("rewriting a 0440 settings.php: %v", err)
	}
	if again := read(a); again != first {
		t.Errorf("salt changed on rewrite: %s, then %s", first, again)
	}
	entries, _ := os.ReadDir(a.SiteDir)
	for _, e := range entries {
		if e.Name() != "settings.php" {
			t.Errorf("stray file %s in the site directory", e.Name())
		}
	}
}

func TestSitesPHPKeepsOtherSites(t *testing.T) {
	t.Parallel()
	root := platform(t, "d7", map[string]string{"sites/sites.php": otherSites})
	app := newApp(t)
	ctx := context.Background()
	sitesPHP := filepath.Join(root, "sites", "sites.php")

	// The site takes over blog.example.net from example.net, and loses
	// old.example.com.
	s := site(root, "example.com", "www.example.com", "blog.example.net")
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := `<?php
// Hand-written by the platform's owner.
$sites['8080.shop.example.net'] = 'shop.example.net';

$sites["double.example.net"] = "example.net";
$sites['www.example.com'] = 'example.com';
$sites['blog.example.net'] = 'example.com';
`
	if got, _ := os.ReadFile(sitesPHP); string(got) != want {
		t.Errorf("sites.php:\n%s\nwant:\n%s", got, want)
	}
	phpLint(t, sitesPHP)

	if err := drupal.RemoveAliases(root, "example.com"); err != nil {
		t.Fatal(err)
	}
	want = `<?php
// Hand-written by the platform's owner.
$sites['8080.shop.example.net'] = 'shop.example.net';

$sites["double.example.net"] = "example.net";
`
	if got, _ := os.ReadFile(sitesPHP); string(got) != want {
		t.Errorf("sites.php after RemoveAliases:\n%s\nwant:\n%s", got, want)
	}
	if err := drupal.RemoveAliases(root, "../etc"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("RemoveAliases of a bad uri: %v", err)
	}
}

func TestWriteSettingsRefusesBadNames(t *testing.T) {
	t.Parallel()
	root := platform(t, "d7", nil)
	app := newApp(t)
	for _, s := range []*aegir.AppSite{
		{URI: "../../etc", Root: root},
		{URI: "example.com", Aliases: []string{"x'];system('id');//"}, Root: root},
		{URI: "example.com", Root: "relative/root"},
	} {
		if err := app.WriteSettings(context.Background(), s); err == nil {
			t.Errorf("WriteSettings(%+v) succeeded", s)
		}
	}
}

func TestVerifyPlatformWritesSitesPHPForDrupal8(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	ctx := context.Background()
	d8 := platform(t, "d8", nil)
	if err := app.VerifyPlatform(ctx, d8); err != nil {
		t.Fatal(err)
	}
	phpLint(t, filepath.Join(d8, "sites", "sites.php"))
	// A second verify keeps the file as it is.
	teststack.WriteFiles(t, d8, map[string]string{"sites/sites.php": otherSites})
	if err := app.VerifyPlatform(ctx, d8); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(d8, "sites", "sites.php")); string(got) != otherSites {
		t.Errorf("verify changed sites.php:\n%s", got)
	}

	d7 := platform(t, "d7", nil)
	if err := app.VerifyPlatform(ctx, d7); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d7, "sites")); err != nil {
		t.Errorf("no sites/ after verify: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d7, "sites", "sites.php")); err == nil {
		t.Error("verify wrote sites.php on Drupal 7, which does not need it")
	}
	if err := app.VerifyPlatform(ctx, t.TempDir()); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("VerifyPlatform of a non-Drupal root: %v", err)
	}
}

func TestInstallNeedsADatabase(t *testing.T) {
	t.Parallel()
	root := platform(t, "d7", nil)
	s := site(root, "example.com")
	s.DB = nil
	err := newApp(t).Install(context.Background(), s, aegir.Admin{Name: "admin", Password: "x"})
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("Install without a database: %v, want EINVALID", err)
	}
}

func TestDrupal8WithoutDrush(t *testing.T) {
	t.Parallel()
	root := platform(t, "d8", nil)
	app := newApp(t)
	s := site(root, "example.com")
	if err := app.Install(context.Background(), s, aegir.Admin{Name: "admin", Password: "x"}); aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "drush") {
		t.Errorf("Install without drush: %v", err)
	}
	// A login link needs drush only when only Drupal can tell the hash
	// salt: a local.settings.php may set it.
	if err := os.WriteFile(filepath.Join(s.SiteDir, "local.settings.php"), []byte("<?php\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := app.LoginLink(context.Background(), s); aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "drush") {
		t.Errorf("LoginLink without drush: %v", err)
	}
}

// TestDrupal8InstallsThroughDrush checks the commands given to a platform's
// drush, with a stand-in for drush (testdata/fakedrush.sh): the password is
// in drush's environment, never on a command line, and the settings are
// aegir's again afterwards.
func TestDrupal8InstallsThroughDrush(t *testing.T) {
	t.Parallel()
	fake, err := os.ReadFile("testdata/fakedrush.sh")
	if err != nil {
		t.Fatal(err)
	}
	root := platform(t, "d8", map[string]string{"vendor/bin/drush": string(fake)})
	if err := os.Chmod(filepath.Join(root, "vendor/bin/drush"), 0o755); err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	app := newApp(t, "FAKE_DRUSH_DIR="+logDir)
	ctx := context.Background()
	s := site(root, "example.com", "www.example.com")
	s.URL = "http://example.com:8080"
	s.Language = "fr"
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(s.SiteDir, "settings.php")
	before, _ := os.ReadFile(settings)
	password := "the-admin-password-1"
	if err := app.Install(ctx, s, aegir.Admin{Name: "admin", Password: password, Email: "admin@example.com"}); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(filepath.Join(logDir, "args"))
	lines := strings.Split(strings.TrimSpace(string(args)), "\n")
	drush := filepath.Join(root, "vendor/bin/drush")
	want := []string{
		"--root=" + root + " --uri=http://example.com:8080 --yes site:install standard --sites-subdir=example.com --site-name=example.com " +
			"--site-mail=admin@example.com --account-name=admin --account-mail=admin@example.com --locale=fr " +
			"install_configure_form.enable_update_status_module=NULL install_configure_form.enable_update_status_emails=NULL",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("%s ran with:\n%s\nwant:\n%s", drush, strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(string(args), password) {
		t.Error("the admin password was on a command line")
	}
	env, _ := os.ReadFile(filepath.Join(logDir, "env"))
	if !bytes.Contains(env, []byte("DRUSH_COMMAND_SITE_INSTALL_OPTIONS_ACCOUNT_PASS="+password+"\n")) {
		t.Errorf("drush did not get the admin password in its environment:\n%s", env)
	}
	if !bytes.Contains(env, []byte("db_name=examplecom\n")) || !bytes.Contains(env, []byte("db_passwd=pa55-w0rd-never-written\n")) {
		t.Errorf("drush did not get the cloaked credentials in its environment:\n%s", env)
	}
	after, _ := os.ReadFile(settings)
	if !bytes.Equal(before, after) {
		t.Errorf("settings after install are not aegir's:\n%s", after)
	}
	for path, mode := range map[string]fs.FileMode{settings: 0o440, s.SiteDir: 0o755} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", path, st.Mode().Perm(), err, mode)
		}
	}

	// A local.settings.php may set another hash salt: the link then comes
	// from drush, which knows it.
	if err := os.WriteFile(filepath.Join(s.SiteDir, "local.settings.php"), []byte("<?php\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link, err := app.LoginLink(ctx, s)
	if err != nil || link != "http://example.com:8080/user/reset/1/1700000000/abcdef/login" {
		t.Errorf("LoginLink = %q, %v", link, err)
	}
}

func TestDrupalParamsAndDirs(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	if p := app.Params(site("/srv/d", "example.com")); len(p) != 0 {
		t.Errorf("Params = %v, want none", p)
	}
	if got, want := app.WritableDirs(), []string{"files", "private", "private/temp", "private/config/sync"}; !reflect.DeepEqual(got, want) {
		t.Errorf("WritableDirs = %v, want %v", got, want)
	}
	if app.SettingsFile() != "settings.php" {
		t.Errorf("SettingsFile = %q", app.SettingsFile())
	}
}

// TestSettingsNameThePrivateDirOutsideTheRoot checks that a site with a
// private directory of its own gets its private files, temporary and config
// sync directories there, in Drupal 7's and 8+'s settings.
func TestSettingsNameThePrivateDirOutsideTheRoot(t *testing.T) {
	t.Parallel()
	for fixture, want := range map[string][]string{
		"d7": {"$conf['file_private_path'] = '/srv/aegir/private/example.com';",
			"$conf['file_temporary_path'] = '/srv/aegir/private/example.com/temp';"},
		"d8": {"$settings['file_private_path'] = '/srv/aegir/private/example.com';",
			"$settings['file_temp_path'] = '/srv/aegir/private/example.com/temp';",
			"$settings['config_sync_directory'] = '/srv/aegir/private/example.com/config/sync';"},
	} {
		root := platform(t, fixture, nil)
		s := site(root, "example.com")
		s.PrivateDir = "/srv/aegir/private/example.com"
		if err := newApp(t).WriteSettings(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(s.SiteDir, "settings.php"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range want {
			if !bytes.Contains(b, []byte(line)) {
				t.Errorf("%s settings lack %s:\n%s", fixture, line, b)
			}
		}
		if bytes.Contains(b, []byte("sites/example.com/private")) {
			t.Errorf("%s settings still name sites/example.com/private:\n%s", fixture, b)
		}
	}
}
