package static_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/static"
)

func TestDetectAnyDirectory(t *testing.T) {
	t.Parallel()
	app := static.New(aegir.Env{})
	dir := t.TempDir()
	if version, ok := app.Detect(dir); !ok || version != "" {
		t.Errorf("Detect(dir) = %q, %v; want \"\", true", version, ok)
	}
	file := filepath.Join(dir, "index.html")
	if err := os.WriteFile(file, []byte("<p>hi</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{file, filepath.Join(dir, "missing")} {
		if _, ok := app.Detect(root); ok {
			t.Errorf("Detect(%s) = true", root)
		}
	}
	name, _, _, err := aegir.DetectApp(dir, aegir.Env{})
	if err != nil || name != "static" {
		t.Errorf("DetectApp = %q, %v; want static", name, err)
	}
}

func TestStaticDoesNothingButServe(t *testing.T) {
	t.Parallel()
	log := aegir.NewTaskLog(nil)
	app := static.New(aegir.Env{Log: log})
	ctx := context.Background()
	root := t.TempDir()
	if err := app.VerifyPlatform(ctx, root); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "sites")); err != nil || !st.IsDir() {
		t.Errorf("no sites/ after verify: %v", err)
	}
	pkgs, err := app.Packages(ctx, root)
	if want := []aegir.Package{{Name: "static", Type: "core"}}; err != nil || !reflect.DeepEqual(pkgs, want) {
		t.Errorf("Packages = %v, %v; want %v", pkgs, err, want)
	}
	s := &aegir.AppSite{URI: "static.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "static.example.com")}
	if app.SettingsFile() != "" {
		t.Errorf("SettingsFile = %q, want none", app.SettingsFile())
	}
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Error(err)
	}
	if err := app.Install(ctx, s, aegir.Admin{Name: "admin"}); err != nil {
		t.Error(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "sites")); len(entries) != 0 {
		t.Errorf("static wrote %v in sites/", entries)
	}
	if _, err := app.LoginLink(ctx, s); aegir.ErrorCode(err) != aegir.EINVALID || err.Error() != "the static app has no login link" {
		t.Errorf("LoginLink: %v", err)
	}
	if p := app.Params(s); p != nil {
		t.Errorf("Params = %v", p)
	}
	if d := app.WritableDirs(); d != nil {
		t.Errorf("WritableDirs = %v", d)
	}
	if len(log.Entries()) != 1 {
		t.Errorf("log: %v", log.Entries())
	}
}

func TestStaticLifecycleDoesNothing(t *testing.T) {
	t.Parallel()
	log := aegir.NewTaskLog(nil)
	app := static.New(aegir.Env{Log: log})
	ctx := context.Background()
	root := t.TempDir()
	s := &aegir.AppSite{URI: "static.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "static.example.com")}
	pkgs, err := app.SitePackages(ctx, s)
	if want := []aegir.Package{{Name: "static", Type: "core"}}; err != nil || !reflect.DeepEqual(pkgs, want) {
		t.Errorf("SitePackages = %v, %v; want %v", pkgs, err, want)
	}
	settings, err := app.ReadSettings(ctx, s)
	if err != nil || settings == nil || *settings != (aegir.SiteSettings{}) {
		t.Errorf("ReadSettings = %+v, %v; want empty settings", settings, err)
	}
	for name, err := range map[string]error{
		"UpdateDatabase": app.UpdateDatabase(ctx, s),
		"RewriteURI":     app.RewriteURI(ctx, s, "old.example.com", "http://old.example.com"),
		"Cron":           app.Cron(ctx, s),
		"DeleteSite":     app.DeleteSite(ctx, s),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("the lifecycle wrote %v", entries)
	}
	if e := log.Entries(); len(e) != 0 {
		t.Errorf("log: %v", e)
	}
}
