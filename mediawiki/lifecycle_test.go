package mediawiki

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

func lastLog(m *MediaWiki) string {
	e := m.env.Log.Entries()
	if len(e) == 0 {
		return ""
	}
	return e[len(e)-1].Message
}

func TestUpdateDatabaseBringsBackAMissingTable(t *testing.T) {
	m, s, _ := installWiki(t, "http://URI")
	db := teststack.RootDB(t)
	// A table of MediaWiki 1.39, as a wiki made with 1.38 lacks it.
	if _, err := db.Exec(fmt.Sprintf("DROP TABLE `%s`.user_autocreate_serial", s.DB.Name)); err != nil {
		t.Fatal(err)
	}
	if err := m.UpdateDatabase(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	t.Logf("log: %s", lastLog(m))
	var n int
	q := "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'user_autocreate_serial'"
	if err := db.QueryRow(q, s.DB.Name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Error("update.php did not create the missing table")
	}
	if !strings.Contains(lastLog(m), "updated the database of "+s.URI) {
		t.Errorf("log %q", lastLog(m))
	}
}

func TestUpdateDatabaseOfAWikiNotInstalledIsNotFound(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "w.example.com", URL: "http://w.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "w.example.com"),
		DB: &aegir.DBCredentials{Type: "mysql", Name: "w"}}
	m := New(testEnv())
	if err := m.UpdateDatabase(context.Background(), s); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("UpdateDatabase: %v, want ENOTFOUND", err)
	}
	if err := m.Cron(context.Background(), s); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("Cron: %v, want ENOTFOUND", err)
	}
}

func TestCronRunsTheJobQueue(t *testing.T) {
	m, s, _ := installWiki(t, "http://URI")
	ctx := context.Background()
	script, err := filepath.Abs(filepath.Join("testdata", "scripts", "pushjob.php"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := maintenance(t, s, append(m.siteEnv(s), "MW_INSTALL_PATH="+s.Root), script)
	if err != nil || strings.TrimSpace(out) == "0" {
		t.Fatalf("push a job: %q, %v", out, err)
	}
	if err := m.Cron(ctx, s); err != nil {
		t.Fatal(err)
	}
	if msg := lastLog(m); !strings.Contains(msg, "null 1") || !strings.Contains(msg, "0 failed") {
		t.Errorf("log %q, want the null job run", msg)
	}
	var n int
	if err := teststack.RootDB(t).QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM `%s`.job", s.DB.Name)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d jobs left in the queue", n)
	}
	if err := m.Cron(ctx, s); err != nil {
		t.Fatal(err)
	}
	if msg := lastLog(m); !strings.Contains(msg, "empty") {
		t.Errorf("second run: log %q", msg)
	}
}

func TestSitePackagesListsCoreAndTheSkinsTheInstallerLoads(t *testing.T) {
	m, s, _ := installWiki(t, "http://URI")
	ctx := context.Background()
	platform, err := m.Packages(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := m.SitePackages(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("site packages: %+v", pkgs)
	if len(pkgs) == 0 || pkgs[0] != platform[0] {
		t.Fatalf("packages = %+v, want core %+v first", pkgs, platform[0])
	}
	byName := map[string]aegir.Package{}
	for _, p := range platform {
		byName[p.Name] = p
	}
	// The CLI installer loads every skin of the codebase, no extension.
	var want []aegir.Package
	for _, p := range platform {
		if p.Type == "skin" {
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		t.Fatal("the platform has no skins")
	}
	got := pkgs[1:]
	if len(got) != len(want) {
		t.Fatalf("site packages = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("package %d = %+v, want %+v", i+1, got[i], want[i])
		}
	}
}

func TestSitePackagesReadsTheLoadCallsOutsideComments(t *testing.T) {
	root, _ := filepath.Abs("testdata/fakemw")
	dir := t.TempDir()
	s := &aegir.AppSite{URI: "w.example.com", Root: root, SiteDir: dir}
	settings := `<?php
# wfLoadExtension( 'ExtensionName' );
// wfLoadSkin( 'Commented' );
/* wfLoadExtension( 'Blocked' ); */
wfLoadSkin( 'BarSkin' );
wfLoadExtensions( [ 'FooExt', "Gone" ] );
wfLoadExtension( 'FooExt', "$IP/extensions/FooExt/extension.json" );
require __DIR__ . '/aegir.settings.php';
`
	if err := os.WriteFile(filepath.Join(dir, "LocalSettings.php"), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs, err := New(aegir.Env{}).SitePackages(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := []aegir.Package{
		{Name: "mediawiki", Type: "core", Version: "1.41.0"},
		{Name: "FooExt", Type: "extension", Version: "0.3.0", Path: "extensions/FooExt"},
		{Name: "Gone", Type: "extension"},
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

// foreignSettings is a LocalSettings.php as MediaWiki's installer writes it.
const foreignSettings = `<?php
# $wgDBname = "commented";
$wgSitename = "Old Wiki";
## Database settings
$wgDBtype = "mysql";
$wgDBserver = "db.example.com:3307";
$wgDBname = "old_wiki";
$wgDBuser = 'wiki_user';
$wgDBpassword = "it's a \$ecret \"pw\"";
$wgLanguageCode = "de";
$wgSecretKey = "0123";
wfLoadSkin( 'Vector' );
`

func TestReadSettingsOfAForeignLocalSettings(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "wiki.example.com", URL: "http://wiki.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "wiki.example.com")}
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.SiteDir, "LocalSettings.php")
	if err := os.WriteFile(path, []byte(foreignSettings), 0o640); err != nil {
		t.Fatal(err)
	}
	m := New(aegir.Env{})
	got, err := m.ReadSettings(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := aegir.SiteSettings{
		DB:      aegir.DBCredentials{Type: "mysql", Host: "db.example.com", Port: 3307, Name: "old_wiki", User: "wiki_user", Password: `it's a $ecret "pw"`},
		Profile: "standard", Language: "de",
	}
	if *got != want {
		t.Errorf("settings = %+v\nwant %+v", *got, want)
	}

	// Once aegir has cloaked the file, the credentials are not in it.
	if err := m.WriteSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	_, err = m.ReadSettings(context.Background(), s)
	if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "cloaked") {
		t.Errorf("ReadSettings of aegir's settings: %v, want EINVALID saying they are cloaked", err)
	}
	// So are credentials read from anywhere else.
	dynamic := strings.Replace(foreignSettings, `$wgDBpassword = "it's a \$ecret \"pw\"";`, `$wgDBpassword = getenv('PW');`, 1)
	if err := os.WriteFile(path, []byte(dynamic), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = m.ReadSettings(context.Background(), s)
	if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "$wgDBpassword") {
		t.Errorf("ReadSettings with getenv: %v, want EINVALID naming $wgDBpassword", err)
	}
}

func TestSplitDBServer(t *testing.T) {
	for _, c := range []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{"localhost", "localhost", 3306, false},
		{"127.0.0.1:3307", "127.0.0.1", 3307, false},
		{"[::1]:3308", "::1", 3308, false},
		{"[::1]", "::1", 3306, false},
		{"db:port", "", 0, true},
		{":3306", "", 0, true},
	} {
		host, port, err := splitDBServer(c.in, 3306)
		if (err != nil) != c.bad || host != c.host || port != c.port {
			t.Errorf("splitDBServer(%q) = %q, %d, %v", c.in, host, port, err)
		}
	}
}

func TestRewriteURIAndDeleteSiteHaveNothingToDo(t *testing.T) {
	m := New(aegir.Env{})
	s := &aegir.AppSite{URI: "new.example.com", URL: "http://new.example.com"}
	if err := m.RewriteURI(context.Background(), s, "old.example.com", "http://old.example.com"); err != nil {
		t.Error(err)
	}
	if err := m.RewriteURI(context.Background(), s, "../old", ""); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("bad old URI: %v, want EINVALID", err)
	}
	if err := m.DeleteSite(context.Background(), s); err != nil {
		t.Error(err)
	}
}
