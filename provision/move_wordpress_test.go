package provision_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/tarball"
)

// secondPlatform adds @platform_wpnew, another WordPress codebase, to the
// site's stack, and the archiver a migrate's backup needs.
func (w *wpSite) secondPlatform() {
	w.t.Helper()
	w.backend.Archiver = &tarball.Archiver{}
	root := filepath.Join(w.paths.Platforms(), "wpnew")
	if err := teststack.LinkTree("/usr/share/wordpress", root); err != nil {
		w.t.Fatal(err)
	}
	w.save("@platform_wpnew", aegir.PlatformContext, map[string]string{"root": root})
	w.mustRun(aegir.TaskVerify, "@platform_wpnew", nil)
}

// databaseExists asks MariaDB whether name exists.
func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := teststack.RootDB(t).QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestMigrateKeepsTheDatabaseItsCopyNeedsUnchanged migrates a WordPress
// site to another platform of the same version on the same servers: its
// data need no change there, so the copy keeps the site's database as it
// is (neither moved nor copied, and so never missing while the old copy
// still serves), the record goes, the backup the migrate leaves holds the
// data, and the site serves from the new platform with its content.
func TestMigrateKeepsTheDatabaseItsCopyNeedsUnchanged(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.secondPlatform()
	oldDB := w.db
	r := w.mustRun(aegir.TaskMigrate, "@"+w.uri, map[string]string{"platform": "@platform_wpnew"})
	if !logHas(r, "info", "keeps its database "+oldDB) {
		t.Errorf("the log does not tell the database was kept:\n%s", logText(r))
	}
	if logHas(r, "info", "moved 12 tables") || logHas(r, "info", "dropping the old database") {
		t.Errorf("the migrate moved or dropped the database it keeps:\n%s", logText(r))
	}
	c, err := w.store.Get(context.Background(), w.uri)
	if err != nil {
		t.Fatal(err)
	}
	if c.Site.Platform != "@platform_wpnew" || c.Site.DBName != oldDB {
		t.Fatalf("after the migrate the site is on %s with database %s, want @platform_wpnew and %s", c.Site.Platform, c.Site.DBName, oldDB)
	}
	if !databaseExists(t, oldDB) {
		t.Fatalf("the database %s is gone", oldDB)
	}
	record := filepath.Join(w.paths.Platforms(), "wp", "sites", ".aegir-task-"+w.uri)
	if _, err := os.Stat(record); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the record of the migrate is left behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(w.paths.Platforms(), "wp", "sites", w.uri)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old directory is left behind: %v", err)
	}
	w.wantAddress(w.plain)
	expect(t, w.plain+"/", nil, 200, "about us")

	// The backup holds the data as it was: restored, the site serves it.
	backup := aegir.PartOf[aegir.BackupMade](r.Data).File
	w.exec("UPDATE `%s`.wp_posts SET post_content = 'changed after the migrate' WHERE ID = 1")
	w.mustRun(aegir.TaskRestore, "@"+w.uri, map[string]string{"file": backup})
	c, err = w.store.Get(context.Background(), w.uri)
	if err != nil {
		t.Fatal(err)
	}
	w.db = c.Site.DBName
	w.wantAddress(w.plain)
	expect(t, w.plain+"/", nil, 200, "about us")
}

// TestFailedSharedMigrateLeavesTheSiteAsItWas fails a migrate that keeps
// the site's database at its vhost step: the site stays on its platform
// with its database and serves, and no copy is left on the other.
func TestFailedSharedMigrateLeavesTheSiteAsItWas(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.secondPlatform()
	_, err := w.backend.Run(context.Background(), aegir.TaskMigrate, "@"+w.uri,
		aegir.TaskOptions{Args: map[string]string{"platform": "@platform_wpnew"}, FailAt: "remove old vhost"})
	if err == nil {
		t.Fatal("the migrate did not fail")
	}
	c, err := w.store.Get(context.Background(), w.uri)
	if err != nil {
		t.Fatal(err)
	}
	if c.Site.Platform != "@platform_wp" || c.Site.DBName != w.db || !databaseExists(t, w.db) {
		t.Fatalf("after the failed migrate the site is on %s with database %s (there: %v)", c.Site.Platform, c.Site.DBName, databaseExists(t, w.db))
	}
	if _, err := os.Stat(filepath.Join(w.paths.Platforms(), "wpnew", "sites", w.uri)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a copy is left on the other platform: %v", err)
	}
	w.wantAddress(w.plain)
	expect(t, w.plain+"/", nil, 200, "about us")
}

// TestVerifyFinishesASharedMigrateThatDied stops a migrate that keeps the
// site's database after the site's context moved to the new platform and
// before its cleanup: a verify finishes it, setting the old directory
// aside and keeping the database the site serves from.
func TestVerifyFinishesASharedMigrateThatDied(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.secondPlatform()
	_, err := w.backend.Run(context.Background(), aegir.TaskMigrate, "@"+w.uri,
		aegir.TaskOptions{Args: map[string]string{"platform": "@platform_wpnew"}, CrashAt: "remove old vhost"})
	if err == nil || !strings.Contains(err.Error(), "crash-at") {
		t.Fatalf("the migrate did not stop as a crash would: %v", err)
	}
	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if !logHas(r, "warning", "finishing it") {
		t.Errorf("the verify does not say it finished the migrate:\n%s", logText(r))
	}
	if !databaseExists(t, w.db) {
		t.Fatalf("the recovery dropped the database %s the site serves from", w.db)
	}
	if _, err := os.Stat(filepath.Join(w.paths.Platforms(), "wp", "sites", w.uri)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old directory is still in place: %v", err)
	}
	expect(t, w.plain+"/", nil, 200, "about us")
}

// TestFailedMigrateMovesTheTablesBackAsTheyWere fails a migrate under a
// new name after its URI rewrite has changed the moved tables: the undo
// moves them back and imports the dump taken before the move, so the old
// database holds the old address again, the new one is gone, and the site
// serves as before. A failure before any change only moves them back.
func TestFailedMigrateMovesTheTablesBackAsTheyWere(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.secondPlatform()
	args := map[string]string{"platform": "@platform_wpnew", "new_uri": w.site("moved")}
	for _, step := range []string{"vhost", "permissions"} {
		r, err := w.backend.Run(context.Background(), aegir.TaskMigrate, "@"+w.uri, aegir.TaskOptions{Args: args, FailAt: step})
		if err == nil {
			t.Fatalf("the migrate did not fail at %s", step)
		}
		if !logHas(r, "info", "moved 12 tables of database "+w.db) {
			t.Errorf("failing at %s: the log does not tell the tables moved:\n%s", step, logText(r))
		}
		reimported := logHas(r, "info", "importing the dump taken before the move")
		if want := step == "vhost"; reimported != want {
			t.Errorf("failing at %s: the dump was imported again: %v, want %v:\n%s", step, reimported, want, logText(r))
		}
		if !databaseExists(t, w.db) {
			t.Fatalf("failing at %s: the old database %s is gone", step, w.db)
		}
		w.wantAddress(w.plain)
		expect(t, w.plain+"/", nil, 200, "about us")
		var left int
		if err := teststack.RootDB(t).QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", "moved"+w.token+"%").Scan(&left); err != nil || left != 0 {
			t.Errorf("failing at %s: %d new databases left behind (%v):\n%s", step, left, err, logText(r))
		}
	}
}

// TestVerifyMovesBackTheTablesOfAMigrateThatDied stops a migrate under a
// new name (which moves the tables: its copy rewrites them) as a crash
// would, after it moved the site's tables and before its copy took the
// site's place: the site's context still names the old database, which
// is gone. The record the migrate left beside the site's directory lets a
// verify of the site move the tables back; the site then serves as before.
func TestVerifyMovesBackTheTablesOfAMigrateThatDied(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.secondPlatform()
	_, err := w.backend.Run(context.Background(), aegir.TaskMigrate, "@"+w.uri,
		aegir.TaskOptions{Args: map[string]string{"platform": "@platform_wpnew", "new_uri": w.site("moved")}, CrashAt: "swap in"})
	if err == nil || !strings.Contains(err.Error(), "crash-at") {
		t.Fatalf("the migrate did not stop as a crash would: %v", err)
	}
	if databaseExists(t, w.db) {
		t.Fatalf("the tables of %s did not move before the crash", w.db)
	}
	record := filepath.Join(w.paths.Platforms(), "wp", "sites", ".aegir-task-"+w.uri)
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("no record of the move beside the site: %v", err)
	}

	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if !logHas(r, "warning", "back into "+w.db) {
		t.Errorf("the verify does not tell it moved the tables back:\n%s", logText(r))
	}
	if _, err := os.Stat(record); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the record is still there after the recovery: %v", err)
	}
	w.wantAddress(w.plain)
	expect(t, w.plain+"/", nil, 200, "about us")

	// A second verify has nothing to recover, and the migrate now succeeds.
	r = w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if logHas(r, "warning", "moved the tables") {
		t.Errorf("a second verify moved tables again:\n%s", logText(r))
	}
	w.mustRun(aegir.TaskMigrate, "@"+w.uri, map[string]string{"platform": "@platform_wpnew"})
	expect(t, w.plain+"/", nil, 200, "about us")
}

// TestVerifySetsAsideTheCopyOfAMigrateThatDied: a migrate stopped after its
// copy of the site took its place on the new platform, but before the
// site's context moved there, leaves the site's directory on both
// platforms. A verify of the site (which serves from the platform its
// context names) sets the other copy aside under a name no web server
// serves and no platform verify takes for a site, says where, and the
// migrate then succeeds.
func TestVerifySetsAsideTheCopyOfAMigrateThatDied(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.secondPlatform()
	_, err := w.backend.Run(context.Background(), aegir.TaskMigrate, "@"+w.uri,
		aegir.TaskOptions{Args: map[string]string{"platform": "@platform_wpnew"}, CrashAt: "context"})
	if err == nil || !strings.Contains(err.Error(), "crash-at") {
		t.Fatalf("the migrate did not stop as a crash would: %v", err)
	}
	copyDir := filepath.Join(w.paths.Platforms(), "wpnew", "sites", w.uri)
	if _, err := os.Stat(copyDir); err != nil {
		t.Fatalf("the stopped migrate left no copy on the new platform: %v", err)
	}

	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if !logHas(r, "warning", "set aside "+copyDir) {
		t.Errorf("the verify does not say it set the copy aside:\n%s", logText(r))
	}
	if _, err := os.Stat(copyDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the copy is still in place: %v", err)
	}
	aside, _ := filepath.Glob(filepath.Join(w.paths.Platforms(), "wpnew", "sites", ".aegir-stray-"+w.uri+"-*"))
	if len(aside) != 1 {
		t.Fatalf("set aside as %v", aside)
	}
	expect(t, w.plain+"/", nil, 200, "about us")
	w.mustRun(aegir.TaskMigrate, "@"+w.uri, map[string]string{"platform": "@platform_wpnew"})
	expect(t, w.plain+"/", nil, 200, "about us")
}
