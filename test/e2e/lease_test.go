package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestTasksOfADispatcherKilledMidTaskAreRecoveredByAnother: two aegir serve
// share one PostgreSQL queue. One is killed -9 while it runs a task; the
// other fails that task (it is not left processing for good, the stuck
// queue Aegir users know) within 30 seconds, saying why, and goes on
// running tasks.
func TestTasksOfADispatcherKilledMidTaskAreRecoveredByAnother(t *testing.T) {
	s := newStack(t)
	s.setup()
	db := teststack.TempPostgresDatabase(t, "aegirlease")
	alpha := s.serveAs("", "alpha", "--database", db)
	// serve adopts @server_master from the contexts the CLI made.
	deadline := time.Now().Add(20 * time.Second)
	for code, _ := alpha.call("GET", "/api/servers/server_master", nil); code != 200; code, _ = alpha.call("GET", "/api/servers/server_master", nil) {
		if time.Now().After(deadline) {
			t.Fatalf("server_master did not join the front end: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	long := alpha.must(201, "POST", "/api/servers/server_master/tasks", map[string]any{"type": "noop", "args": map[string]string{"sleep_ms": "60000"}})
	id := fmt.Sprint(taskOf(long)["id"])
	if w := fmt.Sprint(taskOf(alpha.waitStatus(id, "processing"))["worker"]); !strings.HasPrefix(w, "alpha/") {
		t.Fatalf("the task is held by %q, not alpha", w)
	}
	beta := s.serveAs(alpha.token, "beta", "--database", db)
	if err := alpha.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	out := beta.waitStatus(id, "failed")
	took := time.Since(killed)
	if took > 30*time.Second {
		t.Fatalf("the dead dispatcher's task was failed after %s, want at most 30s", took)
	}
	if !strings.Contains(fmt.Sprint(out["log"]), "stopped renewing its lease") {
		t.Fatalf("the failed task's log does not say why: %v", out["log"])
	}
	t.Logf("recovered %s after the kill", took.Round(100*time.Millisecond))
	beta.waitTask(beta.must(201, "POST", "/api/servers/server_master/tasks", map[string]any{"type": "noop"}))
}
