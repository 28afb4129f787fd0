package provision

import (
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestBatchOutcomeCarriesTheBackupOfEachMigrate(t *testing.T) {
	t.Parallel()
	res := &aegir.MoveResult{}
	res.BackupMade = aegir.BackupMade{File: "/var/aegir/backups/a.example-20250101.030000.tar.gz", Size: 42, SHA256: "abc"}
	if got, want := *aegir.PartOf[aegir.BackupMade](res).Archive(), (aegir.ArchiveInfo{Path: "/var/aegir/backups/a.example-20250101.030000.tar.gz", Size: 42, SHA256: "abc"}); got != want {
		t.Errorf("backup = %+v, want %+v", got, want)
	}
	if got := aegir.PartOf[aegir.BackupMade](&aegir.MoveResult{}).Archive(); got != nil {
		t.Errorf("a failed migrate's outcome names backup %+v", got)
	}
}
