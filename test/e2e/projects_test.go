package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
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

// TestProjectEnvironmentsDeployAndSync runs a project of a plain PHP
// codebase in a local git repository with dev and live environments:
// deploy-code of a new commit on dev serves it from a new platform named
// after the commit (the old platform kept); a deploy whose .aegir.yml hook
// fails leaves dev serving the previous code from the previous platform;
// sync live→dev copies the database (a row visible over HTTP), and dev→live
// is refused without --force, since live is protected.
func TestProjectEnvironmentsDeployAndSync(t *testing.T) {
	s := newStack(t)
	s.setup()
	repo := teststack.NewGitRepo(t, map[string]string{"index.php": appIndex("v1")})
	base := "shop." + s.token + ".test"
	out := s.mustAegir("project", "create", "@project_shop", "--git_url="+repo.URL(), "--base_domain="+base)
	if !strings.Contains(out, "webhook secret: ") {
		t.Errorf("project create printed no secret:\n%s", out)
	}
	s.mustAegir("env", "create", "@project_shop", "live", "--git_ref=main")
	s.mustAegir("env", "create", "@project_shop", "dev", "--git_ref=main", "--clone_from=live")
	dev, live := "dev."+base, "live."+base
	s.mustServe(s.url(live, "/"), "code v1")
	s.mustServe(s.url(dev, "/"), "code v1")
	if out := s.mustAegir("show", "@"+live); !strings.Contains(out, "protected: true") || !strings.Contains(out, "environment: live") {
		t.Errorf("live's context:\n%s", out)
	}
	if out := s.mustAegir("show", "@"+dev); strings.Contains(out, "protected: true") || !strings.Contains(out, "environment: dev") {
		t.Errorf("dev's context:\n%s", out)
	}
	if _, err := s.aegir("env", "create", "@project_shop", "Bad-Name", "--git_ref=main"); err == nil || !strings.Contains(err.Error(), "environment") {
		t.Errorf("a bad environment name: %v", err)
	}

	// A feature branch with a hook that succeeds and says what it saw.
	repo.Branch("feature-x")
	commit := repo.Commit("v2", map[string]string{
		"index.php":  appIndex("v2"),
		".aegir.yml": "deploy:\n  - [php, -r, \"echo 'hook ran for ', getenv('AEGIR_SITE'), PHP_EOL;\"]\n",
	})
	r := s.mustTask("deploy-code", "@"+dev, "--git_ref=feature-x")
	newPlatform := "platform_shop_dev_" + commit[:7]
	if got := r.Data["new_platform"]; got != "@"+newPlatform {
		t.Errorf("new_platform = %v, want @%s", got, newPlatform)
	}
	if log := logOf(r); !strings.Contains(log, "hook ran for "+dev) {
		t.Errorf("the hook's output is not in the log:\n%s", log)
	}
	s.mustServe(s.url(dev, "/"), "code v2")
	s.mustServe(s.url(live, "/"), "code v1")
	if out := s.mustAegir("show", "@"+dev); !strings.Contains(out, "@"+newPlatform) {
		t.Errorf("the site's context does not name @%s:\n%s", newPlatform, out)
	}
	if _, err := os.Stat(filepath.Join(s.home, "platforms", "shop_dev", "index.php")); err != nil {
		t.Errorf("the old platform is gone (it stays for a rollback): %v", err)
	}

	// A commit whose hook fails: dev stays on v2.
	bad := repo.Commit("v3", map[string]string{
		"index.php":  appIndex("v3"),
		".aegir.yml": "deploy:\n  - [php, -r, \"fwrite(STDERR, 'migration broke'); exit(3);\"]\n",
	})
	r, err := s.task("deploy-code", "@"+dev, "--git_ref=feature-x")
	if err == nil {
		t.Fatalf("a deploy whose hook fails passed:\n%s", logOf(r))
	}
	if log := logOf(r); !strings.Contains(log, "migration broke") || !strings.Contains(log, "undid migrate") {
		t.Errorf("the failed deploy's log:\n%s", log)
	}
	s.mustServe(s.url(dev, "/"), "code v2")
	if out := s.mustAegir("show", "@"+dev); !strings.Contains(out, "@"+newPlatform) {
		t.Errorf("the site is not back on @%s:\n%s", newPlatform, out)
	}
	if _, err := os.Stat(filepath.Join(s.home, "platforms", "shop_dev_"+bad[:7])); !os.IsNotExist(err) {
		t.Errorf("the failed deploy left its platform: %v", err)
	}
	if _, err := s.aegir("show", "@platform_shop_dev_"+bad[:7]); err == nil {
		t.Error("the failed deploy left its platform's context")
	}

	// Bad input: a ref like an option, a ref that does not exist.
	if _, err := s.aegir("deploy-code", "@"+dev, "--git_ref=--upload-pack=x"); err == nil || !strings.Contains(err.Error(), "git_ref") {
		t.Errorf("a ref like an option: %v", err)
	}
	if r, err := s.task("deploy-code", "@"+dev, "--git_ref=no-such-branch"); err == nil {
		t.Errorf("a missing ref deployed:\n%s", logOf(r))
	}
	s.mustServe(s.url(dev, "/"), "code v2")

	// A row in live's database; sync live→dev copies it.
	db := teststack.RootDB(t)
	liveDB := contextValue(t, s.mustAegir("show", "@"+live), "db_name")
	for _, q := range []string{"CREATE TABLE `" + liveDB + "`.marker (v VARCHAR(40))", "INSERT INTO `" + liveDB + "`.marker VALUES ('from-live')"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.mustServe(s.url(live, "/"), "row from-live")
	r = s.mustTask("sync", "@"+live, "@"+dev, "--db")
	if backup, _ := r.Data["target_backup"].(string); backup == "" {
		t.Errorf("sync made no backup of dev: %v", r.Data)
	} else if _, err := os.Stat(backup); err != nil {
		t.Errorf("dev's backup: %v", err)
	}
	s.mustServe(s.url(dev, "/"), "row from-live")

	// Into live: refused without --force, and nothing changes.
	if _, err := s.aegir("sync", "@"+dev, "@"+live); err == nil || !strings.Contains(err.Error(), "protected") {
		t.Errorf("a sync into live without --force: %v", err)
	}
	if _, err := db.Exec("UPDATE `" + liveDB + "`.marker SET v = 'changed-on-live'"); err != nil {
		t.Fatal(err)
	}
	s.mustServe(s.url(live, "/"), "row changed-on-live")
	s.mustTask("sync", "@"+dev, "@"+live, "--db", "--force")
	s.mustServe(s.url(live, "/"), "row from-live")

	// The front end: a signed push to main deploys the environments that
	// track it (dev and live); a bad signature queues nothing.
	s.mustAegir("hosting-import", "@"+dev)
	s.mustAegir("hosting-import", "@"+live)
	f := s.serve("")
	secret := contextValue(t, s.mustAegir("project", "show", "@project_shop"), "webhook_secret")
	repo.Branch("main")
	fixed := repo.Commit("v4", map[string]string{"index.php": appIndex("v4"), ".aegir.yml": "deploy: []\n"})
	push := `{"ref":"refs/heads/main","after":"` + fixed + `"}`
	post := func(sig string) (int, map[string]any) {
		req, err := http.NewRequest("POST", f.base+"/api/projects/shop/webhook", strings.NewReader(push))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := post("sha256=" + strings.Repeat("0", 64)); code != http.StatusUnauthorized {
		t.Fatalf("a push with a bad signature: %d %v", code, out)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(push))
	code, answer := post("sha256=" + hex.EncodeToString(mac.Sum(nil)))
	queued, _ := answer["queued"].([]any)
	if code != http.StatusAccepted || len(queued) != 2 {
		t.Fatalf("a signed push: %d %v", code, answer)
	}
	for _, id := range queued {
		f.waitTask(map[string]any{"task": map[string]any{"id": id}})
	}
	s.mustServe(s.url(dev, "/"), "code v4")
	s.mustServe(s.url(live, "/"), "code v4")
	project := f.must(200, "GET", "/api/projects/shop", nil)["project"].(map[string]any)
	for _, e := range project["environments"].([]any) {
		env := e.(map[string]any)
		if env["commit"] != fixed[:7] {
			t.Errorf("environment %v: commit %v, want %s", env["name"], env["commit"], fixed[:7])
		}
	}
}

// contextValue reads a property from aegir show's output.
func contextValue(t *testing.T, show, prop string) string {
	t.Helper()
	for _, line := range strings.Split(show, "\n") {
		if v, ok := strings.CutPrefix(line, prop+": "); ok {
			return v
		}
	}
	t.Fatalf("no %s in:\n%s", prop, show)
	return ""
}

// TestFailedDeployCodeAndSyncLeaveEverythingAsItWas fails deploy-code and
// sync at each of their steps (and at steps of the migrate and platform
// verify a deploy-code runs inside its own) and checks that contexts,
// configuration, backups, site directories, platforms and databases are
// as before and both environments still serve their code and data.
func TestFailedDeployCodeAndSyncLeaveEverythingAsItWas(t *testing.T) {
	s := newStack(t)
	s.setup()
	repo := teststack.NewGitRepo(t, map[string]string{"index.php": appIndex("v1")})
	base := "rb." + s.token + ".test"
	s.mustAegir("project", "create", "@project_rb", "--git_url="+repo.URL(), "--base_domain="+base)
	s.mustAegir("env", "create", "@project_rb", "live", "--git_ref=main")
	s.mustAegir("env", "create", "@project_rb", "dev", "--git_ref=main", "--clone_from=live")
	dev, live := "dev."+base, "live."+base
	repo.Commit("v2", map[string]string{"index.php": appIndex("v2"), ".aegir.yml": "deploy:\n  - [php, -r, \"echo 'ok';\"]\n"})
	roots := []string{filepath.Join(s.home, "platforms", "rb_live"), filepath.Join(s.home, "platforms", "rb_dev")}
	platforms := func() string {
		es, err := os.ReadDir(filepath.Join(s.home, "platforms"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return strings.Join(names, " ")
	}
	cases := []struct {
		args  []string
		steps []string
	}{
		{[]string{"deploy-code", "@" + dev, "--git_ref=main"}, []string{"build new platform", "new platform context", "verify new platform",
			"http platform", "migrate", "package check", "swap in", "vhost", "context", "set aside old site directory", "deploy hooks", "remove old copy"}},
		{[]string{"sync", "@" + live, "@" + dev}, []string{"dump database", "archive", "copy database", "rewrite uri", "copy files", "sanitize", "flush cache", "remove dump"}},
	}
	for _, tc := range cases {
		for _, step := range tc.steps {
			before, dirs := s.state(roots...), platforms()
			r, err := s.task(append(tc.args, "--fail_at", step)...)
			if err == nil || r.Status != "failed" {
				t.Fatalf("%s failing at %q: err %v status %s", tc.args[0], step, err, r.Status)
			}
			if d := before.diff(s.state(roots...)); d != "" {
				t.Fatalf("%s failing at %q changed things:\n%s\nlog:\n%s", tc.args[0], step, d, logOf(r))
			}
			if got := platforms(); got != dirs {
				t.Fatalf("%s failing at %q left platforms: %s, was %s", tc.args[0], step, got, dirs)
			}
			s.mustServe(s.url(dev, "/"), "code v1")
			s.mustServe(s.url(live, "/"), "code v1")
		}
	}
	// Both still succeed afterwards.
	s.mustTask("deploy-code", "@"+dev, "--git_ref=main")
	s.mustServe(s.url(dev, "/"), "code v2")
	s.mustTask("sync", "@"+live, "@"+dev)
}
