package provision

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestNewestBackupTakesOnlyCompleteBackupsOfTheSite: of the files in the
// backups directory, only the site's own archives, named as backupPath
// names them and with their checksum file, count; the newest by the
// second in the name wins, whatever the files' own times.
func TestNewestBackupTakesOnlyCompleteBackupsOfTheSite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, sum bool) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if sum {
			if err := os.WriteFile(filepath.Join(dir, name+".sha256"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, _ := newestBackup(dir, "a.test"); got != "" {
		t.Fatalf("an empty directory gave %s", got)
	}
	write("a.test-20261207.100000.tar.gz", true)
	write("a.test-20261207.110000_1.tar.zst", true)
	write("a.test-20261207.120000.tar.gz", false)      // no checksum: not complete
	write("a.test-20261207.130000.tar.gz.part", false) // being written
	write("a.test-x-20261207.140000.tar.gz", true)     // another site's
	write("b.a.test-20261207.150000.tar.gz", true)     // another site's
	write("a.test-20261207.160000_x.tar.gz", true)     // not a name backupPath makes
	write("a.test-20261207.170000.tar", true)          // nor that
	write("a.test-2026120.180000.tar.gz", true)        // nor that
	got, taken := newestBackup(dir, "a.test")
	if want := filepath.Join(dir, "a.test-20261207.110000_1.tar.zst"); got != want {
		t.Fatalf("newest backup = %s, want %s", got, want)
	}
	if want := time.Date(2026, 12, 7, 11, 0, 0, 0, time.Local); !taken.Equal(want) {
		t.Fatalf("taken at %s, want %s", taken, want)
	}
}
