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

// crash runs a task that stops before step, as a kill -9 would, with
// nothing undone.
func (w *wpSite) crash(task, name, step string, args map[string]string) {
	w.t.Helper()
	r, err := w.backend.Run(context.Background(), task, name, aegir.TaskOptions{Args: args, CrashAt: step})
	if err == nil || !strings.Contains(err.Error(), "crash-at") {
		w.t.Fatalf("%s did not stop before %q as a crash would: %v\n%s", task, step, err, logText(r))
	}
}

// databases lists the databases of the test whose names start with prefix.
func (w *wpSite) databases(prefix string) []string {
	w.t.Helper()
	rows, err := teststack.RootDB(w.t).Query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", prefix+"%")
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// noRecord fails the test when a task's record is left on the platform.
func (w *wpSite) noRecord(platform string) {
	w.t.Helper()
	left, _ := filepath.Glob(filepath.Join(w.paths.Platforms(), platform, "sites", ".aegir-task-*"))
	if len(left) > 0 {
		w.t.Errorf("records left after the verify: %v", left)
	}
}

// TestVerifyUndoesARestoreThatDied stops a restore after its copy of the
// backup took the site's place and before the site's context named the
// new database: the site would serve the backup's files with the data of
// now. The verify puts back the directory the restore had set aside and
// drops the new database, so the site is as it was before the restore,
// files and data alike, and a restore then succeeds.
func TestVerifyUndoesARestoreThatDied(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.backend.Archiver = &tarball.Archiver{}
	backup := aegir.PartOf[aegir.BackupMade](w.mustRun(aegir.TaskBackup, "@"+w.uri, nil).Data).File
	w.exec("UPDATE `%s`.wp_posts SET post_content = 'written after the backup' WHERE ID = 1")
	dir := filepath.Join(w.paths.Platforms(), "wp", "sites", w.uri)
	if err := os.WriteFile(filepath.Join(dir, "files", "after.txt"), []byte("after"), 0o644); err != nil {
		t.Fatal(err)
	}

	w.crash(aegir.TaskRestore, "@"+w.uri, "context", map[string]string{"file": backup})
	if _, err := os.Stat(filepath.Join(dir, "files", "after.txt")); err == nil {
		t.Fatal("the restore stopped before its copy took the site's place")
	}
	if got := w.databases(w.db); len(got) != 2 {
		t.Fatalf("databases %v, want the site's and the restore's new one", got)
	}

	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if !logHas(r, "warning", "undoing it") || !logHas(r, "warning", "put back "+dir) {
		t.Errorf("the verify does not say it undid the restore:\n%s", logText(r))
	}
	if _, err := os.Stat(filepath.Join(dir, "files", "after.txt")); err != nil {
		t.Errorf("the site's files are not those of before the restore: %v", err)
	}
	if got := w.databases(w.db); len(got) != 1 || got[0] != w.db {
		t.Errorf("databases %v, want %s alone", got, w.db)
	}
	w.noRecord("wp")
	expect(t, w.plain+"/", nil, 200, "written after the backup")

	w.mustRun(aegir.TaskRestore, "@"+w.uri, map[string]string{"file": backup})
	expect(t, w.plain+"/", nil, 200, "about us")
}

// TestVerifyUndoesACloneThatDied stops a clone after its copy was brought
// up (directory, database, vhost) and before the copy had a context: a
// copy of the site nobody knows of, served under its new name. The verify
// of the site sets the copy aside, removes its vhost and drops its
// database; the clone then succeeds.
func TestVerifyUndoesACloneThatDied(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.backend.Archiver = &tarball.Archiver{}
	twin := w.site("twin")
	w.crash(aegir.TaskClone, "@"+w.uri, "context", map[string]string{"new_uri": twin})
	copyDir := filepath.Join(w.paths.Platforms(), "wp", "sites", twin)
	vhost := filepath.Join(w.paths.ServerConfig("server_master"), "nginx", "vhost.d", twin+".conf")
	for _, p := range []string{copyDir, vhost} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the stopped clone left no %s: %v", p, err)
		}
	}

	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if !logHas(r, "warning", "set aside "+copyDir) {
		t.Errorf("the verify does not say it set the copy aside:\n%s", logText(r))
	}
	for _, p := range []string{copyDir, vhost} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	if got := w.databases("twin" + w.token); len(got) != 0 {
		t.Errorf("the copy's database is still there: %v", got)
	}
	w.noRecord("wp")
	expect(t, w.plain+"/", nil, 200, "about us")

	w.mustRun(aegir.TaskClone, "@"+w.uri, map[string]string{"new_uri": twin})
	expect(t, strings.Replace(w.plain, w.uri, twin, 1)+"/", nil, 200, "about us")
}

// TestVerifyFinishesAMigrateToANewNameThatDied stops a migrate under a new
// name after the copy took over under that name (its context names the
// database the tables moved into) and before the old name was retired:
// both names have a context, the old one's database is gone. The verify of
// the old name finishes the migrate: it removes the old name's vhost and
// context and sets its directory aside, and says the site is under its new
// name, which serves it.
func TestVerifyFinishesAMigrateToANewNameThatDied(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.secondPlatform()
	moved := w.site("moved")
	w.crash(aegir.TaskMigrate, "@"+w.uri, "remove old context", map[string]string{"platform": "@platform_wpnew", "new_uri": moved})
	for _, name := range []string{w.uri, moved} {
		if _, err := w.store.Get(context.Background(), name); err != nil {
			t.Fatalf("the stopped migrate left no context @%s: %v", name, err)
		}
	}

	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if !logHas(r, "warning", "is @"+moved+" now") {
		t.Errorf("the verify does not say the site has its new name:\n%s", logText(r))
	}
	if _, err := w.store.Get(context.Background(), w.uri); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("the old name still has its context: %v", err)
	}
	oldDir := filepath.Join(w.paths.Platforms(), "wp", "sites", w.uri)
	vhost := filepath.Join(w.paths.ServerConfig("server_master"), "nginx", "vhost.d", w.uri+".conf")
	for _, p := range []string{oldDir, vhost} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	w.noRecord("wp")
	w.mustRun(aegir.TaskVerify, "@"+moved, nil)
	expect(t, strings.Replace(w.plain, w.uri, moved, 1)+"/", nil, 200, "about us")
}

// TestVerifyUndoesAMigrateToANewNameThatDiedAfterItsRewrite stops a
// migrate under a new name after it rewrote the moved data to the new
// name, and before the new name had a context: the verify moves the tables
// back and imports the dump taken before the move over them, so the site
// holds its own address again and serves under its name.
func TestVerifyUndoesAMigrateToANewNameThatDiedAfterItsRewrite(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.secondPlatform()
	moved := w.site("moved")
	w.crash(aegir.TaskMigrate, "@"+w.uri, "vhost", map[string]string{"platform": "@platform_wpnew", "new_uri": moved})

	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if !logHas(r, "warning", "moved the tables of") || !logHas(r, "warning", "had changed the data it moved") {
		t.Errorf("the verify does not say it moved the tables back and imported the dump:\n%s", logText(r))
	}
	w.wantAddress(w.plain)
	expect(t, w.plain+"/", nil, 200, "about us")
	if got := w.databases("moved" + w.token); len(got) != 0 {
		t.Errorf("the new name's database is still there: %v", got)
	}
	w.noRecord("wp")
}
