package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupTakesALeakedAdminTokenOutOfHostedSitesReach: older versions
// printed the admin's API token into serve.log, a file any hosted site's
// PHP could read. A hosted PHP site reads it there; setup then makes the log
// its owner's alone, cuts the secret out of it and revokes the token, and
// the same PHP reads nothing.
func TestSetupTakesALeakedAdminTokenOutOfHostedSitesReach(t *testing.T) {
	s := newStack(t)
	s.setup()
	logFile := filepath.Join(s.home, "serve.log")
	root := filepath.Join(s.dir, "peek")
	s.write(filepath.Join(root, "index.php"), "<?php\n$t = @file_get_contents('"+logFile+"');\necho $t === false ? 'UNREADABLE' : 'READ:' . $t;\n")
	s.mustAegir("save", "@platform_peek", "--context_type=platform", "--root="+root)
	s.mustTask("verify", "@platform_peek")
	site := "peek." + s.token + ".test"
	s.mustAegir("save", "@"+site, "--context_type=site", "--platform=@platform_peek")
	s.mustTask("install", "@"+site)

	s.mustAegir("user", "create", "admin", "--role", "administrator")
	secret := strings.TrimSpace(s.mustAegir("token", "create", "admin", "--name", "initial"))
	if err := os.WriteFile(logFile, []byte("created user admin (administrator); its API token, shown only now:\n"+secret+"\nserving http://127.0.0.1:8080/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(logFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := s.get(s.url(site, "/")); code != 200 || !strings.Contains(body, secret) {
		t.Fatalf("before the repair the site's PHP should read the log (the hole): %d %.300s", code, body)
	}

	out := s.setup()
	if !strings.Contains(out, "removed 1 API token secret(s)") || !strings.Contains(out, "revoked token") {
		t.Fatalf("setup did not say what it repaired:\n%s", out)
	}
	st, err := os.Stat(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("serve.log mode %v after setup, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(logFile)
	if strings.Contains(string(data), secret) || !strings.Contains(string(data), "serving http://") {
		t.Fatalf("serve.log after setup:\n%s", data)
	}
	if code, body := s.get(s.url(site, "/")); code != 200 || !strings.Contains(body, "UNREADABLE") {
		t.Fatalf("after the repair the site's PHP still reads the log: %d %.300s", code, body)
	}
	list := s.mustAegir("token", "list", "admin")
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "initial") && strings.HasSuffix(strings.TrimSpace(line), "-") {
			t.Fatalf("the leaked token is not revoked:\n%s", list)
		}
	}
}
