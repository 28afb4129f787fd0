package web

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/dispatch"
)

// noBackend runs nothing: the tests' tasks are noops, which the
// dispatcher runs itself.
type noBackend struct{ aegir.Backend }

// shyStore keeps a dispatcher from failing the tasks of lapsed workers
// until recover is set, so that a test sees them held first.
type shyStore struct {
	aegir.Store
	recover atomic.Bool
}

func (s *shyStore) LapsedWorkers(ctx context.Context, ttl time.Duration) ([]string, error) {
	if !s.recover.Load() {
		return nil, nil
	}
	return s.Store.LapsedWorkers(ctx, ttl)
}

// dispatcherJSON finds a dispatcher in the answer of GET /api/dispatchers.
func dispatcherJSON(t *testing.T, a answer, name string) map[string]any {
	t.Helper()
	list, _ := a.body["dispatchers"].([]any)
	for _, d := range list {
		if m, _ := d.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("no dispatcher %q in %s", name, a.raw)
	return nil
}

// heldIDs are the ids of the tasks a dispatcher of the API's answer holds.
func heldIDs(d map[string]any) []int64 {
	var ids []int64
	tasks, _ := d["tasks"].([]any)
	for _, task := range tasks {
		id, _ := task.(map[string]any)["id"].(float64)
		ids = append(ids, int64(id))
	}
	return ids
}

// TestDispatchersPageShowsWhoHoldsWhat runs a real dispatcher beside the
// records a dead one left (a heartbeat, then a claim) and the claim of one
// that never beat: administrators see each one's lease and the tasks it
// holds, on the page, in the API and on the task's page; a client user
// sees none of it. Once the live dispatcher recovers the dead one's task,
// the dead one holds nothing.
func TestDispatchersPageShowsWhoHoldsWhat(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	store := stores[0].open(t)
	w := newWorld(t, newBundleWith(t, store, func(s *Server) { s.LeaseTTL = ttl }))
	ctx := t.Context()
	must(t, store.CancelTask(ctx, w.taskBQueued))

	// The records of a dispatcher that died holding a task, and of one
	// that claimed a task but never beat.
	gone := &aegir.Task{Type: aegir.TaskNoop, ObjectType: aegir.SiteContext, Object: "b.example", Platform: "platform_b"}
	must(t, store.EnqueueTask(ctx, gone))
	must(t, store.Heartbeat(ctx, "gone-host"))
	if task, err := store.ClaimTask(ctx, "gone-host/3"); err != nil || task == nil || task.ID != gone.ID {
		t.Fatalf("gone-host claimed %+v, %v", task, err)
	}
	silent := &aegir.Task{Type: aegir.TaskNoop, ObjectType: aegir.ServerContext, Object: "server_master"}
	must(t, store.EnqueueTask(ctx, silent))
	if task, err := store.ClaimTask(ctx, "silent-host/0"); err != nil || task == nil || task.ID != silent.ID {
		t.Fatalf("silent-host claimed %+v, %v", task, err)
	}

	// A live dispatcher runs a long task on ann's site. It beats every
	// 100 ms, well within the page's TTL even on a loaded machine.
	shy := &shyStore{Store: store}
	runCtx, stop := context.WithCancel(context.Background())
	hard, stopTasks := context.WithCancel(context.Background())
	d := &dispatch.Dispatcher{Store: shy, Backend: noBackend{}, Workers: 2, Waiting: 2, Worker: "live-host", LeaseTTL: 400 * time.Millisecond, HardStop: hard}
	errc := make(chan error, 1)
	go func() { errc <- d.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		stopTasks()
		select {
		case err := <-errc:
			must(t, err)
		case <-time.After(30 * time.Second):
			t.Error("the dispatcher did not stop")
		}
	})
	live := &aegir.Task{Type: aegir.TaskNoop, ObjectType: aegir.SiteContext, Object: "a.example", Platform: "platform_a",
		Args: map[string]string{"sleep_ms": "60000"}}
	must(t, store.EnqueueTask(ctx, live))
	must(t, store.Notify(ctx))

	// Wait until the live dispatcher runs its task and gone-host's lease
	// has lapsed.
	var a answer
	for deadline := time.Now().Add(20 * time.Second); ; {
		a = w.as(t, "admin", "GET", "/api/dispatchers", nil).want(t, 200)
		task, err := store.GetTask(ctx, live.ID)
		must(t, err)
		if task.Status == aegir.StatusProcessing && dispatcherJSON(t, a, "gone-host")["lease"] == leaseLapsed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s; dispatchers: %s", task.Status, a.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := a.body["lease_ttl_seconds"]; got != ttl.Seconds() {
		t.Errorf("lease_ttl_seconds %v", got)
	}
	for _, want := range []struct {
		name, lease string
		held        int64
	}{{"live-host", leaseLive, live.ID}, {"gone-host", leaseLapsed, gone.ID}, {"silent-host", leaseNone, silent.ID}} {
		got := dispatcherJSON(t, a, want.name)
		if got["lease"] != want.lease || fmt.Sprint(heldIDs(got)) != fmt.Sprint([]int64{want.held}) {
			t.Errorf("%s: lease %v, tasks %v; want %s, [%d]", want.name, got["lease"], heldIDs(got), want.lease, want.held)
		}
		if seen := got["seen_at"]; (seen == nil) != (want.lease == leaseNone) {
			t.Errorf("%s: seen_at %v", want.name, seen)
		}
	}

	admin := w.login(t, "admin")
	status, body, _ := admin.get("/dispatchers")
	if status != 200 {
		t.Fatalf("admin GET /dispatchers: %d", status)
	}
	for _, want := range []string{`href="/dispatchers"`, `id="dispatcher-live-host"`, `<span class="badge ok">live</span>`,
		`id="dispatcher-gone-host"`, `<span class="badge bad">lapsed</span>`, `<span class="badge warn">none</span>`,
		fmt.Sprintf(`href="/tasks/%d"`, live.ID), fmt.Sprintf(`href="/tasks/%d"`, gone.ID), fmt.Sprintf(`href="/tasks/%d"`, silent.ID)} {
		if !strings.Contains(body, want) {
			t.Errorf("the dispatchers page lacks %s", want)
		}
	}
	_, body, _ = admin.get(fmt.Sprintf("/tasks/%d", live.ID))
	if !strings.Contains(body, `id="task-dispatcher"`) || !strings.Contains(body, `>live-host</a>, slot `) || !strings.Contains(body, "lease live") {
		t.Errorf("the running task's page does not name its dispatcher:\n%s", body)
	}

	// ann's site runs the task, but the machines behind it are not hers.
	ann := w.login(t, "ann")
	status, body, _ = ann.get(fmt.Sprintf("/tasks/%d", live.ID))
	if status != 200 || strings.Contains(body, "live-host") || strings.Contains(body, `href="/dispatchers"`) {
		t.Errorf("ann's page of the task: %d\n%s", status, body)
	}
	if status, _, _ := ann.get("/dispatchers"); status != 403 {
		t.Errorf("ann GET /dispatchers: %d", status)
	}
	w.as(t, "ann", "GET", "/api/dispatchers", nil).wantError(t, 403, "forbidden", "")

	// The live dispatcher fails the lapsed one's task; the task that never
	// had a lease waits for its own dispatcher.
	shy.recover.Store(true)
	for deadline := time.Now().Add(20 * time.Second); ; {
		task, err := store.GetTask(ctx, gone.ID)
		must(t, err)
		if task.Status == aegir.StatusFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gone-host's task is %s", task.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a = w.as(t, "admin", "GET", "/api/dispatchers", nil).want(t, 200)
	if got := dispatcherJSON(t, a, "gone-host"); len(heldIDs(got)) != 0 {
		t.Errorf("gone-host still holds %v", heldIDs(got))
	}
	if got := dispatcherJSON(t, a, "silent-host"); fmt.Sprint(heldIDs(got)) != fmt.Sprint([]int64{silent.ID}) {
		t.Errorf("silent-host holds %v", heldIDs(got))
	}
}

func TestHolderOfMatchesWorkersAsTheStoreDoes(t *testing.T) {
	t.Parallel()
	known := map[string]*dispatcher{"host": {}, "a/b": {}, "a": {}}
	for _, tt := range []struct{ worker, name, slot string }{
		{"host/3", "host", "3"},
		{"host", "host", ""},
		{"a/b/7", "a/b", "7"}, // the longest name that matches
		{"a/c/7", "a", "c/7"},
		{"hostess/1", "hostess", "1"}, // a prefix only counts before a "/"
		{"lone", "lone", ""},
	} {
		if name, slot := holderOf(tt.worker, known); name != tt.name || slot != tt.slot {
			t.Errorf("holderOf(%q) = %q, %q; want %q, %q", tt.worker, name, slot, tt.name, tt.slot)
		}
	}
}
