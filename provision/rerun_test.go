package provision_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/tarball"
)

// TestDeleteWorksOnASiteWhoseDirectoryIsGone: a delete that stopped after
// it removed the site's directory is run again; its backup holds the
// database alone, and the site is gone.
func TestDeleteWorksOnASiteWhoseDirectoryIsGone(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.backend.Archiver = &tarball.Archiver{}
	dir := filepath.Join(w.paths.Platforms(), "wp", "sites", w.uri)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	r := w.mustRun(aegir.TaskDelete, "@"+w.uri, nil)
	if !logHas(r, "warning", "holds its database only") {
		t.Errorf("the delete does not say its backup holds the database only:\n%s", logText(r))
	}
	out, err := exec.Command("tar", "-tzf", aegir.PartOf[aegir.BackupMade](r.Data).File).Output()
	if err != nil || !strings.Contains(string(out), "./database.sql") {
		t.Errorf("the backup holds no dump (%v):\n%s", err, out)
	}
	if _, err := w.store.Get(context.Background(), w.uri); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("the site still has its context: %v", err)
	}
	if got := w.databases(w.db); len(got) != 0 {
		t.Errorf("its database is still there: %v", got)
	}
}

// TestABackupTakesAnotherNameThanOneADeadBackupWasWriting: a backup killed
// while it wrote its archive leaves <name>.part, which the archiver
// refuses to take over; a backup run again within the same second picks
// the next name rather than failing (a delete run again after a crash
// did).
func TestABackupTakesAnotherNameThanOneADeadBackupWasWriting(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.backend.Archiver = &tarball.Archiver{}
	if err := os.MkdirAll(w.paths.Backups(), 0o700); err != nil {
		t.Fatal(err)
	}
	// The names of this second and the next two, should the clock turn.
	now := time.Now()
	for i := range 3 {
		part := filepath.Join(w.paths.Backups(), w.uri+"-"+now.Add(time.Duration(i)*time.Second).Format("20060102.150405")+".tar.gz.part")
		if err := os.WriteFile(part, []byte("half an archive"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := w.mustRun(aegir.TaskBackup, "@"+w.uri, nil)
	if file := aegir.PartOf[aegir.BackupMade](r.Data).File; !strings.HasSuffix(file, "_1.tar.gz") {
		t.Errorf("the backup is %s, want the name after the one being written", file)
	}
}
