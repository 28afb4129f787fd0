package provision

import (
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestBatchOutcomeCarriesTheBackupOfEachMigrate(t *testing.T) {
	t.Parallel()
	data := map[string]any{"backup_file": "/var/aegir/backups/a.example-20250101.030000.tar.gz", "size": int64(42), "sha256": "abc"}
	if got, want := *backupInfo(data), (aegir.ArchiveInfo{Path: "/var/aegir/backups/a.example-20250101.030000.tar.gz", Size: 42, SHA256: "abc"}); got != want {
		t.Errorf("backupInfo = %+v, want %+v", got, want)
	}
	if got := backupInfo(map[string]any{}); got != nil {
		t.Errorf("a failed migrate's outcome names backup %+v", got)
	}
}
