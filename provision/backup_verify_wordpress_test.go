package provision_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/tarball"
)

// TestBackupVerifyRestoresIntoScratchAndLeavesNothing backs up a WordPress
// site and verifies the backup: the task restores it into a scratch
// database and directory, reads the site's packages through PHP there,
// reports the backup verified and leaves neither behind, while the site
// itself still serves. A corrupted copy of the backup, and an archive whose
// dump is not SQL, fail the verify, naming the archive, and leave nothing
// behind either.
func TestBackupVerifyRestoresIntoScratchAndLeavesNothing(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.backend.Archiver = &tarball.Archiver{}
	file := aegir.PartOf[aegir.BackupMade](w.mustRun(aegir.TaskBackup, "@"+w.uri, nil).Data).File
	scratchDB := provision.DatabaseName("verify."+w.uri, 0)
	scratchDir := filepath.Join(w.paths.Platforms(), "wp", "sites", ".aegir-verify-"+w.uri)
	nothingLeft := func() {
		t.Helper()
		if dbs := w.databases(scratchDB); len(dbs) > 0 {
			t.Errorf("scratch databases left: %v", dbs)
		}
		if _, err := os.Lstat(scratchDir); err == nil {
			t.Errorf("scratch directory %s left", scratchDir)
		}
	}

	before := time.Now()
	r := w.mustRun(aegir.TaskBackupVerify, "@"+w.uri, nil) // the newest backup
	v := aegir.PartOf[aegir.BackupVerified](r.Data)
	if v == nil || v.VerifiedFile != file || v.VerifiedAt.Before(before.Add(-time.Second)) {
		t.Errorf("verified %+v, want %s now", v, file)
	}
	if !logHas(r, "info", "boots on "+filepath.Base(file)) {
		t.Errorf("the verify did not boot the app:\n%s", logText(r))
	}
	if got := aegir.PartOf[aegir.SiteFacts](r.Data).DBName; got != w.db {
		t.Errorf("the verify reports database %s, want the site's %s", got, w.db)
	}
	nothingLeft()
	expect(t, w.plain+"/", nil, 200, "about us")

	// A later backup whose archive is cut short.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(filepath.Dir(file), w.uri+"-"+time.Now().Add(time.Hour).Format("20060102.150405")+".tar.gz")
	if err := os.WriteFile(bad, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad+".sha256", []byte("0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err = w.run(aegir.TaskBackupVerify, "@"+w.uri, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Base(bad)) {
		t.Errorf("the verify of a corrupt archive: %v, want a failure naming %s\n%s", err, filepath.Base(bad), logText(r))
	}
	if v := aegir.PartOf[aegir.BackupVerified](r.Data); v != nil && !v.VerifiedAt.IsZero() {
		t.Errorf("a corrupt archive reported verified: %+v", v)
	}
	nothingLeft()
	expect(t, w.plain+"/", nil, 200, "about us")

	// A sound archive whose dump is not SQL.
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "database.sql"), []byte("THIS IS NOT SQL;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(filepath.Dir(file), w.uri+"-"+time.Now().Add(2*time.Hour).Format("20060102.150405")+".tar.gz")
	if _, err := (&tarball.Archiver{}).Create(t.Context(), junk, src); err != nil {
		t.Fatal(err)
	}
	r, err = w.run(aegir.TaskBackupVerify, "@"+w.uri, map[string]string{"file": filepath.Base(junk)})
	if err == nil || !strings.Contains(err.Error(), filepath.Base(junk)) || !strings.Contains(err.Error(), "THIS IS NOT SQL") && !strings.Contains(err.Error(), "syntax") {
		t.Errorf("the verify of a dump that does not import: %v, want a failure naming %s and the SQL error\n%s", err, filepath.Base(junk), logText(r))
	}
	nothingLeft()

	// A backup of another site is refused, by field.
	if _, err := w.run(aegir.TaskBackupVerify, "@"+w.uri, map[string]string{"file": "other.example-20250101.030000.tar.gz"}); aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "file") {
		t.Errorf("a backup of another site: %v, want an EINVALID error naming file", err)
	}
}
