package phpapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/phpapp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func setup(t *testing.T, files map[string]string) (aegir.App, string, *aegir.TaskLog) {
	t.Helper()
	root := t.TempDir()
	teststack.WriteFiles(t, root, files)
	log := aegir.NewTaskLog(nil)
	return phpapp.New(aegir.Env{Log: log}), root, log
}

func site(root string) *aegir.AppSite {
	return &aegir.AppSite{
		URI: "app.example.com", URL: "http://app.example.com", Root: root,
		SiteDir: filepath.Join(root, "sites", "app.example.com"),
		DB:      &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "appexamplecom", User: "appexamplecom", Password: "n0t-in-any-file"},
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   map[string]string
		version string
		ok      bool
	}{
		{"index.php", map[string]string{"index.php": "<?php\n"}, "", true},
		{"with VERSION", map[string]string{"index.php": "<?php\n", "VERSION": "2.4.1\nrelease notes\n"}, "2.4.1", true},
		{"no index.php", map[string]string{"index.html": "<p>hi</p>\n"}, "", false},
		{"index.php is a directory", map[string]string{"index.php/x": ""}, "", false},
	}
	for _, tt := range tests {
		app, root, _ := setup(t, tt.files)
		version, ok := app.Detect(root)
		if version != tt.version || ok != tt.ok {
			t.Errorf("%s: Detect = %q, %v; want %q, %v", tt.name, version, ok, tt.version, tt.ok)
		}
	}
}

func TestDetectAppPicksPHP(t *testing.T) {
	t.Parallel()
	_, root, _ := setup(t, map[string]string{"index.php": "<?php\n"})
	name, _, _, err := aegir.DetectApp(root, aegir.Env{})
	if err != nil || name != "php" {
		t.Errorf("DetectApp = %q, %v; want php", name, err)
	}
}

func TestPackages(t *testing.T) {
	t.Parallel()
	app, root, _ := setup(t, map[string]string{"index.php": "<?php\n", "VERSION": "1.0\n"})
	got, err := app.Packages(context.Background(), root)
	want := []aegir.Package{{Name: "php", Type: "core", Version: "1.0"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Packages = %v, %v; want %v", got, err, want)
	}
	if _, err := app.Packages(context.Background(), t.TempDir()); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("Packages of a root without index.php: %v", err)
	}
}

func TestVerifyPlatformMakesSites(t *testing.T) {
	t.Parallel()
	app, root, _ := setup(t, map[string]string{"index.php": "<?php\n"})
	if err := app.VerifyPlatform(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "sites")); err != nil || !st.IsDir() {
		t.Errorf("no sites/ after verify: %v", err)
	}
}

// TestSettingsReturnTheCloakedCredentials writes a site's settings and loads
// them the documented way from an app's index.php, with the credentials in
// the environment (command line) and in $_SERVER only (php-fpm).
func TestSettingsReturnTheCloakedCredentials(t *testing.T) {
	t.Parallel()
	app, root, _ := setup(t, map[string]string{
		"index.php": `<?php
// Modes: "env" keeps the db_* values of the environment for getenv() only;
// "server" sets them in $_SERVER only, from standard input, as php-fpm does.
foreach (array('db_type', 'db_name', 'db_user', 'db_passwd', 'db_host', 'db_port') as $k) {
  unset($_SERVER[$k]);
}
if ($argv[1] === 'server') {
  $_SERVER = json_decode(stream_get_contents(STDIN), TRUE) + $_SERVER;
}
$db = require __DIR__ . '/sites/' . $_SERVER['AEGIR_SITE'] . '/settings.php';
echo json_encode($db);
`,
	})
	s := site(root)
	ctx := context.Background()
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.SiteDir, app.SettingsFile())
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "settings.php.golden")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	if want, _ := os.ReadFile(golden); !bytes.Equal(got, want) {
		t.Errorf("settings.php:\n%s\nwant (%s):\n%s", got, golden, want)
	}
	if bytes.Contains(got, []byte(s.DB.Password)) {
		t.Error("settings.php holds the password")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o440 {
		t.Errorf("settings.php mode %v, want 0440", st.Mode().Perm())
	}
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Fatalf("rewriting a 0440 settings.php: %v", err)
	}

	if _, err := exec.LookPath("php"); err != nil {
		teststack.Missing(t, "php is not installed")
	}
	want := map[string]string{}
	for _, p := range append(s.DB.Params(), app.Params(s)...) {
		want[p.Name] = p.Value
	}
	raw, _ := json.Marshal(want)
	delete(want, "AEGIR_SITE")
	for _, mode := range []string{"env", "server"} {
		cmd := exec.Command("php", "index.php", mode)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "AEGIR_SITE="+s.URI)
		if mode == "env" {
			cmd.Env = append(cmd.Env, s.DB.Env()...)
		}
		cmd.Stdin = bytes.NewReader(raw)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", mode, err, out)
		}
		var got map[string]string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v: %s", mode, err, out)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the app got %v, want %v", mode, got, want)
		}
	}
}

func TestWriteSettingsRefusesBadURI(t *testing.T) {
	t.Parallel()
	app, root, _ := setup(t, nil)
	s := site(root)
	s.URI = "../../etc"
	if err := app.WriteSettings(context.Background(), s); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("WriteSettings with uri %q: %v", s.URI, err)
	}
}

func TestInstallRunsNothingAndLoginLinkIsInvalid(t *testing.T) {
	t.Parallel()
	app, root, log := setup(t, map[string]string{"index.php": "<?php\n"})
	s := site(root)
	if err := app.Install(context.Background(), s, aegir.Admin{Name: "admin", Password: "x"}); err != nil {
		t.Fatal(err)
	}
	if e := log.Entries(); len(e) != 1 || !strings.Contains(e[0].Message, "no installer") {
		t.Errorf("install log: %v", e)
	}
	if _, err := app.LoginLink(context.Background(), s); aegir.ErrorCode(err) != aegir.EINVALID || err.Error() != "the php app has no login link" {
		t.Errorf("LoginLink: %v", err)
	}
}

func TestParamsAndDirs(t *testing.T) {
	t.Parallel()
	app, root, _ := setup(t, nil)
	if got, want := app.Params(site(root)), []aegir.Param{{Name: "AEGIR_SITE", Value: "app.example.com"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Params = %v, want %v", got, want)
	}
	if got, want := app.WritableDirs(), []string{"files", "private"}; !reflect.DeepEqual(got, want) {
		t.Errorf("WritableDirs = %v, want %v", got, want)
	}
	if app.SettingsFile() != "settings.php" {
		t.Errorf("SettingsFile = %q", app.SettingsFile())
	}
}

func TestLifecycleHasNothingToRun(t *testing.T) {
	t.Parallel()
	app, root, log := setup(t, map[string]string{"index.php": "<?php\n", "VERSION": "3.2\n"})
	ctx := context.Background()
	s := site(root)
	pkgs, err := app.SitePackages(ctx, s)
	if want := []aegir.Package{{Name: "php", Type: "core", Version: "3.2"}}; err != nil || !reflect.DeepEqual(pkgs, want) {
		t.Errorf("SitePackages = %v, %v; want %v", pkgs, err, want)
	}
	if err := app.UpdateDatabase(ctx, s); err != nil {
		t.Errorf("UpdateDatabase: %v", err)
	}
	if err := app.RewriteURI(ctx, s, "old.example.com", "http://old.example.com"); err != nil {
		t.Errorf("RewriteURI: %v", err)
	}
	if err := app.Cron(ctx, s); err != nil {
		t.Errorf("Cron: %v", err)
	}
	if err := app.DeleteSite(ctx, s); err != nil {
		t.Errorf("DeleteSite: %v", err)
	}
	var messages []string
	for _, e := range log.Entries() {
		messages = append(messages, e.Message)
	}
	if len(messages) != 2 || !strings.Contains(messages[0], "no database updates") || !strings.Contains(messages[1], "old.example.com") {
		t.Errorf("log: %q, want one line each for UpdateDatabase and RewriteURI", messages)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Errorf("the lifecycle wrote files: %v", entries)
	}
	bad := site(root)
	bad.URI = "../../etc"
	for name, err := range map[string]error{
		"UpdateDatabase": app.UpdateDatabase(ctx, bad),
		"RewriteURI":     app.RewriteURI(ctx, bad, "a.example.com", ""),
		"Cron":           app.Cron(ctx, bad),
		"DeleteSite":     app.DeleteSite(ctx, bad),
	} {
		if aegir.ErrorCode(err) != aegir.EINVALID {
			t.Errorf("%s with uri %q: %v", name, bad.URI, err)
		}
	}
}

func TestReadSettingsOfCloakedSettingsIsInvalid(t *testing.T) {
	t.Parallel()
	app, root, _ := setup(t, map[string]string{"index.php": "<?php\n"})
	ctx := context.Background()
	s := site(root)
	if _, err := app.ReadSettings(ctx, s); aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "cannot read the settings") {
		t.Errorf("ReadSettings without settings: %v", err)
	}
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := app.ReadSettings(ctx, s)
	if got != nil || aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "cloaked") || !strings.Contains(err.Error(), "site's context") {
		t.Errorf("ReadSettings of aegir's settings = %v, %v; want EINVALID saying they are cloaked", got, err)
	}
	other := filepath.Join(s.SiteDir, "settings.php")
	os.Chmod(other, 0o644)
	if err := os.WriteFile(other, []byte("<?php\nreturn array('db_name' => 'x');\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := app.ReadSettings(ctx, s); aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "knows only aegir's own settings") {
		t.Errorf("ReadSettings of other settings: %v", err)
	}
}
