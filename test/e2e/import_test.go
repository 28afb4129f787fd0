package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestImportAdoptsASiteFoundOnItsPlatform puts a WordPress site on a
// platform behind aegir's back, with a plain wp-config.php holding its
// credentials, as sites made before aegir are; platform verify finds it,
// and import reads its settings, cloaks them and serves it.
func TestImportAdoptsASiteFoundOnItsPlatform(t *testing.T) {
	s := newStack(t)
	s.setup()
	root := s.platform("wp", "/usr/share/wordpress")
	source := "src." + s.token + ".test"
	s.mustAegir("save", "@"+source, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+source)
	marker := "imported-" + s.token
	post := s.wpPost(root, source, marker)

	// The foreign site: a copy of the database under its own user, and a
	// site directory with literal credentials.
	foreign := "old." + s.token + ".test"
	creds := teststack.TempDatabase(t, "old"+s.token)
	dbName, pass := creds.Name, creds.Password
	dump, err := exec.Command("mysqldump", "-h127.0.0.1", "-uroot", str(s.siteContext(source)["db_name"])).Output()
	if err != nil {
		t.Fatal(err)
	}
	load := exec.Command("mysql", "-h127.0.0.1", "-uroot", dbName)
	load.Stdin = bytesReader(dump)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("load: %v %s", err, out)
	}
	s.wpPHP(root, source, fmt.Sprintf(`global $wpdb; $wpdb->query("UPDATE %s.wp_options SET option_value = 'http://%s:%d' WHERE option_name IN ('siteurl', 'home')");`, dbName, foreign, s.port))
	dir := filepath.Join(root, "sites", foreign)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.write(filepath.Join(dir, "wp-config.php"), fmt.Sprintf(`<?php
define('DB_NAME', '%s');
define('DB_USER', '%s');
define('DB_PASSWORD', '%s');
define('DB_HOST', '127.0.0.1:3306');
$table_prefix = 'wp_';
`, dbName, dbName, pass))

	r := s.mustTask("verify", "@platform_wp")
	if sites, _ := r.Data["sites"].([]any); !slices.Contains(sites, any(foreign)) {
		t.Fatalf("platform verify did not find %s: %v", foreign, r.Data["sites"])
	}
	s.mustAegir("save", "@"+foreign, "--context_type=site", "--platform=@platform_wp")
	r = s.mustTask("import", "@"+foreign)
	if r.Data["db_name"] != dbName {
		t.Fatalf("import read database %v, want %s", r.Data["db_name"], dbName)
	}
	s.mustServe(s.url(foreign, "/?p="+post), marker)
	if data, _ := os.ReadFile(filepath.Join(dir, "wp-config.php")); bytesContains(data, pass) {
		t.Fatal("the imported site's settings still hold its password")
	}
	// Imported sites are ordinary sites: verify and backup work.
	s.mustTask("verify", "@"+foreign)
	s.mustTask("backup", "@"+foreign)
}
