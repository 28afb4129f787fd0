package drupal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
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

// TestLockVersionsFillWhatInfoFilesLack: an extension installed from git
// has no version in its .info.yml; the project's composer.lock tells it.
func TestLockVersionsFillWhatInfoFilesLack(t *testing.T) {
	t.Parallel()
	project := t.TempDir()
	root := filepath.Join(project, "web")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	lock := `{"packages": [{"name": "drupal/token", "version": "1.15.0", "type": "drupal-module"},
		{"name": "drupal/gin", "version": "3.1.0", "type": "drupal-theme"},
		{"name": "symfony/console", "version": "v6.4.0", "type": "library"}]}`
	if err := os.WriteFile(filepath.Join(project, "composer.lock"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs := []aegir.Package{
		{Name: "token", Type: "module", Path: "modules/contrib/token"},
		{Name: "token_submodule", Type: "module", Path: "modules/contrib/token/modules/token_submodule"},
		{Name: "gin", Type: "theme", Version: "3.0.0", Path: "themes/contrib/gin"}, // the .info.yml's wins
		{Name: "mine", Type: "module", Path: "modules/custom/mine"},
	}
	if err := lockVersions(root, pkgs); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"1.15.0", "1.15.0", "3.0.0", ""} {
		if pkgs[i].Version != want {
			t.Errorf("%s: version %q, want %q", pkgs[i].Name, pkgs[i].Version, want)
		}
	}
}
