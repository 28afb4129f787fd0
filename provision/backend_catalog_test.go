package provision

import (
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestEveryCatalogTaskHasItsSteps: each task of the catalog that the back
// end runs by name has a task function for each of its object types
// (noop is the dispatcher's, migrate-platform is Backend.MigratePlatform).
func TestEveryCatalogTaskHasItsSteps(t *testing.T) {
	t.Parallel()
	for _, tt := range aegir.Tasks() {
		if tt.Name == aegir.TaskNoop || tt.Name == aegir.TaskMigratePlatform {
			continue
		}
		for _, obj := range tt.Objects {
			if tasks[tt.Name][obj] == nil {
				t.Errorf("%s on a %s has no task function", tt.Name, obj)
			}
		}
	}
	for name, byType := range tasks {
		tt, ok := aegir.LookupTask(name)
		if !ok {
			t.Errorf("task function for %q, which the catalog lacks", name)
			continue
		}
		for obj := range byType {
			if !tt.RunsOn(obj) {
				t.Errorf("task function for %s on a %s, which the catalog does not run it on", name, obj)
			}
		}
	}
}
