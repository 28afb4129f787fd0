package provision

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	_ "github.com/aegir-hosting/aegir/null"   // the web and db services of the test's servers
	_ "github.com/aegir-hosting/aegir/static" // the app of the test's platforms
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// stepsBackend is a back end whose servers have the null web and db
// services and whose platforms are static codebases: enough for every
// task to check its arguments and return its steps, none of which runs.
// It has an installed site a.example on @platform_a with a backup, a site
// new.example not installed yet (its directory there, as for an import),
// @platform_b on the same server and @platform_c on @server_other, and
// @platform_spare and @server_spare that nothing uses.
func stepsBackend(t *testing.T) *Backend {
	t.Helper()
	dir := t.TempDir()
	paths := aegir.Paths{Home: filepath.Join(dir, "aegir")}
	if err := MakeHome(paths); err != nil {
		t.Fatal(err)
	}
	b := &Backend{Paths: paths, Contexts: contextfile.New(paths)}
	put := func(name string, typ aegir.ContextType, set func(*aegir.Context)) {
		t.Helper()
		c, err := aegir.NewContext(name, typ)
		if err != nil {
			t.Fatal(err)
		}
		set(c)
		if err := b.Contexts.Put(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	mkdir := func(path string) string {
		t.Helper()
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, name := range []string{aegir.MasterServer, "server_other", "server_spare"} {
		put(name, aegir.ServerContext, func(c *aegir.Context) {
			c.Server.HTTPServiceType, c.Server.DBServiceType = aegir.ServiceNull, aegir.ServiceNull
		})
	}
	for name, server := range map[string]string{"platform_a": aegir.MasterServer, "platform_b": aegir.MasterServer, "platform_c": "server_other", "platform_spare": aegir.MasterServer} {
		root := mkdir(filepath.Join(dir, name, "sites"))
		put(name, aegir.PlatformContext, func(c *aegir.Context) {
			c.Platform.Root, c.Platform.WebServer = filepath.Dir(root), "@"+server
		})
	}
	put("a.example", aegir.SiteContext, func(c *aegir.Context) {
		c.Site.Platform, c.Site.Status = "@platform_a", aegir.SiteEnabled
		c.Site.DBName, c.Site.DBUser, c.Site.DBPassword = "aexample", "aexample", "secret"
	})
	mkdir(filepath.Join(dir, "platform_a", "sites", "a.example"))
	root := mkdir(filepath.Join(dir, "platform_git", "sites"))
	put("platform_git", aegir.PlatformContext, func(c *aegir.Context) {
		c.Platform.Root, c.Platform.WebServer = filepath.Dir(root), "@"+aegir.MasterServer
		c.Platform.GitURL, c.Platform.GitRef = "file:///srv/git/app.git", "main"
	})
	put("git.example", aegir.SiteContext, func(c *aegir.Context) {
		c.Site.Platform, c.Site.Status = "@platform_git", aegir.SiteEnabled
		c.Site.DBName, c.Site.DBUser, c.Site.DBPassword = "gitexample", "gitexample", "secret"
	})
	mkdir(filepath.Join(dir, "platform_git", "sites", "git.example"))
	put("new.example", aegir.SiteContext, func(c *aegir.Context) { c.Site.Platform = "@platform_a" })
	mkdir(filepath.Join(dir, "platform_a", "sites", "new.example"))
	if err := os.WriteFile(filepath.Join(paths.Backups(), stepsBackup), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

const stepsBackup = "a.example-20250101.030000.tar.gz"

// taskVariants are the tasks whose steps TestTaskStepNamesAreUnique
// builds: each task on each type of context it runs on, and each way its
// list of steps can differ.
var taskVariants = []struct {
	label, task, name string
	args              map[string]string
}{
	{"verify @server", aegir.TaskVerify, aegir.MasterServer, nil},
	{"verify @platform", aegir.TaskVerify, "platform_a", nil},
	{"verify @site", aegir.TaskVerify, "a.example", nil},
	{"install @site", aegir.TaskInstall, "new.example", nil},
	{"backup @site", aegir.TaskBackup, "a.example", nil},
	{"backup-delete @site FILE, named twice", aegir.TaskBackupDelete, "a.example", map[string]string{"files": stepsBackup + " " + stepsBackup}},
	{"backup-verify @site FILE", aegir.TaskBackupVerify, "a.example", map[string]string{"file": stepsBackup}},
	{"restore @site FILE", aegir.TaskRestore, "a.example", map[string]string{"file": stepsBackup}},
	{"deploy @site FILE", aegir.TaskDeploy, "a.example", map[string]string{"file": stepsBackup}},
	{"migrate @site @platform, on the same web and db servers", aegir.TaskMigrate, "a.example", map[string]string{"platform": "@platform_b"}},
	{"migrate @site @platform NEW_URI, on another web server", aegir.TaskMigrate, "a.example", map[string]string{"platform": "@platform_c", "new_uri": "b.example"}},
	{"clone @site NEW_URI, on the same web and db servers", aegir.TaskClone, "a.example", map[string]string{"new_uri": "twin.example"}},
	{"clone @site NEW_URI @platform, on another web server", aegir.TaskClone, "a.example", map[string]string{"new_uri": "twin.example", "platform": "@platform_c"}},
	{"disable @site", aegir.TaskDisable, "a.example", nil},
	{"enable @site", aegir.TaskEnable, "a.example", nil},
	{"delete @site", aegir.TaskDelete, "a.example", nil},
	{"delete @platform", aegir.TaskDelete, "platform_spare", nil},
	{"delete @server", aegir.TaskDelete, "server_spare", nil},
	{"import @site", aegir.TaskImport, "new.example", nil},
	{"login-reset @site", aegir.TaskLoginReset, "a.example", nil},
	{"cron @site", aegir.TaskCron, "a.example", nil},
	{"flush-cache @site", aegir.TaskFlushCache, "a.example", nil},
	{"update-db @site", aegir.TaskUpdateDB, "a.example", nil},
	{"sync @site @target", aegir.TaskSync, "a.example", map[string]string{"target": "@git.example"}},
	{"deploy-code @site --git_ref=REF, on a platform built from git", aegir.TaskDeployCode, "git.example", map[string]string{"git_ref": "feature-x"}},
}

// TestTaskStepNamesAreUnique builds the steps of every task, on every
// type of context it runs on, and checks that no two steps of a task share
// a name, so that --fail_at and CrashAt name exactly one step. The lists
// are in testdata/steps.golden, for a reviewer to see what a change does
// to a task's steps (go test -update rewrites it).
func TestTaskStepNamesAreUnique(t *testing.T) {
	t.Parallel()
	b := stepsBackend(t)
	covered := map[string]map[aegir.ContextType]bool{}
	var golden strings.Builder
	for _, v := range taskVariants {
		c, err := b.Contexts.Get(context.Background(), v.name)
		if err != nil {
			t.Fatal(err)
		}
		if covered[v.task] == nil {
			covered[v.task] = map[aegir.ContextType]bool{}
		}
		covered[v.task][c.Type] = true
		steps, err := b.newRun(aegir.TaskOptions{Args: v.args}).prepare(context.Background(), v.task, v.name)
		if err != nil {
			t.Errorf("%s: %v", v.label, err)
			continue
		}
		golden.WriteString(v.label + "\n")
		seen := map[string]bool{}
		for _, s := range steps {
			if s.Name == "" || seen[s.Name] {
				t.Errorf("%s: step %q is there twice, or has no name", v.label, s.Name)
			}
			seen[s.Name] = true
			golden.WriteString("\t" + s.Name + "\n")
		}
		golden.WriteString("\n")
	}
	for task, byType := range tasks {
		for typ := range byType {
			if !covered[task][typ] {
				t.Errorf("no variant of %s on a %s in taskVariants", task, typ)
			}
		}
	}
	path := filepath.Join("testdata", "steps.golden")
	if *update {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := golden.String(); got != string(want) {
		t.Errorf("the steps of the tasks differ from %s (go test -update rewrites it):\n%s", path, got)
	}
}
