package phpfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestSiteBlockRunsInPHP: the block PHP runs sets $aegir_custom to the
// custom values, however hostile, and includes the readable settings files
// in order, the site's local.settings.php last; a missing one is skipped.
func TestSiteBlockRunsInPHP(t *testing.T) {
	t.Parallel()
	teststack.Require(t, "php")
	dir := t.TempDir()
	shared := filepath.Join(dir, "global.inc")
	teststack.WriteFiles(t, dir, map[string]string{
		"global.inc":         "<?php $order[] = 'global'; $aegir_custom['from_global'] = 'g';\n",
		"local.settings.php": "<?php $order[] = 'local:' . $aegir_custom['cheesy'];\n",
	})
	custom := map[string]string{"cheesy": "cheddar", "hostile": "a'; echo 'pwned'; //?>\\"}
	code := "<?php\n$order = array();\n" + SiteBlock(custom, []string{shared, filepath.Join(dir, "missing.php")}) +
		"echo implode(',', $order), \"\\n\", $aegir_custom['hostile'], \"\\n\", $aegir_custom['from_global'];\n"
	settings := filepath.Join(dir, "settings.php")
	if err := os.WriteFile(settings, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("php", settings).CombinedOutput()
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	want := "global,local:cheddar\n" + custom["hostile"] + "\ng"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("php printed %q, want %q", got, want)
	}
}
