package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/dispatch"
)

// beatless is a store whose heartbeats fail while fail is set, as when the
// dispatcher loses the database.
type beatless struct {
	aegir.Store
	fail atomic.Bool
}

func (s *beatless) Heartbeat(ctx context.Context, worker string) error {
	if s.fail.Load() {
		return errors.New("the database cannot be reached")
	}
	return s.Store.Heartbeat(ctx, worker)
}

// TestADispatcherThatCannotBeatStopsItsTasks: a dispatcher whose
// heartbeats fail for half its lease stops its running tasks (they roll
// back) before another dispatcher could fail them and run their recovery,
// so no task runs in two processes; once it beats again it runs tasks.
func TestADispatcherThatCannotBeatStopsItsTasks(t *testing.T) {
	t.Parallel()
	store := &beatless{Store: openSQLite(t)}
	f := setup(t, store, 2)
	startDispatcher(t, &dispatch.Dispatcher{Store: store, Backend: f.backend, Workers: 2, Worker: "fenced",
		Logger: testLogger(t), LeaseTTL: 400 * time.Millisecond})
	id := enqueue(t, store, noop("s00.example", 30_000))[0]
	deadline := time.Now().Add(10 * time.Second)
	for {
		task, err := store.GetTask(t.Context(), id)
		must(t, err)
		if task.Status == aegir.StatusProcessing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task did not start: %s", task.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	store.fail.Store(true)
	lost := time.Now()
	task := waitTasks(t, store, 10*time.Second, id)[0]
	if task.Status != aegir.StatusFailed || time.Since(lost) > 5*time.Second {
		t.Fatalf("task %s %s after the beats stopped", task.Status, time.Since(lost))
	}
	entries, err := store.TaskLog(t.Context(), id, 0)
	must(t, err)
	var log []string
	for _, e := range entries {
		log = append(log, e.Message)
	}
	if !strings.Contains(strings.Join(log, "\n"), "interrupted") {
		t.Fatalf("the task's log does not say it was stopped: %v", log)
	}
	store.fail.Store(false)
	next := enqueue(t, store, noop("s01.example", 0))[0]
	if got := waitTasks(t, store, 10*time.Second, next)[0]; got.Status != aegir.StatusSuccess {
		t.Fatalf("after the beats came back a task ended %s", got.Status)
	}
}
