package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExtendingAegirCheesyExample is docs/extending.md done end to end,
// Aegir's "cheesy" example: a custom field set on a site through the API
// reaches the site's PHP both as $aegir_custom in its settings and as a
// FastCGI parameter; a vhost snippet of the user's own adds a header, a
// snippet nginx refuses fails the verify and leaves the site served; a
// failing pre hook aborts a verify before it starts.
func TestExtendingAegirCheesyExample(t *testing.T) {
	s := newStack(t)
	s.setup()
	s.mustAegir("hosting-import", "@server_master")
	f := s.serve("")

	root := filepath.Join(s.dir, "cheese")
	s.write(filepath.Join(root, "index.php"), `<?php
$db = require __DIR__ . '/sites/' . $_SERVER['AEGIR_SITE'] . '/settings.php';
echo 'settings:', $aegir_custom['cheesy'] ?? '-', ' param:', $_SERVER['AEGIR_CUSTOM_CHEESY'] ?? '-', ' local:', $local ?? '-', "\n";
`)
	f.waitTask(f.must(201, "POST", "/api/platforms", map[string]any{"name": "platform_cheese", "root": root}))
	uri := "cheese." + s.token + ".test"
	f.waitTask(f.must(201, "POST", "/api/sites", map[string]any{"uri": uri, "platform": "@platform_cheese", "custom": map[string]any{"cheesy": "cheddar"}}))
	s.mustServe(s.url(uri, "/"), "settings:cheddar param:cheddar local:-")
	if _, out := f.call("GET", "/api/sites/"+uri, nil); !strings.Contains(fmt.Sprint(out["site"].(map[string]any)["custom"]), "cheesy:cheddar") {
		t.Fatalf("the site record does not show its custom field: %v", out)
	}

	// Bad input is refused, naming the field, and changes nothing.
	if code, out := f.call("PATCH", "/api/sites/"+uri, map[string]any{"custom": map[string]any{"cheesy": `x"; return 200 "pwned`}}); code != 400 || out["field"] != "custom.cheesy" {
		t.Fatalf("a value that would break out of the vhost: %d %v", code, out)
	}
	if code, out := f.call("PATCH", "/api/sites/"+uri, map[string]any{"custom": map[string]any{"Bad-Name": "x"}}); code != 400 || !strings.Contains(fmt.Sprint(out["field"]), "custom.") {
		t.Fatalf("a bad custom name: %d %v", code, out)
	}

	// A changed value and the site's own local.settings.php, kept across
	// the verify the change queues.
	s.write(filepath.Join(root, "sites", uri, "local.settings.php"), "<?php\n$local = 'mine-' . $aegir_custom['cheesy'];\n")
	f.waitTask(f.must(200, "PATCH", "/api/sites/"+uri, map[string]any{"custom": map[string]any{"cheesy": "brie"}}))
	s.mustServe(s.url(uri, "/"), "settings:brie param:brie local:mine-brie")

	// A vhost snippet of the site's own adds a header.
	snippets := filepath.Join(s.home, "config", "server_master", "nginx", "snippets")
	s.write(filepath.Join(snippets, "site_"+uri+".conf"), "add_header X-Cheese \"gouda\" always;\n")
	f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "verify"}))
	resp, err := s.client.Get(s.url(uri, "/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Cheese"); got != "gouda" {
		t.Fatalf("X-Cheese = %q after the snippet, want gouda", got)
	}

	// A snippet nginx refuses fails the verify; the site is served as before.
	vhost, _ := os.ReadFile(s.vhostFile(uri))
	s.write(filepath.Join(snippets, "site_"+uri+".conf"), "this_is_not_a_directive on;\n")
	failed := f.waitStatus(fmt.Sprint(taskOf(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "verify"}))["id"]), "failed")
	if !strings.Contains(fmt.Sprint(failed), "this_is_not_a_directive") {
		t.Fatalf("the failed verify's log does not carry nginx's message: %v", failed)
	}
	if after, _ := os.ReadFile(s.vhostFile(uri)); string(after) != string(vhost) {
		t.Fatalf("the vhost of the broken snippet was left in place:\n%s", after)
	}
	s.mustServe(s.url(uri, "/"), "settings:brie")
	if err := os.Remove(filepath.Join(snippets, "site_"+uri+".conf")); err != nil {
		t.Fatal(err)
	}

	// A pre hook that fails aborts the verify before its first step.
	s.write(filepath.Join(s.home, "hooks", "verify", "pre.d", "10-no-cheese-on-fridays"), "#!/bin/sh\necho no verify today >&2\nexit 1\n")
	if err := os.Chmod(filepath.Join(s.home, "hooks", "verify", "pre.d", "10-no-cheese-on-fridays"), 0o755); err != nil {
		t.Fatal(err)
	}
	failed = f.waitStatus(fmt.Sprint(taskOf(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "verify"}))["id"]), "failed")
	if log := fmt.Sprint(failed); !strings.Contains(log, "10-no-cheese-on-fridays") || !strings.Contains(log, "no verify today") {
		t.Fatalf("the verify's log: %v", failed)
	}
}
