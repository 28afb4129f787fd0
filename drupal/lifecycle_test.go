package drupal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// TestReadSettingsOfForeignSites reads the settings.php files of sites
// aegir did not make (testdata/readsettings) and aegir's own cloaked ones.
// Their databases are unreachable here, so the profile is what the file
// says or "standard", and the language "en".
func TestReadSettingsOfForeignSites(t *testing.T) {
	t.Parallel()
	golden7, _ := os.ReadFile("testdata/settings7.php.golden")
	golden8, _ := os.ReadFile("testdata/settings8.php.golden")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "readsettings", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name    string
		fixture string
		files   map[string]string
		want    *aegir.SiteSettings
		errText string // the EINVALID error says this
	}{
		{"drupal 7 installer's array", "d7", map[string]string{"settings.php": read("d7.php")},
			&aegir.SiteSettings{DB: aegir.DBCredentials{Type: "mysql", Host: "localhost", Port: 3306, Name: "d7site", User: "d7user", Password: "it's $ecret"}, Profile: "standard", Language: "en"}, ""},
		{"short syntax, port, prefix and profile", "d7", map[string]string{"settings.php": read("d7-short.php")},
			&aegir.SiteSettings{DB: aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3307, Name: "shortdb", User: "short", Password: `pa$$word"`}, Profile: "minimal", Language: "en"}, ""},
		{"drupal 6 db_url", "d7", map[string]string{"settings.php": read("d6.php")},
			&aegir.SiteSettings{DB: aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3308, Name: "d6db", User: "d6user", Password: "p@ss"}, Profile: "standard", Language: "en"}, ""},
		{"drupal 8 with its local settings", "d8", map[string]string{"settings.php": read("d8.php"), "settings.local.php": read("d8.local.php")},
			&aegir.SiteSettings{DB: aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "d8site", User: "d8user", Password: "local-password"}, Profile: "umami", Language: "en"}, ""},
		{"aegir's drupal 7 settings", "d7", map[string]string{"settings.php": string(golden7)}, nil, "cloaked"},
		{"aegir's drupal 8 settings", "d8", map[string]string{"settings.php": string(golden8)}, nil, "cloaked"},
		{"old aegir's settings", "d7", map[string]string{"settings.php": read("old-aegir.php")}, nil, "cloaked"},
		{"a computed password", "d7", map[string]string{"settings.php": read("computed.php")}, nil, "computes the database password"},
		{"no database", "d7", map[string]string{"settings.php": read("none.php")}, nil, "has no database settings"},
		{"sqlite", "d7", map[string]string{"settings.php": read("sqlite.php")}, nil, "SQLite"},
		{"no settings.php", "d7", map[string]string{"README.txt": ""}, nil, "does not exist"},
	}
	app := newApp(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := platform(t, tt.fixture, nil)
			s := &aegir.AppSite{URI: "import.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "import.example.com")}
			files := map[string]string{}
			for name, content := range tt.files {
				files["sites/import.example.com/"+name] = content
			}
			teststack.WriteFiles(t, root, files)
			got, err := app.ReadSettings(context.Background(), s)
			if tt.want == nil {
				if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("ReadSettings = %+v, %v; want EINVALID saying %q", got, err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != *tt.want {
				t.Errorf("ReadSettings =\n%+v, want\n%+v", *got, *tt.want)
			}
		})
	}
}

// TestReadSettingsAsksTheDatabase reads the profile and language of sites
// whose settings do not say them from real databases shaped as Drupal 7's
// {variable} and Drupal 8's {config} tables, with a table prefix.
func TestReadSettingsAsksTheDatabase(t *testing.T) {
	t.Parallel()
	teststack.Require(t, "php", "mariadb")
	db := teststack.TempDatabase(t, "aegirr")
	mariadb(t, fmt.Sprintf(`USE %s;
CREATE TABLE x_variable (name VARCHAR(128) PRIMARY KEY, value LONGBLOB NOT NULL);
INSERT INTO x_variable VALUES ('install_profile', 's:7:"minimal";'),
  ('language_default', 'O:8:"stdClass":2:{s:8:"language";s:2:"de";s:4:"name";s:6:"German";}'),
  ('site_name', 's:4:"Site";');
CREATE TABLE y_config (collection VARCHAR(255) NOT NULL DEFAULT '', name VARCHAR(255) NOT NULL, data LONGBLOB, PRIMARY KEY (collection, name));
INSERT INTO y_config VALUES ('', 'core.extension', 'a:2:{s:6:"module";a:1:{s:4:"node";i:0;}s:7:"profile";s:10:"demo_umami";}'),
  ('', 'system.site', 'a:2:{s:4:"name";s:4:"Site";s:16:"default_langcode";s:2:"nl";}'),
  ('language.fr', 'system.site', 'a:1:{s:16:"default_langcode";s:2:"fr";}');`, db.Name))
	settings := func(prefix string) string {
		return fmt.Sprintf(`<?php
$databases['default']['default'] = array('driver' => 'mysql', 'database' => '%s', 'username' => '%s',
  'password' => '%s', 'host' => '127.0.0.1', 'port' => 3306, 'prefix' => '%s');
`, db.Name, db.User, db.Password, prefix)
	}
	for _, tt := range []struct {
		fixture, prefix, profile, language string
	}{
		{"d7", "x_", "minimal", "de"},
		{"d8", "y_", "demo_umami", "nl"},
		{"d7", "", "standard", "en"}, // no such tables: the defaults
	} {
		root := platform(t, tt.fixture, map[string]string{"sites/import.example.com/settings.php": settings(tt.prefix)})
		log := aegir.NewTaskLog(nil)
		app, err := aegir.NewApp("drupal", aegir.Env{Runner: &local.Runner{}, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		got, err := app.ReadSettings(context.Background(), &aegir.AppSite{URI: "import.example.com", Root: root})
		if err != nil {
			t.Fatal(err)
		}
		want := aegir.SiteSettings{DB: *db, Profile: tt.profile, Language: tt.language}
		if *got != want {
			t.Errorf("%s prefix %q: ReadSettings = %+v, want %+v", tt.fixture, tt.prefix, *got, want)
		}
		if e := log.Entries(); tt.prefix == "" && (len(e) != 1 || !strings.Contains(e[0].Message, "x_variable") && !strings.Contains(e[0].Message, ".variable")) {
			t.Errorf("no warning about the missing table: %v", e)
		}
	}
}

// TestRewriteRules runs the rewrite rules shared by the Drupal 7 and 8+
// helpers (files/rewrite.php) on strings and nested values.
func TestRewriteRules(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("php"); err != nil {
		teststack.Missing(t, "php is not installed")
	}
	lib, err := os.ReadFile("files/rewrite.php")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		OldURI string `json:"oldURI"`
		OldURL string `json:"oldURL"`
		NewURI string `json:"newURI"`
		NewURL string `json:"newURL"`
		In     string `json:"in"`
		Want   string `json:"-"`
	}{
		{"old.example.com", "http://old.example.com", "new.example.com", "https://new.example.com",
			`<a href="http://old.example.com/node/1">x</a> <a href="https://OLD.example.com">y</a> //old.example.com/z`,
			`<a href="https://new.example.com/node/1">x</a> <a href="https://new.example.com">y</a> //new.example.com/z`},
		{"old.example.com", "http://old.example.com", "new.example.com", "http://new.example.com:8080",
			`http://old.example.com. http://old.example.com.au/ http://old.example.com:8080/ http://bold.example.com/ http://old.example.com-x/`,
			`http://new.example.com:8080. http://old.example.com.au/ http://old.example.com:8080/ http://bold.example.com/ http://old.example.com-x/`},
		{"old.example.com", "http://old.example.com:8080", "new.example.com", "http://new.example.com",
			`http://old.example.com:8080/a http://old.example.com/b`,
			`http://new.example.com/a http://old.example.com/b`},
		{"old.example.com", "http://old.example.com", "new.example.com", "http://new.example.com",
			`sites/old.example.com/files/a.png /sites/old.example.com sites/old.example.com.bak/x mysites/old.example.com/x "sites/old.example.com"`,
			`sites/new.example.com/files/a.png /sites/new.example.com sites/old.example.com.bak/x mysites/old.example.com/x "sites/new.example.com"`},
		{"same.example.com", "http://same.example.com", "same.example.com", "https://same.example.com",
			`http://same.example.com/x sites/same.example.com/files`,
			`https://same.example.com/x sites/same.example.com/files`},
	}
	raw, _ := json.Marshal(cases)
	script := string(lib) + `<?php
$out = array();
foreach (json_decode(stream_get_contents(STDIN), TRUE) as $c) {
  $rules = aegir_rewrite_rules($c['oldURI'], $c['oldURL'], $c['newURI'], $c['newURL']);
  $out[] = aegir_rewrite($c['in'], $rules);
}
$rules = aegir_rewrite_rules('old.example.com', 'http://old.example.com', 'new.example.com', 'http://new.example.com');
$object = new stdClass();
$object->logo = 'sites/old.example.com/files/logo.png';
$value = aegir_rewrite_value(array('a' => array('http://old.example.com/x', 3, NULL), 'o' => $object), $rules);
$out[] = json_encode($value);
$out[] = implode(' ', aegir_rewrite_needles('old.example.com', 'http://old.example.com:8080'));
echo json_encode($out);
`
	path := filepath.Join(t.TempDir(), "rewrite_test.php")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("php", "-d", "error_reporting=-1", "-d", "display_errors=stderr", path)
	cmd.Stdin = bytes.NewReader(raw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("php: %v: %s%s", err, stderr.Bytes(), out)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, c := range cases {
		if got[i] != c.Want {
			t.Errorf("%s -> %s:\n in   %s\n got  %s\n want %s", c.OldURL, c.NewURL, c.In, got[i], c.Want)
		}
	}
	if want := `{"a":["http:\/\/new.example.com\/x",3,null],"o":{"logo":"sites\/new.example.com\/files\/logo.png"}}`; got[len(cases)] != want {
		t.Errorf("aegir_rewrite_value = %s, want %s", got[len(cases)], want)
	}
	if want := "sites/old.example.com //old.example.com:8080"; got[len(cases)+1] != want {
		t.Errorf("aegir_rewrite_needles = %s, want %s", got[len(cases)+1], want)
	}
}

// TestDrupal8LifecycleThroughDrush checks the drush commands the Drupal 8+
// lifecycle methods run, with the stand-in drush (testdata/fakedrush.sh).
func TestDrupal8LifecycleThroughDrush(t *testing.T) {
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
	s := site(root, "example.com")
	s.URL = "http://example.com:8080"
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	args := func() []string {
		t.Helper()
		b, _ := os.ReadFile(filepath.Join(logDir, "args"))
		os.Remove(filepath.Join(logDir, "args"))
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	stdin := func() string {
		t.Helper()
		b, _ := os.ReadFile(filepath.Join(logDir, "stdin"))
		return string(b)
	}
	prefix := "--root=" + root + " --uri=http://example.com:8080 "

	pkgs, err := app.SitePackages(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []aegir.Package{
		{Name: "drupal", Type: "core", Version: "10.2.3"},
		{Name: "standard", Type: "profile", Version: "10.2.3", Schema: 8000, Path: "core/profiles/standard"},
		{Name: "node", Type: "module", Version: "10.2.3", Schema: 8100, Path: "core/modules/node"},
		{Name: "token", Type: "module", Version: "8.x-1.13", Schema: 8002, Path: "modules/contrib/token"},
		{Name: "olivero", Type: "theme", Version: "10.2.3", Path: "core/themes/olivero"},
	}
	if !reflect.DeepEqual(pkgs, want) {
		t.Errorf("SitePackages =\n%+v\nwant\n%+v", pkgs, want)
	}
	if got, want := args(), []string{prefix + "pm:list --status=enabled --type=module,theme,profile --format=json", prefix + "php:script -"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SitePackages ran drush with:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(stdin(), "update.update_hook_registry") {
		t.Errorf("the schema script is not the one of schema8.php:\n%s", stdin())
	}

	if err := app.UpdateDatabase(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, want := args(), []string{prefix + "updatedb --yes"}; !reflect.DeepEqual(got, want) {
		t.Errorf("UpdateDatabase ran drush with %v, want %v", got, want)
	}
	if err := app.Cron(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, want := args(), []string{prefix + "core:cron"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Cron ran drush with %v, want %v", got, want)
	}

	if err := app.RewriteURI(ctx, s, "old.example.com", "http://old.example.com"); err != nil {
		t.Fatal(err)
	}
	if got, want := args(), []string{prefix + "php:script -"}; !reflect.DeepEqual(got, want) {
		t.Errorf("RewriteURI ran drush with %v, want %v", got, want)
	}
	script := stdin()
	for _, part := range []string{"$aegir_job = json_decode(base64_decode(", "function aegir_rewrite_rules(", "getDedicatedDataTableName", "drupal_flush_all_caches()"} {
		if !strings.Contains(script, part) {
			t.Errorf("the rewrite script has no %s", part)
		}
	}
	if _, err := exec.LookPath("php"); err == nil {
		path := filepath.Join(logDir, "rewrite8.php")
		os.WriteFile(path, []byte(script), 0o644)
		if out, err := exec.Command("php", "-l", path).CombinedOutput(); err != nil {
			t.Errorf("the rewrite script is not valid PHP: %v: %s", err, out)
		}
	}
	env, _ := os.ReadFile(filepath.Join(logDir, "env"))
	if !bytes.Contains(env, []byte("db_passwd=pa55-w0rd-never-written\n")) {
		t.Errorf("drush did not get the cloaked credentials in its environment:\n%s", env)
	}
}

// TestLifecycleNeedsAnInstalledSiteAndDrush checks the errors of the
// lifecycle methods on sites that cannot run them.
func TestLifecycleNeedsAnInstalledSiteAndDrush(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	ctx := context.Background()
	d8 := platform(t, "d8", nil)
	s8 := site(d8, "example.com")
	if err := app.WriteSettings(ctx, s8); err != nil {
		t.Fatal(err)
	}
	d7 := platform(t, "d7", nil)
	notInstalled := site(d7, "example.com")
	noDB := site(d7, "example.com")
	noDB.DB = nil
	teststack.WriteFiles(t, d7, map[string]string{"sites/example.com/settings.php": "<?php\n"})
	calls := map[string]func(*aegir.AppSite) error{
		"SitePackages":   func(s *aegir.AppSite) error { _, err := app.SitePackages(ctx, s); return err },
		"UpdateDatabase": func(s *aegir.AppSite) error { return app.UpdateDatabase(ctx, s) },
		"RewriteURI":     func(s *aegir.AppSite) error { return app.RewriteURI(ctx, s, "old.example.com", "") },
		"Cron":           func(s *aegir.AppSite) error { return app.Cron(ctx, s) },
	}
	notInstalled.URI, notInstalled.SiteDir = "other.example.com", filepath.Join(d7, "sites", "other.example.com")
	for name, call := range calls {
		for what, tt := range map[string]struct {
			s    *aegir.AppSite
			text string
		}{
			"drupal 8 without drush": {s8, "vendor/bin/drush"},
			"not installed":          {notInstalled, "not installed"},
			"no database":            {noDB, "has no database"},
		} {
			if err := call(tt.s); aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("%s on a site with %s: %v, want EINVALID saying %q", name, what, err, tt.text)
			}
		}
	}
	if err := app.RewriteURI(ctx, site(d7, "example.com"), "example.com", "ftp://example.com"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("RewriteURI from an ftp address: %v", err)
	}
}
