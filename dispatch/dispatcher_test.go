package dispatch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/dispatch"
	"github.com/aegir-hosting/aegir/sqlite"
	"github.com/jackc/pgx/v5"
)

// TestTasksRunInParallelAcrossSitesButOneAtATimePerSite queues 50 noop
// tasks on 10 sites and two platform verifies among them, and checks from
// the recorded start and end times that tasks of one site never overlap,
// that a platform verify overlaps no task of its sites, and that tasks of
// different sites did run at the same time.
func TestTasksRunInParallelAcrossSitesButOneAtATimePerSite(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 10)
		var tasks []*aegir.Task
		for i := range 50 {
			tasks = append(tasks, noop(fmt.Sprintf("s%02d.example", i%10), 50))
			if i == 19 || i == 39 {
				tasks = append(tasks, dispatch.PlatformTask(aegir.TaskVerify, "static", nil))
			}
		}
		ids := enqueue(t, s, tasks...)
		f.start(t, "host", 8)
		done := waitTasks(t, s, 30*time.Second, ids...)

		byObject := map[string][]*aegir.Task{}
		for _, task := range done {
			wantStatus(t, s, task, aegir.StatusSuccess)
			byObject[task.Object] = append(byObject[task.Object], task)
		}
		overlap := func(a, b *aegir.Task) bool {
			return a.StartedAt.Before(*b.FinishedAt) && b.StartedAt.Before(*a.FinishedAt)
		}
		for object, list := range byObject {
			for i := 1; i < len(list); i++ {
				prev, cur := list[i-1], list[i]
				if cur.StartedAt.Before(*prev.FinishedAt) {
					t.Fatalf("%s: task %d started at %s, before task %d finished at %s", object, cur.ID, cur.StartedAt, prev.ID, prev.FinishedAt)
				}
			}
		}
		for _, v := range byObject["static"] {
			for _, task := range done {
				if task.ID != v.ID && overlap(task, v) {
					t.Fatalf("platform verify %d overlaps task %d on %s", v.ID, task.ID, task.Object)
				}
			}
		}
		parallel := 0
		for i, a := range done {
			for _, b := range done[i+1:] {
				if a.Object != b.Object && overlap(a, b) {
					parallel++
				}
			}
		}
		if parallel == 0 {
			t.Fatal("no two tasks of different sites ran at the same time")
		}
		t.Logf("%d pairs of tasks on different sites overlapped", parallel)
	})
}

// TestIdleDispatcherStartsATaskAtOnce checks that an enqueue wakes an idle
// dispatcher: the task starts well within a second (the benchmark
// measures the real latency).
func TestIdleDispatcherStartsATaskAtOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 1)
		f.start(t, "host", 2)
		for i := range 3 {
			time.Sleep(100 * time.Millisecond) // let the dispatcher go idle
			id := enqueue(t, s, noop("s00.example", 0))[0]
			task := waitTasks(t, s, 10*time.Second, id)[0]
			wantStatus(t, s, task, aegir.StatusSuccess)
			latency := task.StartedAt.Sub(task.CreatedAt)
			t.Logf("run %d: queued → processing in %s", i, latency)
			if latency > time.Second {
				t.Fatalf("an idle dispatcher took %s to start a task", latency)
			}
		}
	})
}

// TestTasksLeftProcessingByADeadDispatcherAreFailed claims tasks as a
// dispatcher would and never finishes them, as after kill -9; a new
// dispatcher of the same worker fails them with a log line and runs new
// tasks, while another worker's task is left alone.
func TestTasksLeftProcessingByADeadDispatcherAreFailed(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 3)
		ctx := context.Background()
		ids := enqueue(t, s, noop("s00.example", 0), noop("s01.example", 0), noop("s02.example", 0))
		for i, worker := range []string{"host/0", "host/1", "other-host/0"} {
			task, err := s.ClaimTask(ctx, worker)
			must(t, err)
			if task == nil || task.ID != ids[i] {
				t.Fatalf("claim %d = %+v", i, task)
			}
		}
		// Queued behind the orphan of s00.example.
		next := enqueue(t, s, noop("s00.example", 0), noop("s01.example", 0))
		f.start(t, "host", 2)
		done := waitTasks(t, s, 10*time.Second, append(ids[:2:2], next...)...)
		for _, task := range done[:2] {
			wantStatus(t, s, task, aegir.StatusFailed)
			log := taskLog(t, s, task.ID)
			if want := "error: " + dispatch.OrphanMessage; len(log) != 1 || log[0] != want {
				t.Fatalf("log of orphan %d = %q, want %q", task.ID, log, want)
			}
		}
		for _, task := range done[2:] {
			wantStatus(t, s, task, aegir.StatusSuccess)
		}
		other, err := s.GetTask(ctx, ids[2])
		must(t, err)
		if other.Status != aegir.StatusProcessing {
			t.Fatalf("another worker's task is %s, want processing", other.Status)
		}
	})
}

// TestPlatformVerifyRecordsAppPackagesAndSitesFound verifies a PHP
// platform holding a known site and an unknown one: the platform gets its
// app, version and packages, and the unknown site a record offered for
// import, not imported.
func TestPlatformVerifyRecordsAppPackagesAndSitesFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 0)
		ctx := context.Background()
		f.platform(t, "php", map[string]string{
			"index.php":                        "<?php\n",
			"VERSION":                          "2.4.1\n",
			"sites/known.example/settings.php": "<?php\n",
			"sites/found.example/settings.php": "<?php\n",
			"sites/default/settings.php":       "<?php\n",
			"sites/nosettings.example/x":       "",
		})
		f.site(t, "known.example", "php", aegir.SiteEnabled)
		id := enqueue(t, s, dispatch.PlatformTask(aegir.TaskVerify, "php", nil))[0]
		f.start(t, "host", 2)
		task := waitTasks(t, s, 10*time.Second, id)[0]
		wantStatus(t, s, task, aegir.StatusSuccess)

		p, err := s.GetPlatform(ctx, "php")
		must(t, err)
		if p.App != "php" || p.Version != "2.4.1" || p.Status != dispatch.Verified {
			t.Fatalf("platform record: app %q version %q status %q", p.App, p.Version, p.Status)
		}
		pkgs, err := s.PlatformPackages(ctx, "php")
		must(t, err)
		if want := []aegir.Package{{Name: "php", Type: "core", Version: "2.4.1"}}; !reflect.DeepEqual(pkgs, want) {
			t.Fatalf("platform packages = %+v, want %+v", pkgs, want)
		}
		if n, ok := task.Data["packages"].(float64); !ok || n != 1 {
			t.Fatalf("task data packages = %#v, want their count 1", task.Data["packages"])
		}

		found, err := s.GetSite(ctx, "found.example")
		must(t, err)
		if found.Status != dispatch.SiteFound || aegir.ContextName(found.Site.Platform) != "php" || found.Site.Status != aegir.SiteNotInstalled {
			t.Fatalf("found site record: %+v", found)
		}
		known, err := s.GetSite(ctx, "known.example")
		must(t, err)
		if known.Status != aegir.SiteEnabled {
			t.Fatalf("known site is now %s", known.Status)
		}
		if _, err := s.GetSite(ctx, "nosettings.example"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
			t.Fatalf("a directory without settings got a record: %v", err)
		}
		log := taskLog(t, s, task.ID)
		if containsLine(log, "offered for import") < 0 || containsLine(log, "found.example") < 0 {
			t.Fatalf("log does not offer found.example for import:\n%s", strings.Join(log, "\n"))
		}
		// Offered, not imported: no task was queued for it.
		queued, _, err := s.ListTasks(ctx, aegir.TaskFilter{Object: "found.example"})
		must(t, err)
		if len(queued) != 0 {
			t.Fatalf("tasks on found.example: %+v", queued)
		}

		// A second verify offers nothing new.
		id = enqueue(t, s, dispatch.PlatformTask(aegir.TaskVerify, "php", nil))[0]
		task = waitTasks(t, s, 10*time.Second, id)[0]
		wantStatus(t, s, task, aegir.StatusSuccess)
		if log := taskLog(t, s, task.ID); containsLine(log, "offered for import") >= 0 {
			t.Fatalf("second verify offered sites again:\n%s", strings.Join(log, "\n"))
		}
	})
}

// TestFailingInstallIsFailedWithItsLogInOrder installs a PHP site, which
// needs a database, on a db server with no database service: the install
// fails at its database step and rolls back; the task is failed with every
// log line in order, and the site record is failed.
func TestFailingInstallIsFailedWithItsLogInOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 0)
		f.root = f.platform(t, "php", map[string]string{"index.php": "<?php\n"})
		f.site(t, "new.example", "php", aegir.SiteInstalling)
		id := enqueue(t, s, &aegir.Task{Type: aegir.TaskInstall, ObjectType: aegir.SiteContext, Object: "new.example", Platform: "php"})[0]
		f.start(t, "host", 2)
		task := waitTasks(t, s, 10*time.Second, id)[0]
		wantStatus(t, s, task, aegir.StatusFailed)
		log := taskLog(t, s, id)
		created := containsLine(log, "created "+filepath.Join(f.root, "sites", "new.example"))
		failure := containsLine(log, "error: ")
		if created < 0 || failure < 0 || created > failure || !strings.Contains(log[failure], "cannot create database") {
			t.Fatalf("log (created at %d, error at %d):\n%s", created, failure, strings.Join(log, "\n"))
		}
		r, err := s.GetSite(context.Background(), "new.example")
		must(t, err)
		if r.Status != aegir.SiteFailed || r.Site.DBName != "" {
			t.Fatalf("site record after a failed install: status %q db %q", r.Status, r.Site.DBName)
		}
		if _, err := os.Stat(filepath.Join(f.root, "sites", "new.example")); !os.IsNotExist(err) {
			t.Fatalf("the failed install left its site directory: %v", err)
		}
	})
}

// TestTasksThatCannotRunAreFailedWithAReason covers a missing record, a
// deleted site, an unknown type and a type that does not apply.
func TestTasksThatCannotRunAreFailedWithAReason(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 1)
		f.site(t, "gone.example", "static", aegir.SiteDeleted)
		tasks := []struct {
			task *aegir.Task
			want string
		}{
			{&aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.SiteContext, Object: "ghost.example"}, "site @ghost.example has no record in the front end"},
			{&aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.SiteContext, Object: "gone.example"}, "is deleted"},
			{&aegir.Task{Type: "frobnicate", ObjectType: aegir.SiteContext, Object: "s00.example"}, `unknown task type "frobnicate"`},
			{&aegir.Task{Type: aegir.TaskInstall, ObjectType: aegir.ServerContext, Object: aegir.MasterServer}, "does not apply to a server"},
			{dispatch.PlatformTask(aegir.TaskVerify, "nowhere", nil), "platform @nowhere has no record"},
			{&aegir.Task{Type: aegir.TaskNoop, ObjectType: aegir.SiteContext, Object: "s00.example", Args: map[string]string{"sleep_ms": "-1"}}, "sleep_ms"},
		}
		var ids []int64
		for _, tt := range tasks {
			ids = append(ids, enqueue(t, s, tt.task)...)
		}
		f.start(t, "host", 2)
		done := waitTasks(t, s, 10*time.Second, ids...)
		for i, task := range done {
			wantStatus(t, s, task, aegir.StatusFailed)
			if log := taskLog(t, s, task.ID); containsLine(log, tasks[i].want) < 0 {
				t.Errorf("task %s on %s: log %q does not say %q", task.Type, task.Object, log, tasks[i].want)
			}
		}
	})
}

// TestTwoDispatchersOnOnePostgresStoreRunEachTaskOnce runs 200 noop tasks
// with two dispatchers on two store instances (as two aegir processes):
// each task runs once, and both dispatchers take part.
func TestTwoDispatchersOnOnePostgresStoreRunEachTaskOnce(t *testing.T) {
	t.Parallel()
	dbURL := teststack.TempPostgresDatabase(t, "aegir_test_")
	a, b := openPostgres(t, dbURL), openPostgres(t, dbURL)
	f := setup(t, a, 20)
	var tasks []*aegir.Task
	for i := range 200 {
		tasks = append(tasks, noop(fmt.Sprintf("s%02d.example", i%20), 0))
	}
	ids := enqueue(t, a, tasks...)
	fb := *f
	fb.store = b
	f.start(t, "host-a", 4)
	fb.start(t, "host-b", 4)
	done := waitTasks(t, a, 60*time.Second, ids...)
	hosts := map[string]int{}
	for _, task := range done {
		wantStatus(t, a, task, aegir.StatusSuccess)
		if log := taskLog(t, a, task.ID); len(log) != 1 {
			t.Fatalf("task %d ran %d times: %q", task.ID, len(log), log)
		}
		host, _, _ := strings.Cut(task.Worker, "/")
		hosts[host]++
	}
	t.Logf("tasks per dispatcher: %v", hosts)
	if hosts["host-a"] == 0 || hosts["host-b"] == 0 {
		t.Fatalf("tasks per dispatcher: %v", hosts)
	}
}

// TestStopWaitsForRunningTasksAndHardStopCancelsThem stops a dispatcher
// while a long task runs: Run waits for it; a hard stop then cancels it,
// and it is recorded as failed.
func TestStopWaitsForRunningTasksAndHardStopCancelsThem(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	f := setup(t, s, 1)
	hard, kill := context.WithCancel(context.Background())
	defer kill()
	d := &dispatch.Dispatcher{Store: s, Backend: f.backend, Workers: 1, Worker: "host", Logger: testLogger(t), HardStop: hard}
	ctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	id := enqueue(t, s, noop("s00.example", 60_000))[0]
	for {
		task, err := s.GetTask(context.Background(), id)
		must(t, err)
		if task.Status == aegir.StatusProcessing {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	select {
	case err := <-errc:
		t.Fatalf("Run returned (%v) while a task ran", err)
	case <-time.After(200 * time.Millisecond):
	}
	kill()
	select {
	case err := <-errc:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the hard stop")
	}
	task, err := s.GetTask(context.Background(), id)
	must(t, err)
	wantStatus(t, s, task, aegir.StatusFailed)
	if log := taskLog(t, s, id); containsLine(log, "interrupted") < 0 {
		t.Fatalf("log: %q", log)
	}
}

// TestDispatcherRetriesAFailingStore closes the store under a running
// dispatcher: it keeps retrying instead of dying, and stops cleanly.
func TestDispatcherRetriesAFailingStore(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	f := setup(t, s, 1)
	d := &dispatch.Dispatcher{Store: s, Backend: f.backend, Workers: 1, Worker: "host", Logger: testLogger(t)}
	ctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	waitTasks(t, s, 10*time.Second, enqueue(t, s, noop("s00.example", 0))...)
	s.Close()
	select {
	case err := <-errc:
		t.Fatalf("Run returned (%v) when the store failed", err)
	case <-time.After(500 * time.Millisecond):
	}
	stop()
	select {
	case err := <-errc:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestPlatformWideAndAcceptsFollowTheCatalog(t *testing.T) {
	t.Parallel()
	if !dispatch.PlatformWide(aegir.TaskVerify, aegir.PlatformContext) || dispatch.PlatformWide(aegir.TaskVerify, aegir.SiteContext) {
		t.Error("PlatformWide is wrong for verify")
	}
	if !dispatch.Accepts(aegir.TaskDelete, aegir.ServerContext) || dispatch.Accepts(aegir.TaskCron, aegir.PlatformContext) {
		t.Error("Accepts is wrong")
	}
}

// TestRescanPicksUpTasksOfAnotherProcessOnSQLite enqueues through a second
// store on the same SQLite file, as another process would: its in-process
// notification cannot reach the dispatcher, and Rescan picks the task up.
func TestRescanPicksUpTasksOfAnotherProcessOnSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hosting.db")
	a, err := sqlite.Open(context.Background(), path)
	must(t, err)
	t.Cleanup(func() { a.Close() })
	b, err := sqlite.Open(context.Background(), path)
	must(t, err)
	t.Cleanup(func() { b.Close() })
	f := setup(t, a, 1)
	startDispatcher(t, &dispatch.Dispatcher{Store: a, Backend: f.backend, Workers: 1, Worker: "host", Logger: testLogger(t), Rescan: 100 * time.Millisecond})
	id := enqueue(t, b, noop("s00.example", 0))[0]
	task := waitTasks(t, a, 10*time.Second, id)[0]
	wantStatus(t, a, task, aegir.StatusSuccess)
}

// TestDispatcherRecoversWhenPostgresConnectionsDie ends every connection
// of the dispatcher's database, as a database restart does: the
// dispatcher retries, its listener reconnects, and new tasks run.
func TestDispatcherRecoversWhenPostgresConnectionsDie(t *testing.T) {
	t.Parallel()
	dbURL := teststack.TempPostgresDatabase(t, "aegir_test_")
	a, b := openPostgres(t, dbURL), openPostgres(t, dbURL)
	f := setup(t, a, 1)
	f.start(t, "host", 2)
	waitTasks(t, b, 10*time.Second, enqueue(t, b, noop("s00.example", 0))...)

	conn, err := pgx.Connect(context.Background(), teststack.PostgresAdminURL(t))
	must(t, err)
	defer conn.Close(context.Background())
	name := dbURL[strings.LastIndex(dbURL, "/")+1:]
	if i := strings.Index(name, "?"); i >= 0 {
		name = name[:i]
	}
	var killed int
	must(t, conn.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name).Scan(&killed))
	t.Logf("terminated %d connections", killed)
	if killed == 0 {
		t.Fatal("no connection to terminate")
	}
	b2 := openPostgres(t, dbURL)
	task := waitTasks(t, b2, 30*time.Second, enqueue(t, b2, noop("s00.example", 0))...)[0]
	wantStatus(t, b2, task, aegir.StatusSuccess)
	t.Logf("queued → processing after the connections died: %s", task.StartedAt.Sub(task.CreatedAt))
}

// TestAMigrateLeftProcessingGetsAVerifyOfItsSite fails a migrate and
// another task left processing by a dead dispatcher: the site of the
// migrate gets a verify queued, which recovers what a migrate that died
// can leave (tables moved away), and runs; the other site gets none.
func TestAMigrateLeftProcessingGetsAVerifyOfItsSite(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 2)
		ctx := context.Background()
		migrate := &aegir.Task{Type: aegir.TaskMigrate, ObjectType: aegir.SiteContext, Object: "s00.example", Platform: "static",
			Args: map[string]string{"platform": "@platform_other"}}
		ids := enqueue(t, s, migrate, noop("s01.example", 0))
		for i, worker := range []string{"host/0", "host/1"} {
			task, err := s.ClaimTask(ctx, worker)
			must(t, err)
			if task == nil || task.ID != ids[i] {
				t.Fatalf("claim %d = %+v", i, task)
			}
		}
		f.start(t, "host", 2)
		waitTasks(t, s, 10*time.Second, ids...)
		var verify *aegir.Task
		for deadline := time.Now().Add(10 * time.Second); verify == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			list, _, err := s.ListTasks(ctx, aegir.TaskFilter{Type: aegir.TaskVerify})
			must(t, err)
			for _, task := range list {
				if task.Object != "s00.example" && task.Object != "s01.example" {
					continue
				}
				if task.Object != "s00.example" || verify != nil {
					t.Fatalf("unexpected verify %+v", task)
				}
				verify = task
			}
		}
		if verify == nil {
			t.Fatal("no verify queued for the site of the orphaned migrate")
		}
		if verify.Creator != dispatch.RecoveryCreator || verify.Platform != "static" {
			t.Errorf("verify %+v, want creator %s on platform static", verify, dispatch.RecoveryCreator)
		}
		wantStatus(t, s, waitTasks(t, s, 10*time.Second, verify.ID)[0], aegir.StatusSuccess)
	})
}

// TestABatchMigrateLeftProcessingGetsAVerifyOfEachSiteItLeft fails a
// migrate-platform left processing by a dead dispatcher: each site still
// on its source platform gets a verify queued (the sites it had moved
// were recorded on the target as they moved).
func TestABatchMigrateLeftProcessingGetsAVerifyOfEachSiteItLeft(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 2)
		ctx := context.Background()
		id := enqueue(t, s, dispatch.PlatformTask(aegir.TaskMigratePlatform, "static", map[string]string{"platform": "@static2"}))[0]
		if task, err := s.ClaimTask(ctx, "host/0"); err != nil || task == nil || task.ID != id {
			t.Fatalf("claim = %+v, %v", task, err)
		}
		f.start(t, "host", 2)
		waitTasks(t, s, 10*time.Second, id)
		var verifies []int64
		seen := map[string]bool{}
		for deadline := time.Now().Add(10 * time.Second); len(seen) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			list, _, err := s.ListTasks(ctx, aegir.TaskFilter{Type: aegir.TaskVerify})
			must(t, err)
			for _, task := range list {
				if task.Creator == dispatch.RecoveryCreator && !seen[task.Object] {
					seen[task.Object] = true
					verifies = append(verifies, task.ID)
				}
			}
		}
		if !seen["s00.example"] || !seen["s01.example"] || len(seen) != 2 {
			t.Fatalf("recovery verifies queued for %v, want s00.example and s01.example", seen)
		}
		for _, task := range waitTasks(t, s, 10*time.Second, verifies...) {
			wantStatus(t, s, task, aegir.StatusSuccess)
		}
	})
}
