package hosting_test

import (
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// TestWaitingForNamesTheTaskAheadByTheQueuesRule: a queued task waits for
// a task on its object, then for a platform-wide task of its platform; a
// platform-wide task waits for the tasks of its platform's sites; with
// none of these it waits only for a free worker.
func TestWaitingForNamesTheTaskAheadByTheQueuesRule(t *testing.T) {
	t.Parallel()
	b := setup(t) // queues the verifies of server_master and of both platforms
	ctx := t.Context()
	b.site(t, "other.example.com", aegir.SiteEnabled)
	queue := func(objType aegir.ContextType, object, typ string) *aegir.Task {
		t.Helper()
		task, err := b.svc.CreateTask(ctx, hosting.TaskRequest{ObjectType: objType, Object: object, Type: typ}, "test")
		must(t, err)
		return task
	}
	waits := func(task *aegir.Task, want *aegir.Task) {
		t.Helper()
		task, err := b.store.GetTask(ctx, task.ID)
		must(t, err)
		got, err := b.svc.WaitingFor(ctx, task)
		must(t, err)
		switch {
		case want == nil && got != nil:
			t.Errorf("task %d (%s %s) waits for task %d, want a free worker", task.ID, task.Type, task.Object, got.ID)
		case want != nil && (got == nil || got.ID != want.ID):
			t.Errorf("task %d (%s %s) waits for %+v, want task %d", task.ID, task.Type, task.Object, got, want.ID)
		}
	}
	list, _, err := b.store.ListTasks(ctx, aegir.TaskFilter{Object: "platform_a", Type: aegir.TaskVerify})
	must(t, err)
	verifyA := list[0]

	backup := queue(aegir.SiteContext, "live.example.com", aegir.TaskBackup)
	waits(backup, verifyA) // platform_a's verify holds every site of it
	cron := queue(aegir.SiteContext, "live.example.com", aegir.TaskCron)
	waits(cron, backup) // the task right before it on the same site

	// Once the verifies ran (claimUntil finishes them), the backup runs;
	// the cron waits for it, a task on another site for nothing.
	claimUntil(t, b.store, backup.ID)
	waits(cron, backup)
	other := queue(aegir.SiteContext, "other.example.com", aegir.TaskCron)
	waits(other, nil)

	// A platform-wide task waits for the tasks of its sites: the running
	// backup; a task on a third site, queued after it, waits for it.
	verify := queue(aegir.PlatformContext, "platform_a", aegir.TaskVerify)
	waits(verify, backup)
	b.site(t, "third.example.com", aegir.SiteEnabled)
	third := queue(aegir.SiteContext, "third.example.com", aegir.TaskFlushCache)
	waits(third, verify)

	// A task that is not queued waits for nothing.
	running, err := b.store.GetTask(ctx, backup.ID)
	must(t, err)
	if got, err := b.svc.WaitingFor(ctx, running); got != nil || err != nil {
		t.Errorf("a running task waits for %+v (%v)", got, err)
	}
}

// claimUntil claims tasks until it claims id (finishing the others) and
// returns it.
func claimUntil(t *testing.T, s aegir.Store, id int64) *aegir.Task {
	t.Helper()
	for range 100 {
		task, err := s.ClaimTask(t.Context(), "test/0")
		must(t, err)
		if task == nil {
			t.Fatalf("task %d is not runnable", id)
		}
		if task.ID == id {
			return task
		}
		must(t, s.FinishTask(t.Context(), task.ID, aegir.StatusSuccess, nil))
	}
	t.Fatalf("task %d never claimed", id)
	return nil
}
