package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMigrateRefusesATargetWithAnOlderSchema makes the target platform's
// WordPress core older in schema than the site's database: the package
// report says error and the migrate is refused before anything changes.
func TestMigrateRefusesATargetWithAnOlderSchema(t *testing.T) {
	s := newStack(t)
	s.setup()
	wpRoot := s.platform("wp", "/usr/share/wordpress")
	oldRoot := s.platform("wpold", "/usr/share/wordpress")
	version := filepath.Join(oldRoot, "wp-includes", "version.php")
	code, err := os.ReadFile(version)
	if err != nil {
		t.Fatal(err)
	}
	older := regexp.MustCompile(`\$wp_db_version = \d+;`).ReplaceAll(code, []byte(`$wp_db_version = 1000;`))
	if err := os.WriteFile(version, older, 0o644); err != nil {
		t.Fatal(err)
	}
	uri := "schema." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+uri)

	before := s.state(wpRoot, oldRoot)
	r, err := s.task("migrate", "@"+uri, "@platform_wpold")
	if err == nil {
		t.Fatal("migrated onto a platform whose schema is older than the site's")
	}
	log := fmt.Sprint(r.Log)
	if !strings.Contains(log, "wordpress") || !strings.Contains(log, "--force") {
		t.Fatalf("the refusal does not name the package and the way out: %s", log)
	}
	report := fmt.Sprint(r.Data["package_report"])
	if !strings.Contains(report, "error") {
		t.Fatalf("package report = %s, want an error row", report)
	}
	if d := before.diff(s.state(wpRoot, oldRoot)); d != "" {
		t.Fatalf("a refused migrate changed things:\n%s", d)
	}
	s.mustServe(s.url(uri, "/"), uri)
}
