package provision_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/tarball"
)

// TestRestoreSkipsTheSafetyBackupOnlyWhenABackupHoldsTheSiteAsItIs
// restores a WordPress site right after a backup of it: that backup holds
// the site as it is, so the restore takes none of its own and says so.
// After a write to its database, and after a change of one of its files,
// the restore takes its safety backup again.
func TestRestoreSkipsTheSafetyBackupOnlyWhenABackupHoldsTheSiteAsItIs(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.backend.Archiver = &tarball.Archiver{}
	// A backup's name holds its second: the install's last write before it.
	time.Sleep(1100 * time.Millisecond)
	file := aegir.PartOf[aegir.BackupMade](w.mustRun(aegir.TaskBackup, "@"+w.uri, nil).Data).File
	restore := func() *aegir.Result {
		t.Helper()
		r := w.mustRun(aegir.TaskRestore, "@"+w.uri, map[string]string{"file": file})
		c, err := w.store.Get(context.Background(), w.uri)
		if err != nil {
			t.Fatal(err)
		}
		w.db = c.Site.DBName
		expect(t, w.plain+"/", nil, 200, "about us")
		return r
	}
	r := restore()
	if !logHas(r, "info", "no safety backup: "+file+" already holds @"+w.uri) {
		t.Errorf("the restore did not skip its safety backup:\n%s", logText(r))
	}
	if made := aegir.PartOf[aegir.BackupMade](r.Data); made != nil && made.File != "" {
		t.Errorf("the restore reports a backup %s it did not make", made.File)
	}

	// The restore made a new database: a backup after it, then a write.
	time.Sleep(1100 * time.Millisecond)
	file = aegir.PartOf[aegir.BackupMade](w.mustRun(aegir.TaskBackup, "@"+w.uri, nil).Data).File
	time.Sleep(1100 * time.Millisecond)
	w.exec("UPDATE `%s`.wp_options SET option_value = 'changed' WHERE option_name = 'blogdescription'")
	r = restore()
	if logHas(r, "info", "no safety backup") || aegir.PartOf[aegir.BackupMade](r.Data) == nil {
		t.Errorf("the restore skipped its safety backup after a write to the database:\n%s", logText(r))
	}

	// And a file changed after the newest backup.
	time.Sleep(1100 * time.Millisecond)
	file = aegir.PartOf[aegir.BackupMade](w.mustRun(aegir.TaskBackup, "@"+w.uri, nil).Data).File
	time.Sleep(1100 * time.Millisecond)
	uploads := filepath.Join(w.paths.Platforms(), "wp", "sites", w.uri, "files")
	if err := os.MkdirAll(uploads, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(uploads, "upload.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = restore()
	if logHas(r, "info", "no safety backup") || aegir.PartOf[aegir.BackupMade](r.Data) == nil {
		t.Errorf("the restore skipped its safety backup after a file changed:\n%s", logText(r))
	}
}
