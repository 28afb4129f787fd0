package drupal

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSchema8FollowsDrupalsModuleInstaller: Drupal 8+ records at least 8000
// for an installed module, and at least what hook_update_last_removed()
// returns, as its ModuleInstaller does.
func TestSchema8FollowsDrupalsModuleInstaller(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, install string
		highest, want int
	}{
		{"none", "", 0, 8000},
		{"updates", "<?php\nfunction updates_update_10101() {}\n", 10101, 10101},
		{"removed", "<?php\n/**\n * Implements hook_update_last_removed().\n */\nfunction removed_update_last_removed() {\n  return 8003;\n}\n", 0, 8003},
		{"typed", "<?php\nfunction typed_update_last_removed(): int {\n  return 9201;\n}\n", 0, 9201},
		{"both", "<?php\nfunction both_update_last_removed() { return 8805; }\nfunction both_update_10000() {}\n", 10000, 10000},
	} {
		path := filepath.Join(dir, tc.name+".install")
		if tc.install != "" {
			if err := os.WriteFile(path, []byte(tc.install), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := schema8(path, tc.name, tc.highest); got != tc.want {
			t.Errorf("%s: schema %d, want %d", tc.name, got, tc.want)
		}
	}
}
