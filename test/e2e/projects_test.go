package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// appIndex is a plain PHP codebase's index.php that prints its version
// and a row of the site's database (the table made by the test, when there).
func appIndex(version string) string {
	return `<?php
$db = require __DIR__ . '/sites/' . $_SERVER['AEGIR_SITE'] . '/settings.php';
echo "code ` + version + `\n";
try {
  $pdo = new PDO('mysql:host=' . $db['db_host'] . ';port=' . $db['db_port'] . ';dbname=' . $db['db_name'], $db['db_user'], $db['db_passwd']);
  foreach ($pdo->query('SELECT v FROM marker') as $row) { echo 'row ' . $row['v'] . "\n"; }
} catch (Exception $e) {
  echo "no marker\n";
}
`
}

// TestDeployCodeServesTheNewCommitAndAFailingHookPutsTheSiteBack puts a
// plain PHP site on a platform built from a git branch, deploys a commit
// of another branch (the site serves it, from a new platform named after
// the commit, the old platform kept), then a commit whose .aegir.yml hook
// fails: the site serves the previous code from the previous platform,
// and the failed deploy's platform is gone.
func TestDeployCodeServesTheNewCommitAndAFailingHookPutsTheSiteBack(t *testing.T) {
	s := newStack(t)
	s.setup()
	repo := teststack.NewGitRepo(t, map[string]string{"index.php": appIndex("v1")})
	root := filepath.Join(s.home, "platforms", "app")
	s.mustAegir("save", "@platform_app", "--context_type=platform", "--root="+root, "--git_url="+repo.URL(), "--git_ref=main")
	s.mustTask("verify", "@platform_app")
	uri := "dev." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_app")
	s.mustTask("install", "@"+uri)
	s.mustServe(s.url(uri, "/"), "code v1")

	// A feature branch with a hook that succeeds and writes what it saw.
	repo.Branch("feature-x")
	commit := repo.Commit("v2", map[string]string{
		"index.php":  appIndex("v2"),
		".aegir.yml": "deploy:\n  - [php, -r, \"echo 'hook ran for ', getenv('AEGIR_SITE'), PHP_EOL;\"]\n",
	})
	r := s.mustTask("deploy-code", "@"+uri, "--git_ref=feature-x")
	newPlatform := "platform_app_" + commit[:7]
	if got := r.Data["new_platform"]; got != "@"+newPlatform {
		t.Errorf("new_platform = %v, want @%s", got, newPlatform)
	}
	if log := logOf(r); !strings.Contains(log, "hook ran for "+uri) {
		t.Errorf("the hook's output is not in the log:\n%s", log)
	}
	s.mustServe(s.url(uri, "/"), "code v2")
	if out := s.mustAegir("show", "@"+uri); !strings.Contains(out, "@"+newPlatform) {
		t.Errorf("the site's context does not name @%s:\n%s", newPlatform, out)
	}
	if _, err := os.Stat(filepath.Join(root, "index.php")); err != nil {
		t.Errorf("the old platform is gone (it stays for a rollback): %v", err)
	}

	// A commit whose hook fails: the site stays on v2.
	bad := repo.Commit("v3", map[string]string{
		"index.php":  appIndex("v3"),
		".aegir.yml": "deploy:\n  - [php, -r, \"fwrite(STDERR, 'migration broke'); exit(3);\"]\n",
	})
	r, err := s.task("deploy-code", "@"+uri, "--git_ref=feature-x")
	if err == nil {
		t.Fatalf("a deploy whose hook fails passed:\n%s", logOf(r))
	}
	if log := logOf(r); !strings.Contains(log, "migration broke") || !strings.Contains(log, "undid migrate") {
		t.Errorf("the failed deploy's log:\n%s", log)
	}
	s.mustServe(s.url(uri, "/"), "code v2")
	if out := s.mustAegir("show", "@"+uri); !strings.Contains(out, "@"+newPlatform) {
		t.Errorf("the site is not back on @%s:\n%s", newPlatform, out)
	}
	if _, err := os.Stat(filepath.Join(s.home, "platforms", "app_"+bad[:7])); !os.IsNotExist(err) {
		t.Errorf("the failed deploy left its platform: %v", err)
	}
	if _, err := s.aegir("show", "@platform_app_"+bad[:7]); err == nil {
		t.Error("the failed deploy left its platform's context")
	}

	// Bad input: a ref that is an option, a ref that does not exist.
	if out, err := s.aegir("deploy-code", "@"+uri, "--git_ref=--upload-pack=x"); err == nil || !strings.Contains(out, "git_ref") {
		t.Errorf("a ref like an option: %v %s", err, out)
	}
	if r, err := s.task("deploy-code", "@"+uri, "--git_ref=no-such-branch"); err == nil {
		t.Errorf("a missing ref deployed:\n%s", logOf(r))
	}
	s.mustServe(s.url(uri, "/"), "code v2")
}
