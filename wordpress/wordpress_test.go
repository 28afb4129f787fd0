package wordpress

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

func TestDetectReadsTheVersionOfDebianWordPress(t *testing.T) {
	if _, err := os.Stat(debianRoot); err != nil {
		teststack.Missing(t, "no WordPress codebase: %v", err)
	}
	version, ok := New(aegir.Env{}).Detect(debianRoot)
	if !ok {
		t.Fatalf("Detect(%s) = false", debianRoot)
	}
	if !regexp.MustCompile(`^6\.1\.\d+$`).MatchString(version) {
		t.Errorf("version = %q, want 6.1.x", version)
	}
}

func TestDetectRejectsOtherCodebases(t *testing.T) {
	w := New(aegir.Env{})
	for _, root := range []string{"testdata/notwordpress", "testdata/missing", "/usr/share/mediawiki"} {
		if version, ok := w.Detect(root); ok {
			t.Errorf("Detect(%s) = %q, true; want false", root, version)
		}
	}
}

func TestPackagesListsCoreThenDebianPlugins(t *testing.T) {
	if _, err := os.Stat(debianRoot); err != nil {
		teststack.Missing(t, "no WordPress codebase: %v", err)
	}
	pkgs, err := New(aegir.Env{}).Packages(context.Background(), debianRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) == 0 || pkgs[0].Name != "wordpress" || pkgs[0].Type != "core" || !strings.HasPrefix(pkgs[0].Version, "6.1.") || pkgs[0].Schema < 53496 {
		t.Fatalf("first package = %+v, want core wordpress 6.1.x with its $wp_db_version", pkgs)
	}
	var akismet *aegir.Package
	for i := range pkgs {
		if pkgs[i].Name == "akismet" {
			akismet = &pkgs[i]
		}
	}
	if akismet == nil || akismet.Type != "plugin" || akismet.Version == "" || akismet.Path != "wp-content/plugins/akismet" {
		t.Errorf("akismet = %+v in %+v, want a plugin with a version", akismet, pkgs)
	}
}

func TestPackagesReadsPluginAndThemeHeaders(t *testing.T) {
	pkgs, err := New(aegir.Env{}).Packages(context.Background(), "testdata/fakewp")
	if err != nil {
		t.Fatal(err)
	}
	want := []aegir.Package{
		{Name: "wordpress", Type: "core", Version: "6.4.2", Schema: 56657},
		{Name: "foo", Type: "plugin", Version: "2.0.1", Path: "wp-content/plugins/foo"},
		{Name: "hello", Type: "plugin", Version: "1.7.2", Path: "wp-content/plugins/hello.php"},
		{Name: "bar", Type: "theme", Version: "1.3", Path: "wp-content/themes/bar"},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("packages = %+v, want %+v", pkgs, want)
	}
	for i := range want {
		if pkgs[i] != want[i] {
			t.Errorf("package %d = %+v, want %+v", i, pkgs[i], want[i])
		}
	}
}

func TestPackagesOfOtherCodebaseIsAnError(t *testing.T) {
	_, err := New(aegir.Env{}).Packages(context.Background(), "testdata/notwordpress")
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("err = %v, want an EINVALID error", err)
	}
}

func TestParamsAndDirs(t *testing.T) {
	w := New(aegir.Env{})
	s := &aegir.AppSite{URI: "a.example.com"}
	if got := w.Params(s); len(got) != 1 || got[0] != (aegir.Param{Name: "AEGIR_SITE", Value: "a.example.com"}) {
		t.Errorf("Params = %+v", got)
	}
	if got := w.WritableDirs(); len(got) != 1 || got[0] != "files" {
		t.Errorf("WritableDirs = %v", got)
	}
	if got := w.SettingsFile(); got != "wp-config.php" {
		t.Errorf("SettingsFile = %q", got)
	}
}

func TestVerifyPlatformReplacesDebianLoaderAndIsIdempotent(t *testing.T) {
	root := filepath.Join(t.TempDir(), "platform")
	if err := teststack.CopyTree("testdata/fakewp", root); err != nil {
		t.Fatal(err)
	}
	debian, err := os.ReadFile(filepath.Join(debianRoot, "wp-config.php"))
	if err != nil {
		teststack.Missing(t, "no Debian loader: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "wp-config.php"), debian, 0o644); err != nil {
		t.Fatal(err)
	}
	w := New(aegir.Env{})
	for i := 0; i < 2; i++ {
		if err := w.VerifyPlatform(context.Background(), root); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	loader, err := os.ReadFile(filepath.Join(root, "wp-config.php"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{loaderMarker, "AEGIR_SITE", "/sites/", "wp-settings.php"} {
		if !strings.Contains(string(loader), want) {
			t.Errorf("loader lacks %q", want)
		}
	}
	for _, path := range []string{"sites", muPlugin} {
		if _, err := os.Stat(filepath.Join(root, path)); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func TestVerifyPlatformRefusesForeignWPConfig(t *testing.T) {
	root := filepath.Join(t.TempDir(), "platform")
	if err := teststack.CopyTree("testdata/fakewp", root); err != nil {
		t.Fatal(err)
	}
	foreign := "<?php define('DB_PASSWORD', 'live');\n"
	if err := os.WriteFile(filepath.Join(root, "wp-config.php"), []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	err := New(aegir.Env{}).VerifyPlatform(context.Background(), root)
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "wp-config.php")); string(b) != foreign {
		t.Errorf("foreign wp-config.php was changed to %q", b)
	}
}

func TestWriteSettingsCloaksCredentialsAndKeepsSalts(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{
		URI: "a.example.com", URL: "http://a.example.com", Root: root,
		SiteDir: filepath.Join(root, "sites", "a.example.com"),
		// Long names: a short one ("adb") turns up in the random salts now and then.
		DB: &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "the_site_database", User: "the_site_db_user", Password: "s3cret-pw"},
	}
	w := New(aegir.Env{})
	if err := w.WriteSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.SiteDir, "wp-config.php")
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o440 {
		t.Errorf("mode = %v, want 0440", st.Mode().Perm())
	}
	text := string(first)
	for _, secret := range []string{"s3cret-pw", "the_site_database", "the_site_db_user"} {
		if strings.Contains(text, secret) {
			t.Errorf("settings hold %q literally", secret)
		}
	}
	for _, want := range []string{"'db_passwd'", "'UPLOADS', 'sites/a.example.com/files'", "'DB_CHARSET', 'utf8mb4'",
		"$table_prefix = 'wp_';", "'DISALLOW_FILE_EDIT', true", "'FS_METHOD', 'direct'"} {
		if !strings.Contains(text, want) {
			t.Errorf("settings lack %s", want)
		}
	}
	for _, unwanted := range []string{"WP_HOME", "WP_SITEURL"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("settings define %s", unwanted)
		}
	}
	var salts [][]string
	for _, m := range saltPattern.FindAllStringSubmatch(text, -1) {
		if strings.HasSuffix(m[1], "_KEY") || strings.HasSuffix(m[1], "_SALT") {
			salts = append(salts, m)
		}
	}
	if len(salts) != len(saltNames) {
		t.Fatalf("found %d keys and salts, want %d", len(salts), len(saltNames))
	}
	if err := lintPHP(t, path); err != nil {
		t.Error(err)
	}
	// A verify rewrites the file (read-only as it is) and keeps the salts.
	if err := w.WriteSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if string(second) != text {
		t.Errorf("second write changed the file:\n%s\n---\n%s", first, second)
	}
	other := *s
	other.URI, other.SiteDir = "b.example.com", filepath.Join(root, "sites", "b.example.com")
	if err := w.WriteSettings(context.Background(), &other); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(other.SiteDir, "wp-config.php"))
	if strings.Contains(string(b), salts[0][2]) {
		t.Error("two sites share a salt")
	}
}

func TestWriteSettingsRejectsBadURI(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "../etc", Root: root, SiteDir: filepath.Join(root, "sites", "x")}
	if err := New(aegir.Env{}).WriteSettings(context.Background(), s); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("err = %v, want EINVALID", err)
	}
}

func lintPHP(t *testing.T, path string) error {
	t.Helper()
	if _, err := os.Stat("/usr/bin/php"); err != nil {
		return nil
	}
	_, err := testEnv().Runner.Run(context.Background(), aegir.Command{Args: []string{"php", "-l", path}})
	return err
}
