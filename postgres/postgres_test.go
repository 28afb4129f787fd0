package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/postgres"
	"github.com/aegir-hosting/aegir/storetest"
	"github.com/jackc/pgx/v5"
)

func open(t *testing.T, dbURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) aegir.Store {
		return open(t, teststack.TempPostgresDatabase(t, "aegir_test_"))
	})
}

// TestTwoProcessesShareOneQueue runs 16 workers on two Store instances
// (two connection pools, as two aegir processes have) over 500 tasks: 480
// on 20 sites across 4 platforms, in shuffled order, and 20 exclusive
// platform tasks among them. Each
// task must be claimed exactly once, never beside another task on its
// object or beside an exclusive task on its platform, and in creation
// order per object.
func TestTwoProcessesShareOneQueue(t *testing.T) {
	t.Parallel()
	dbURL := teststack.TempPostgresDatabase(t, "aegir_test_")
	a, b := open(t, dbURL), open(t, dbURL)
	queued := storetest.TaskMix(500, 20, 4, 1)
	for i, task := range queued {
		// Enqueue from both stores, as both processes' API would.
		s := a
		if i%2 == 1 {
			s = b
		}
		if err := s.EnqueueTask(t.Context(), task); err != nil {
			t.Fatal(err)
		}
	}
	checker := storetest.NewRunChecker()
	const perStore = 8
	errs := make(chan error, 2*perStore)
	for i := range 2 * perStore {
		s, name := a, fmt.Sprintf("host-a/%d", i)
		if i%2 == 1 {
			s, name = b, fmt.Sprintf("host-b/%d", i)
		}
		go func() { errs <- storetest.ClaimAll(t.Context(), s, name, len(queued), time.Minute, checker.Run) }()
	}
	for range 2 * perStore {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	checker.CheckOnce(t, queued)
	storetest.CheckRuns(t, a, queued)

	// Both processes did work.
	workers := map[string]int{}
	list, _, err := a.ListTasks(t.Context(), aegir.TaskFilter{PerPage: aegir.MaxPerPage})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range list {
		workers[task.Worker[:6]]++
	}
	if workers["host-a"] == 0 || workers["host-b"] == 0 {
		t.Fatalf("tasks per host: %v", workers)
	}
}

// TestListenerOfOneProcessWakesOnAnother checks that NOTIFY crosses pools,
// and that a listener whose connection is killed reconnects and goes on.
func TestListenerOfOneProcessWakesOnAnother(t *testing.T) {
	t.Parallel()
	dbURL := teststack.TempPostgresDatabase(t, "aegir_test_")
	a, b := open(t, dbURL), open(t, dbURL)
	ch, err := a.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wake := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wakeup after %s", what)
		}
	}
	task := &aegir.Task{Type: "verify", ObjectType: aegir.ServerContext, Object: "server_master"}
	if err := b.EnqueueTask(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	wake("an enqueue in the other process")

	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var killed int
	if err := conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+postgres.Channel+`'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("killed %d listening connections, want 1", killed)
	}
	wake("the listener reconnected")
	if _, err := b.ClaimTask(t.Context(), "w"); err != nil {
		t.Fatal(err)
	}
	if err := b.FinishTask(t.Context(), task.ID, aegir.StatusSuccess, nil); err != nil {
		t.Fatal(err)
	}
	wake("a finish in the other process after reconnecting")
}

// TestTwoProcessesStartTogether opens two stores on a new database at
// once: one migrates under goose's lock while the other waits.
func TestTwoProcessesStartTogether(t *testing.T) {
	t.Parallel()
	dbURL := teststack.TempPostgresDatabase(t, "aegir_test_")
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			s, err := postgres.Open(t.Context(), dbURL)
			if err == nil {
				err = s.CreateClient(t.Context(), &aegir.Client{Name: "acme"})
				if aegir.ErrorCode(err) == aegir.ECONFLICT {
					err = nil
				}
				s.Close()
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenStoreTakesAPostgresURL(t *testing.T) {
	t.Parallel()
	s, err := aegir.OpenStore(t.Context(), teststack.TempPostgresDatabase(t, "aegir_test_"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*postgres.Store); !ok {
		t.Fatalf("OpenStore = %T", s)
	}
}

func TestOpenReportsAnUnreachableServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://aegir@127.0.0.1:1/aegir?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	t.Log(err)
}
