package drupal_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// checkLifecycle7 runs the site lifecycle methods on the real Drupal 7 site
// TestDrupal7Install made, served through client: the packages its
// database has enabled, cron, database updates (pending ones made by
// lowering schema versions, and a failing one), the rewrite of an old
// address and directory, reading settings for an import and deleting the
// site's sites.php lines.
func checkLifecycle7(t *testing.T, app aegir.App, s *aegir.AppSite, client *http.Client, log *aegir.TaskLog) {
	ctx := context.Background()
	db := s.DB.Name
	sql := func(q string, args ...any) string {
		t.Helper()
		return query(t, fmt.Sprintf("USE %s; ", db)+fmt.Sprintf(q, args...))
	}
	// Variables changed behind Drupal's back need its variable cache gone.
	setVariable := func(name, serialized string) {
		t.Helper()
		sql("REPLACE INTO variable (name, value) VALUES ('%s', '%s'); DELETE FROM cache_bootstrap WHERE cid = 'variables'", name, serialized)
	}
	variable := func(name string) string {
		t.Helper()
		return sql("SELECT value FROM variable WHERE name = '%s'", name)
	}
	schema := func(module string) int {
		t.Helper()
		n, err := strconv.Atoi(sql("SELECT schema_version FROM system WHERE name = '%s'", module))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	packages := func() map[string]aegir.Package {
		t.Helper()
		pkgs, err := app.SitePackages(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkgs) == 0 || pkgs[0].Name != "drupal" || pkgs[0].Type != "core" || !strings.HasPrefix(pkgs[0].Version, "7.") {
			t.Fatalf("SitePackages does not start with core drupal: %v", pkgs)
		}
		byName := map[string]aegir.Package{}
		for _, p := range pkgs {
			byName[p.Name] = p
		}
		return byName
	}

	t.Run("SitePackages", func(t *testing.T) {
		pkgs := packages()
		core := pkgs["drupal"].Version
		for name, want := range map[string]aegir.Package{
			"standard": {Name: "standard", Type: "profile", Version: core, Path: "profiles/standard"},
			"node":     {Name: "node", Type: "module", Version: core, Schema: schema("node"), Path: "modules/node"},
			"system":   {Name: "system", Type: "module", Version: core, Schema: schema("system"), Path: "modules/system"},
			"bartik":   {Name: "bartik", Type: "theme", Version: core, Path: "themes/bartik"},
		} {
			if got := pkgs[name]; got != want {
				t.Errorf("SitePackages %s = %+v, want %+v", name, got, want)
			}
		}
		if pkgs["node"].Schema < 7000 {
			t.Errorf("node schema %d: the {system} table says more", pkgs["node"].Schema)
		}
		for _, disabled := range []string{"forum", "blog", "php", "garland"} {
			if p, ok := pkgs[disabled]; ok {
				t.Errorf("SitePackages lists %s, which the standard profile does not enable: %+v", disabled, p)
			}
		}
		t.Logf("%d packages; node schema %d, system schema %d", len(pkgs), pkgs["node"].Schema, pkgs["system"].Schema)
	})

	t.Run("Cron", func(t *testing.T) {
		// A site in maintenance mode: no cron, a warning.
		setVariable("cron_last", "i:1;")
		setVariable("maintenance_mode", "i:1;")
		if err := app.Cron(ctx, s); err != nil {
			t.Fatal(err)
		}
		entries := log.Entries()
		if last := entries[len(entries)-1]; last.Level != aegir.LevelWarning || !strings.Contains(last.Message, "maintenance mode") {
			t.Errorf("Cron in maintenance mode logged %+v, want a warning", last)
		}
		if got := variable("cron_last"); got != "i:1;" {
			t.Errorf("cron ran in maintenance mode: cron_last %s", got)
		}
		setVariable("maintenance_mode", "i:0;")

		start := time.Now().Unix()
		if err := app.Cron(ctx, s); err != nil {
			t.Fatal(err)
		}
		got := variable("cron_last")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(got, "i:"), ";"), 10, 64)
		if n < start-1 {
			t.Errorf("cron_last after Cron = %s, want the time of the run (%d)", got, start)
		}
		t.Logf("cron_last %s", got)
	})

	t.Run("UpdateDatabase", func(t *testing.T) {
		if err := app.UpdateDatabase(ctx, s); err != nil {
			t.Fatalf("with nothing pending: %v", err)
		}
		// node_update_7016 makes {history}.nid unsigned again; dblog_update_7003
		// makes {watchdog} if it is missing: both can run twice.
		node, dblog := schema("node"), schema("dblog")
		sql("UPDATE system SET schema_version = %d WHERE name = 'node'; UPDATE system SET schema_version = %d WHERE name = 'dblog'; "+
			"ALTER TABLE history MODIFY nid INT NOT NULL DEFAULT 0", node-1, dblog-1)
		if p := packages()["node"]; p.Schema != node-1 {
			t.Errorf("SitePackages node schema %d after lowering it, want %d", p.Schema, node-1)
		}
		start := time.Now()
		if err := app.UpdateDatabase(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Logf("updates ran in %v", time.Since(start).Round(time.Millisecond))
		if got := schema("node"); got != node {
			t.Errorf("node schema after UpdateDatabase = %d, want %d", got, node)
		}
		if got := schema("dblog"); got != dblog {
			t.Errorf("dblog schema after UpdateDatabase = %d, want %d", got, dblog)
		}
		if got := sql("SELECT column_type FROM information_schema.columns WHERE table_schema = '%s' AND table_name = 'history' AND column_name = 'nid'", db); !strings.Contains(got, "unsigned") {
			t.Errorf("history.nid is %s: node_update_%d did not run", got, node)
		}
		if got := variable("maintenance_mode"); got != "" && got != "b:0;" && got != "i:0;" {
			t.Errorf("maintenance_mode after the updates = %s, want the site online", got)
		}

		// A module whose second pending update fails: the first stays done,
		// the error names the second, and the site is back online.
		mod := filepath.Join(s.SiteDir, "modules", "aegirt")
		teststack.WriteFiles(t, mod, map[string]string{
			"aegirt.info":   "name = Aegir test\ncore = 7.x\nversion = \"7.x-1.0\"\n",
			"aegirt.module": "<?php\n",
			"aegirt.install": "<?php\nfunction aegirt_update_7100() {\n  variable_set('aegirt_ran', 7100);\n}\n\n" +
				"function aegirt_update_7101() {\n  throw new DrupalUpdateException('deliberate failure of aegirt');\n}\n",
		})
		sql("INSERT INTO system (filename, name, type, owner, status, bootstrap, schema_version, weight, info) "+
			"VALUES ('sites/%s/modules/aegirt/aegirt.module', 'aegirt', 'module', '', 1, 0, 7000, 0, 'a:0:{}'); DELETE FROM cache_bootstrap", s.URI)
		t.Cleanup(func() {
			sql("DELETE FROM system WHERE name = 'aegirt'; DELETE FROM variable WHERE name = 'aegirt_ran'; DELETE FROM cache_bootstrap")
			os.RemoveAll(mod)
		})
		if p := packages()["aegirt"]; p.Version != "7.x-1.0" || p.Schema != 7000 || p.Path != "sites/"+s.URI+"/modules/aegirt" {
			t.Errorf("SitePackages aegirt = %+v", p)
		}
		err := app.UpdateDatabase(ctx, s)
		if err == nil || !strings.Contains(err.Error(), "aegirt_update_7101") || !strings.Contains(err.Error(), "deliberate failure of aegirt") {
			t.Errorf("UpdateDatabase with a failing update: %v", err)
		} else {
			t.Logf("failing update: %v", err)
		}
		if got := schema("aegirt"); got != 7100 {
			t.Errorf("aegirt schema after the failure = %d, want 7100", got)
		}
		if got := variable("aegirt_ran"); got != "i:7100;" {
			t.Errorf("aegirt_ran = %q: aegirt_update_7100 did not run", got)
		}
		if got := variable("maintenance_mode"); got != "" && got != "b:0;" && got != "i:0;" {
			t.Errorf("maintenance_mode after a failed update = %s, want the site online", got)
		}
		sql("DELETE FROM system WHERE name = 'aegirt'; DELETE FROM cache_bootstrap")
	})

	t.Run("RewriteURI", func(t *testing.T) {
		oldURI := "old-" + s.URI
		oldURL := "http://" + oldURI
		body := func(uri, url string) string {
			return fmt.Sprintf(`<p><a href="%[2]s/node">home</a> <img src="/sites/%[1]s/files/logo.png"> `+
				`<a href="//%[1]s/about">about</a> https://%[1]s/x</p><p>kept: %[2]s.au/x sites/%[1]s.bak/x</p>`, uri, url)
		}
		newHost := strings.TrimPrefix(s.URL, "http://")
		want := fmt.Sprintf(`<p><a href="%[2]s/node">home</a> <img src="/sites/%[1]s/files/logo.png"> `+
			`<a href="//%[3]s/about">about</a> %[2]s/x</p><p>kept: %[4]s.au/x sites/%[5]s.bak/x</p>`, s.URI, s.URL, newHost, oldURL, oldURI)
		nid := drupalPHP(t, s, fmt.Sprintf(`$node = new stdClass();
$node->type = 'page';
$node->title = 'Moved';
$node->language = LANGUAGE_NONE;
$node->uid = 1;
$node->status = 1;
$node->body[LANGUAGE_NONE][0] = array('value' => %s, 'summary' => '', 'format' => 'full_html');
node_save($node);
echo "\n", $node->nid;`, phpQuote(body(oldURI, oldURL))))
		setVariable("file_public_path", phpSerialize("sites/"+oldURI+"/files"))
		setVariable("site_name", phpSerialize(oldURI))
		// Render the node once, so its old body is in the caches.
		if page := get(t, client, s.URL+"/node/"+nid, 200); !strings.Contains(page, oldURL+"/node") {
			t.Fatalf("node %s does not show its body:\n%.2000s", nid, page)
		}

		if err := app.RewriteURI(ctx, s, oldURI, oldURL); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"field_data_body", "field_revision_body"} {
			if got := sql("SELECT body_value FROM %s WHERE entity_id = %s", table, nid); got != want {
				t.Errorf("%s after RewriteURI:\n%s\nwant:\n%s", table, got, want)
			}
		}
		if got, want := variable("file_public_path"), phpSerialize("sites/"+s.URI+"/files"); got != want {
			t.Errorf("file_public_path = %s, want %s", got, want)
		}
		if got, want := variable("site_name"), phpSerialize(s.URI); got != want {
			t.Errorf("site_name = %s, want %s", got, want)
		}
		page := get(t, client, s.URL+"/node/"+nid, 200)
		if !strings.Contains(page, s.URL+"/node") || strings.Contains(page, oldURL+"/node") {
			t.Errorf("node %s still shows the old address after RewriteURI (caches not flushed?):\n%.2000s", nid, between(page, "<article", "</article>"))
		}
		if err := app.RewriteURI(ctx, s, s.URI, s.URL); err != nil {
			t.Errorf("RewriteURI to the same address: %v", err)
		}
		if err := app.RewriteURI(ctx, s, "../etc", oldURL); aegir.ErrorCode(err) != aegir.EINVALID {
			t.Errorf("RewriteURI from a bad uri: %v", err)
		}
	})

	t.Run("ReadSettings", func(t *testing.T) {
		_, err := app.ReadSettings(ctx, s)
		if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "cloaked") {
			t.Errorf("ReadSettings of aegir's settings: %v, want EINVALID saying they are cloaked", err)
		}
		// A foreign site on the same database, with literal credentials.
		foreign := &aegir.AppSite{URI: "foreign-" + s.URI, Root: s.Root}
		foreign.SiteDir = filepath.Join(s.Root, "sites", foreign.URI)
		t.Cleanup(func() { os.RemoveAll(foreign.SiteDir) })
		teststack.WriteFiles(t, foreign.SiteDir, map[string]string{"settings.php": fmt.Sprintf(`<?php
$databases = array (
  'default' =>
  array (
    'default' =>
    array (
      'database' => '%s',
      'username' => '%s',
      'password' => '%s',
      'host' => '127.0.0.1',
      'port' => '',
      'driver' => 'mysql',
      'prefix' => '',
    ),
  ),
);
$drupal_hash_salt = 'x';
`, s.DB.Name, s.DB.User, s.DB.Password)})
		profile := variable("install_profile")
		setVariable("install_profile", phpSerialize("minimal"))
		setVariable("language_default", `O:8:"stdClass":2:{s:8:"language";s:2:"fr";s:4:"name";s:6:"French";}`)
		t.Cleanup(func() {
			setVariable("install_profile", profile)
			sql("DELETE FROM variable WHERE name = 'language_default'")
		})
		got, err := app.ReadSettings(ctx, foreign)
		if err != nil {
			t.Fatal(err)
		}
		want := aegir.SiteSettings{DB: *s.DB, Profile: "minimal", Language: "fr"}
		if *got != want {
			t.Errorf("ReadSettings = %+v, want %+v", *got, want)
		}
	})

	t.Run("DeleteSite", func(t *testing.T) {
		sitesPHP := filepath.Join(s.Root, "sites", "sites.php")
		if b, _ := os.ReadFile(sitesPHP); !strings.Contains(string(b), "'"+s.URI+"'") {
			t.Fatalf("sites.php has no line of %s:\n%s", s.URI, b)
		}
		if err := app.DeleteSite(ctx, s); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(sitesPHP); strings.Contains(string(b), s.URI) {
			t.Errorf("sites.php after DeleteSite:\n%s", b)
		}
	})
}

// drupalPHP runs code in the fully bootstrapped site s and returns the last
// line it prints.
func drupalPHP(t *testing.T, s *aegir.AppSite, code string) string {
	t.Helper()
	script := fmt.Sprintf(`<?php
define('DRUPAL_ROOT', getcwd());
$_SERVER['HTTP_HOST'] = %s;
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['REMOTE_ADDR'] = '127.0.0.1';
$_SERVER['REQUEST_METHOD'] = 'GET';
require_once DRUPAL_ROOT . '/includes/bootstrap.inc';
drupal_bootstrap(DRUPAL_BOOTSTRAP_FULL);
%s
`, phpQuote(s.URI), code)
	cmd := exec.Command("php")
	cmd.Dir = s.Root
	cmd.Env = append(os.Environ(), s.DB.Env()...)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php in %s: %v: %s", s.URI, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func phpQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func phpSerialize(s string) string { return fmt.Sprintf("s:%d:\"%s\";", len(s), s) }
