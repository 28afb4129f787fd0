package provision

import (
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestHeavyTasksAreRefusedWhenLoadIsCritical(t *testing.T) {
	t.Parallel()
	load := 3.0
	b := &Backend{LoadLimit: 2, LoadAvg: func() (float64, error) { return load, nil }}
	if err := b.checkLoad(aegir.TaskMigrate); aegir.ErrorCode(err) != aegir.ECONFLICT {
		t.Fatalf("migrate at load 3 over 2: %v, want ECONFLICT", err)
	}
	if err := b.checkLoad(aegir.TaskVerify); err != nil {
		t.Fatalf("verify is light and runs at any load: %v", err)
	}
	load = 1
	if err := b.checkLoad(aegir.TaskMigrate); err != nil {
		t.Fatalf("migrate at load 1: %v", err)
	}
	b.LoadLimit = 0
	load = 100
	if err := b.checkLoad(aegir.TaskInstall); err != nil {
		t.Fatalf("no limit set: %v", err)
	}
	if got, err := LoadAvg(); err != nil || got < 0 {
		t.Fatalf("LoadAvg() = %v, %v", got, err)
	}
}
