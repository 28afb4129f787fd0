package mediawiki

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

func TestDetectReadsTheVersionOfDebianMediaWiki(t *testing.T) {
	if _, err := os.Stat(debianRoot); err != nil {
		teststack.Missing(t, "no MediaWiki codebase: %v", err)
	}
	version, ok := New(aegir.Env{}).Detect(debianRoot)
	if !ok {
		t.Fatalf("Detect(%s) = false", debianRoot)
	}
	if !regexp.MustCompile(`^1\.39\.\d+$`).MatchString(version) {
		t.Errorf("version = %q, want 1.39.x", version)
	}
}

func TestDetectRejectsOtherCodebases(t *testing.T) {
	m := New(aegir.Env{})
	for _, root := range []string{"testdata/notmediawiki", "testdata/missing", "/usr/share/wordpress"} {
		if version, ok := m.Detect(root); ok {
			t.Errorf("Detect(%s) = %q, true; want false", root, version)
		}
	}
}

func TestPackagesListsCoreExtensionsAndSkinsOfDebian(t *testing.T) {
	if _, err := os.Stat(debianRoot); err != nil {
		teststack.Missing(t, "no MediaWiki codebase: %v", err)
	}
	pkgs, err := New(aegir.Env{}).Packages(context.Background(), debianRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) == 0 || pkgs[0].Name != "mediawiki" || pkgs[0].Type != "core" || !strings.HasPrefix(pkgs[0].Version, "1.39.") {
		t.Fatalf("first package = %+v, want core mediawiki 1.39.x", pkgs)
	}
	got := map[string]aegir.Package{}
	for _, p := range pkgs[1:] {
		got[p.Name] = p
	}
	for _, want := range []aegir.Package{
		{Name: "ParserFunctions", Type: "extension", Path: "extensions/ParserFunctions"},
		{Name: "AbuseFilter", Type: "extension", Path: "extensions/AbuseFilter"},
		{Name: "Vector", Type: "skin", Path: "skins/Vector"},
	} {
		p, ok := got[want.Name]
		if !ok || p.Type != want.Type || p.Path != want.Path {
			t.Errorf("%s = %+v, want %+v", want.Name, p, want)
		}
	}
	if got["ParserFunctions"].Version == "" {
		t.Errorf("ParserFunctions has no version: %+v", got["ParserFunctions"])
	}
}

func TestPackagesReadsManifests(t *testing.T) {
	pkgs, err := New(aegir.Env{}).Packages(context.Background(), "testdata/fakemw")
	if err != nil {
		t.Fatal(err)
	}
	want := []aegir.Package{
		{Name: "mediawiki", Type: "core", Version: "1.41.0"},
		{Name: "FooExt", Type: "extension", Version: "0.3.0", Path: "extensions/FooExt"},
		{Name: "BarSkin", Type: "skin", Path: "skins/BarSkin"},
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
	_, err := New(aegir.Env{}).Packages(context.Background(), "testdata/notmediawiki")
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("err = %v, want an EINVALID error", err)
	}
}

func TestParamsNameTheSiteAndItsSettings(t *testing.T) {
	m := New(aegir.Env{})
	s := &aegir.AppSite{URI: "w.example.com", SiteDir: "/var/aegir/platforms/mw/sites/w.example.com"}
	want := []aegir.Param{
		{Name: "AEGIR_SITE", Value: "w.example.com"},
		{Name: "MW_CONFIG_FILE", Value: "/var/aegir/platforms/mw/sites/w.example.com/LocalSettings.php"},
	}
	got := m.Params(s)
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Params = %+v, want %+v", got, want)
	}
	if got := m.WritableDirs(); strings.Join(got, ",") != "files,private" {
		t.Errorf("WritableDirs = %v", got)
	}
	if got := m.SettingsFile(); got != "LocalSettings.php" {
		t.Errorf("SettingsFile = %q", got)
	}
}

func TestVerifyPlatformReplacesTheDebianLinkAndIsIdempotent(t *testing.T) {
	root := filepath.Join(t.TempDir(), "platform")
	if err := teststack.CopyTree("testdata/fakemw", root); err != nil {
		t.Fatal(err)
	}
	// Debian's LocalSettings.php is a link into /var/lib/mediawiki; the
	// verify must replace the link, never write through it.
	target := filepath.Join(t.TempDir(), "LocalSettings.php")
	if err := os.WriteFile(target, []byte("<?php // system wiki\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(root, "LocalSettings.php")); err != nil {
		t.Fatal(err)
	}
	env := aegir.Env{Log: aegir.NewTaskLog(nil)}
	m := New(env)
	for i := 0; i < 2; i++ {
		if err := m.VerifyPlatform(context.Background(), root); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "<?php // system wiki\n" {
		t.Errorf("the link's target was changed to %q", b)
	}
	st, err := os.Lstat(filepath.Join(root, "LocalSettings.php"))
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("LocalSettings.php is not a file: %v %v", st, err)
	}
	loader, _ := os.ReadFile(filepath.Join(root, "LocalSettings.php"))
	for _, want := range []string{loaderMarker, "AEGIR_SITE", "/sites/", "LocalSettings.php"} {
		if !strings.Contains(string(loader), want) {
			t.Errorf("loader lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "sites")); err != nil {
		t.Error(err)
	}
	// The fixture's bootstrap does not read MW_CONFIG_FILE: the log says so.
	var noted bool
	for _, e := range env.Log.Entries() {
		noted = noted || strings.Contains(e.Message, "ignores MW_CONFIG_FILE")
	}
	if !noted {
		t.Errorf("no note that the codebase ignores MW_CONFIG_FILE: %+v", env.Log.Entries())
	}
}

func TestVerifyPlatformRefusesForeignLocalSettings(t *testing.T) {
	root := filepath.Join(t.TempDir(), "platform")
	if err := teststack.CopyTree("testdata/fakemw", root); err != nil {
		t.Fatal(err)
	}
	foreign := "<?php $wgDBpassword = 'live';\n"
	if err := os.WriteFile(filepath.Join(root, "LocalSettings.php"), []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	err := New(aegir.Env{}).VerifyPlatform(context.Background(), root)
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "LocalSettings.php")); string(b) != foreign {
		t.Errorf("foreign LocalSettings.php was changed to %q", b)
	}
}

func TestWriteSettingsBeforeInstallWritesOnlyAegirSettings(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{
		URI: "w.example.com", URL: "http://w.example.com:8080", Root: root,
		SiteDir: filepath.Join(root, "sites", "w.example.com"),
		DB:      &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "wdb", User: "wuser", Password: "s3cret-pw"},
	}
	if err := New(aegir.Env{}).WriteSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.SiteDir, "LocalSettings.php")); err == nil {
		t.Error("LocalSettings.php written before the install")
	}
	path := filepath.Join(s.SiteDir, aegirSettings)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o440 {
		t.Errorf("mode = %v, want 0440", st.Mode().Perm())
	}
	text := string(b)
	for _, secret := range []string{"s3cret-pw", "wdb", "wuser"} {
		if strings.Contains(text, secret) {
			t.Errorf("settings hold %q literally", secret)
		}
	}
	for _, want := range []string{
		"$wgServer = 'http://w.example.com:8080';",
		"$wgUploadDirectory = '" + s.SiteDir + "/files';",
		"$wgUploadPath = '/sites/w.example.com/files';",
		"$wgEnableUploads = true;",
		"$wgDBpassword = $aegirParam('db_passwd');",
		"BeforeInitialize",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("settings lack %s", want)
		}
	}
	if err := lintPHP(t, path); err != nil {
		t.Error(err)
	}
}

func TestWriteSettingsCloaksAnInstalledLocalSettings(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "w.example.com", URL: "http://w.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "w.example.com")}
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		t.Fatal(err)
	}
	generated := `<?php
## Database settings
$wgDBtype = "mysql";
$wgDBserver = "127.0.0.1:3306";
$wgDBname = "wdb";
$wgDBuser = "wuser";
$wgDBpassword = "s3cret\"pw";

$wgServer = "http://w.example.com";
$wgSecretKey = "keep-me";
`
	path := filepath.Join(s.SiteDir, "LocalSettings.php")
	if err := os.WriteFile(path, []byte(generated), 0o440); err != nil {
		t.Fatal(err)
	}
	m := New(aegir.Env{})
	for i := 0; i < 2; i++ {
		if err := m.WriteSettings(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	text := string(b)
	for _, gone := range []string{"s3cret", "wdb", "wuser", `$wgServer = "`, `$wgDBserver = "`} {
		if strings.Contains(text, gone) {
			t.Errorf("LocalSettings.php still holds %q:\n%s", gone, text)
		}
	}
	for _, kept := range []string{`$wgDBtype = "mysql";`, `$wgSecretKey = "keep-me";`, "# $wgDBpassword is set in aegir.settings.php"} {
		if !strings.Contains(text, kept) {
			t.Errorf("LocalSettings.php lacks %q:\n%s", kept, text)
		}
	}
	if n := strings.Count(text, requireLine); n != 1 || !strings.HasSuffix(text, requireLine+"\n") {
		t.Errorf("require line found %d times, or not last:\n%s", n, text)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o440 {
		t.Errorf("mode = %v, want 0440", st.Mode().Perm())
	}
	if err := lintPHP(t, path); err != nil {
		t.Error(err)
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

func TestLoginLinkStoresTheTokenHashInPrivate(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "w.example.com", URL: "http://w.example.com:8080/", Root: root,
		SiteDir: filepath.Join(root, "sites", "w.example.com"), WebGroup: "www-data"}
	gid := teststack.WebGID(t)
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.SiteDir, "LocalSettings.php"), []byte("<?php\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	link, err := New(aegir.Env{}).LoginLink(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "http://w.example.com:8080/index.php?aegir_login="
	token, ok := strings.CutPrefix(link, prefix)
	if !ok || len(token) != 64 {
		t.Fatalf("link = %q, want %s<64 hex digits>", link, prefix)
	}
	st, err := os.Stat(filepath.Join(s.SiteDir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&(fs.ModePerm|fs.ModeSetgid) != 0o770|fs.ModeSetgid || st.Sys().(*syscall.Stat_t).Gid != uint32(gid) {
		t.Errorf("private is %v, group %d; want 02770 www-data", st.Mode(), st.Sys().(*syscall.Stat_t).Gid)
	}
	b, err := os.ReadFile(filepath.Join(s.SiteDir, loginFile))
	if err != nil {
		t.Fatal(err)
	}
	var stored struct {
		Hash    string `json:"hash"`
		Expires int64  `json:"expires"`
	}
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(token))
	if stored.Hash != hex.EncodeToString(sum[:]) || strings.Contains(string(b), token) {
		t.Errorf("stored %s, want the sha256 of the token only", b)
	}
	if d := time.Until(time.Unix(stored.Expires, 0)); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("expires in %v, want a day", d)
	}
	// A second link replaces the first.
	if _, err := New(aegir.Env{}).LoginLink(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(filepath.Join(s.SiteDir, loginFile)); string(b2) == string(b) {
		t.Error("a second link did not replace the first")
	}
}

func TestInstallRejectsABadLanguage(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "w.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "w.example.com"),
		Language: "de; rm", DB: &aegir.DBCredentials{Name: "x"}}
	err := New(aegir.Env{Runner: testEnv().Runner}).Install(context.Background(), s, aegir.Admin{Name: "admin", Password: "pw-0123456789"})
	if aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("err = %v, want EINVALID", err)
	}
}
