package provision

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/local"
)

// hookBackend returns a back end on a fresh home holding @server_master
// with null services, whose verify changes nothing outside the home.
func hookBackend(t *testing.T) *Backend {
	t.Helper()
	paths := aegir.Paths{Home: t.TempDir()}
	b := &Backend{Paths: paths, Contexts: contextfile.New(paths), Runner: &local.Runner{}, HookTimeout: 2 * time.Second}
	c, _ := aegir.NewContext(aegir.MasterServer, aegir.ServerContext)
	c.Server.HTTPServiceType, c.Server.DBServiceType = aegir.ServiceNull, aegir.ServiceNull
	c.Server.Custom = aegir.Custom{"cheesy": "cheddar"}
	if err := b.Contexts.Put(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return b
}

// writeHook writes an executable hook script, mode 0755 unless mode says.
func writeHook(t *testing.T, b *Backend, task, stage, name, script string, mode os.FileMode) {
	t.Helper()
	dir := filepath.Join(b.Paths.Hooks(), task, stage+".d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestHooksRunAroundATaskInNameOrderWithItsContexts(t *testing.T) {
	t.Parallel()
	b := hookBackend(t)
	out := filepath.Join(b.Paths.Home, "out")
	writeHook(t, b, "verify", "pre", "20-second", "echo pre2 >> "+out+"\n", 0o755)
	writeHook(t, b, "verify", "pre", "10-first", "cat > "+out+".json; echo pre1 >> "+out+"; echo said by the hook\n", 0o755)
	writeHook(t, b, "verify", "post", "10-post", "echo post:$AEGIR_TASK:$AEGIR_CONTEXT >> "+out+"\n", 0o700)
	res, err := b.Run(context.Background(), "verify", "@server_master", aegir.TaskOptions{})
	if err != nil || res.Status != aegir.StatusSuccess {
		t.Fatalf("verify: %v, %s", err, res.Status)
	}
	got, _ := os.ReadFile(out)
	if string(got) != "pre1\npre2\npost:verify:@server_master\n" {
		t.Fatalf("hooks ran as %q", got)
	}
	var in hookInput
	raw, _ := os.ReadFile(out + ".json")
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("stdin %q: %v", raw, err)
	}
	if in.Task != "verify" || in.Stage != "pre" || in.Context != "@server_master" || len(in.Contexts) != 1 ||
		in.Contexts[0].Properties["custom"].(map[string]any)["cheesy"] != "cheddar" {
		t.Fatalf("stdin = %s", raw)
	}
	if !strings.Contains(logText(res), "said by the hook") {
		t.Errorf("the hook's output is not in the task log:\n%s", logText(res))
	}
}

func TestFailingPreHookAbortsTheTaskBeforeItChangesAnything(t *testing.T) {
	t.Parallel()
	b := hookBackend(t)
	writeHook(t, b, "verify", "pre", "10-no", "echo not today >&2; exit 3\n", 0o755)
	writeHook(t, b, "verify", "post", "10-post", "touch "+filepath.Join(b.Paths.Home, "post-ran")+"\n", 0o755)
	res, err := b.Run(context.Background(), "verify", "@server_master", aegir.TaskOptions{})
	if err == nil || res.Status != aegir.StatusFailed {
		t.Fatalf("verify with a failing pre hook: %v, %s", err, res.Status)
	}
	if log := logText(res); !strings.Contains(log, "10-no") || !strings.Contains(log, "not today") {
		t.Errorf("the log does not name the hook and its output:\n%s", log)
	}
	for _, p := range []string{b.Paths.ServerConfig(aegir.MasterServer), filepath.Join(b.Paths.Home, "post-ran")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists: the task went on after its pre hook failed", p)
		}
	}
}

func TestFailingPostHookIsAWarning(t *testing.T) {
	t.Parallel()
	b := hookBackend(t)
	writeHook(t, b, "verify", "post", "10-no", "exit 1\n", 0o755)
	res, err := b.Run(context.Background(), "verify", "@server_master", aegir.TaskOptions{})
	if err != nil || res.Status != aegir.StatusWarning {
		t.Fatalf("verify with a failing post hook: %v, %s, want a warning", err, res.Status)
	}
}

func TestHookTimesOut(t *testing.T) {
	t.Parallel()
	b := hookBackend(t)
	b.HookTimeout = 300 * time.Millisecond
	writeHook(t, b, "verify", "pre", "10-slow", "sleep 30\n", 0o755)
	res, err := b.Run(context.Background(), "verify", "@server_master", aegir.TaskOptions{})
	if err == nil || !strings.Contains(logText(res), "did not finish within 300ms") {
		t.Fatalf("a slow hook: %v\n%s", err, logText(res))
	}
}

func TestHooksOthersMayWriteAreRefused(t *testing.T) {
	t.Parallel()
	b := hookBackend(t)
	writeHook(t, b, "verify", "pre", "10-open", "exit 0\n", 0o775)
	res, err := b.Run(context.Background(), "verify", "@server_master", aegir.TaskOptions{})
	if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), filepath.Join("pre.d", "10-open")) {
		t.Fatalf("a group-writable hook: %v\n%s", err, logText(res))
	}
	if err := os.Chmod(filepath.Join(b.Paths.Hooks(), "verify", "pre.d", "10-open"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin/true", filepath.Join(b.Paths.Hooks(), "verify", "pre.d", "20-link")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Run(context.Background(), "verify", "@server_master", aegir.TaskOptions{}); err == nil || !strings.Contains(err.Error(), "20-link") {
		t.Fatalf("a symbolic link as a hook: %v", err)
	}
}

func TestHookInputLeavesSecretsOut(t *testing.T) {
	t.Parallel()
	b := hookBackend(t)
	ctx := context.Background()
	srv, _ := b.Contexts.Get(ctx, aegir.MasterServer)
	srv.Server.MasterDB, srv.Server.DBServiceType = "mysql://root:topsecret@127.0.0.1:3306", aegir.ServiceMySQL
	p, _ := aegir.NewContext("platform_x", aegir.PlatformContext)
	p.Platform.Root = "/srv/x"
	s, _ := aegir.NewContext("a.example.com", aegir.SiteContext)
	s.Site.Platform, s.Site.DBPassword = "@platform_x", "alsosecret"
	for _, c := range []*aegir.Context{srv, p, s} {
		if err := b.Contexts.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := json.Marshal(b.newRun(aegir.TaskOptions{}).hookInput(ctx, "verify", "pre", s))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "secret") || !strings.Contains(string(raw), `"@platform_x"`) || !strings.Contains(string(raw), `"@server_master"`) {
		t.Fatalf("hook input: %s", raw)
	}
}

func logText(res *aegir.Result) string {
	var b strings.Builder
	for _, e := range res.Log {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}
