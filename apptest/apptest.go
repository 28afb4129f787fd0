// Package apptest is the conformance suite of aegir.App: every app driver
// runs Exercise on a real codebase of its app, with a real database, and
// each method must do what the domain says of it, whatever the app:
// detect the codebase, list its packages (core first), prepare the
// platform, write settings that hold no password, install a site, make a
// login link for it (or say it has none), list its packages, run its
// cron, flush its caches, run its database updates, rewrite its address,
// refuse to read its own cloaked settings as an import, and delete what it
// keeps outside the site directory. An app drivers' own tests keep what is
// theirs.
//
// It imports the domain package and teststack only.
package apptest

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// Case is one app and a codebase of it to exercise.
type Case struct {
	// App is the driver under test; its Env has a real runner.
	App aegir.App
	// Root is a codebase of the app the suite may write into (a platform
	// of the test's own), whose platform was not verified yet.
	Root string
	// Installs: the app runs an installer that fills the database, and has
	// admin accounts that a login link opens. Without, Install only writes
	// what the site needs and LoginLink is EINVALID.
	Installs bool
	// Profile is the install profile to use, if the app has them.
	Profile string
}

// Exercise runs the suite. The subtests run in order on one site, each
// from the state the one before left.
func Exercise(t *testing.T, c Case) {
	ctx := context.Background()
	app, root := c.App, c.Root
	version, ok := app.Detect(root)
	if !ok {
		t.Fatalf("Detect(%s) does not recognise its own codebase", root)
	}
	t.Logf("version %q", version)
	if _, ok := app.Detect(t.TempDir()); ok && c.Installs {
		t.Fatal("Detect recognises an empty directory")
	}
	if err := app.VerifyPlatform(ctx, root); err != nil {
		t.Fatalf("VerifyPlatform: %v", err)
	}
	pkgs, err := app.Packages(ctx, root)
	if err != nil || len(pkgs) == 0 || pkgs[0].Type != "core" {
		t.Fatalf("Packages = %d packages, first %+v, %v: want core first", len(pkgs), first(pkgs), err)
	}

	db := teststack.TempDatabase(t, "aegir_app_")
	uri := "app" + teststack.RandomHex(t, 4) + ".test"
	s := &aegir.AppSite{
		URI: uri, Aliases: []string{"www." + uri}, URL: "http://" + uri, Root: root,
		SiteDir: filepath.Join(root, "sites", uri), Profile: c.Profile, Language: "en",
		Email: "admin@" + uri, DB: db, WebGroup: "www-data",
	}
	teststack.MakeSiteDir(t, s.SiteDir, app.WritableDirs()...)
	t.Cleanup(func() { os.RemoveAll(s.SiteDir) })

	t.Run("WriteSettings holds no secret", func(t *testing.T) {
		if err := app.WriteSettings(ctx, s); err != nil {
			t.Fatal(err)
		}
		noSecretIn(t, s.SiteDir, db.Password)
	})

	t.Run("Install", func(t *testing.T) {
		if err := app.Install(ctx, s, aegir.Admin{Name: "admin", Email: s.Email, Password: "Adm1n-" + teststack.RandomHex(t, 8)}); err != nil {
			t.Fatal(err)
		}
		size := tables(t, db)
		if c.Installs && size == 0 {
			t.Fatal("the install left the database empty")
		}
		// Neither the settings nor what the installer wrote hold it.
		noSecretIn(t, s.SiteDir, db.Password)
		if rel := app.SettingsFile(); rel != "" {
			if _, err := os.Stat(filepath.Join(s.SiteDir, rel)); err != nil {
				t.Fatalf("no %s after the install: %v", rel, err)
			}
		}
		if wi, ok := app.(aegir.WebInstaller); ok && wi.InstallsOverTheWeb() != c.Installs {
			t.Fatalf("InstallsOverTheWeb = %v for an app whose Installs is %v", wi.InstallsOverTheWeb(), c.Installs)
		}
	})

	t.Run("LoginLink", func(t *testing.T) {
		link, err := app.LoginLink(ctx, s)
		switch {
		case c.Installs && (err != nil || !strings.HasPrefix(link, s.URL+"/")):
			t.Fatalf("LoginLink = %q, %v: want a link on %s", link, err, s.URL)
		case !c.Installs && aegir.ErrorCode(err) != aegir.EINVALID:
			t.Fatalf("LoginLink of an app without accounts = %q, %v: want EINVALID", link, err)
		}
	})

	t.Run("SitePackages", func(t *testing.T) {
		used, err := app.SitePackages(ctx, s)
		if err != nil || len(used) == 0 || used[0].Type != "core" {
			t.Fatalf("SitePackages = %+v, %v: want core first", first(used), err)
		}
	})

	t.Run("Cron, FlushCache, UpdateDatabase", func(t *testing.T) {
		for name, fn := range map[string]func(context.Context, *aegir.AppSite) error{
			"Cron": app.Cron, "FlushCache": app.FlushCache, "UpdateDatabase": app.UpdateDatabase,
		} {
			if err := fn(ctx, s); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	t.Run("RewriteURI", func(t *testing.T) {
		if err := app.RewriteURI(ctx, s, "old-"+uri, "http://old-"+uri); err != nil {
			t.Fatal(err)
		}
		if err := app.RewriteURI(ctx, s, "../etc", "http://x"); aegir.ErrorCode(err) != aegir.EINVALID {
			t.Fatalf("RewriteURI from an invalid name: %v, want EINVALID", err)
		}
	})

	t.Run("ReadSettings of its own cloaked settings", func(t *testing.T) {
		got, err := app.ReadSettings(ctx, s)
		if app.SettingsFile() == "" {
			if err != nil || got == nil || got.DB.Name != "" {
				t.Fatalf("ReadSettings of an app without settings = %+v, %v: want empty", got, err)
			}
			return
		}
		if aegir.ErrorCode(err) != aegir.EINVALID {
			t.Fatalf("ReadSettings = %+v, %v: want EINVALID (the credentials are the context's)", got, err)
		}
	})

	t.Run("DeleteSite", func(t *testing.T) {
		if err := app.DeleteSite(ctx, s); err != nil {
			t.Fatal(err)
		}
	})
}

// noSecretIn fails t when a file under dir holds secret.
func noSecretIn(t *testing.T, dir, secret string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s holds the database password", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tables counts the tables of db.
func tables(t *testing.T, db *aegir.DBCredentials) int {
	t.Helper()
	var n int
	if err := teststack.RootDB(t).QueryRow("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", db.Name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func first(pkgs []aegir.Package) any {
	if len(pkgs) == 0 {
		return nil
	}
	return pkgs[0]
}
