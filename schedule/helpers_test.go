package schedule_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/postgres"
	"github.com/aegir-hosting/aegir/schedule"
	"github.com/aegir-hosting/aegir/sqlite"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// forEachStore runs fn, in parallel, on a new SQLite store and on a new
// PostgreSQL database.
func forEachStore(t *testing.T, fn func(t *testing.T, s aegir.Store)) {
	for _, k := range []struct {
		name string
		open func(t *testing.T) aegir.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, k.open(t))
		})
	}
}

func openSQLite(t *testing.T) aegir.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hosting.db"))
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// openPostgres opens a new database on the test server
// (teststack.TempPostgresDatabase), dropped in t.Cleanup; it skips only
// when nothing listens at 127.0.0.1:5432.
func openPostgres(t *testing.T) aegir.Store {
	t.Helper()
	dbURL := teststack.TempPostgresDatabase(t, "aegir_test_")
	s, err := postgres.Open(context.Background(), dbURL)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// seed creates server_master and platform "p" rooted at root.
func seed(t *testing.T, s aegir.Store, root string) {
	t.Helper()
	ctx := context.Background()
	must(t, s.CreateServer(ctx, &aegir.ServerRecord{Name: aegir.MasterServer,
		Server: aegir.Server{HTTPServiceType: aegir.ServiceNull, DBServiceType: aegir.ServiceNull}}))
	must(t, s.CreatePlatform(ctx, &aegir.PlatformRecord{Name: "p", Platform: aegir.Platform{Root: root}}))
}

func addSite(t *testing.T, s aegir.Store, name, status string) *aegir.SiteRecord {
	t.Helper()
	r := &aegir.SiteRecord{Name: name, Site: aegir.Site{URI: name, Platform: "@p"}, Status: status}
	must(t, s.CreateSite(context.Background(), r))
	return r
}

// queued returns the queued tasks of type typ by object.
func queued(t *testing.T, s aegir.Store, typ string) map[string][]*aegir.Task {
	t.Helper()
	list, _, err := s.ListTasks(context.Background(), aegir.TaskFilter{Type: typ, Status: aegir.StatusQueued, PerPage: aegir.MaxPerPage})
	must(t, err)
	by := map[string][]*aegir.Task{}
	for _, task := range list {
		by[task.Object] = append(by[task.Object], task)
	}
	return by
}

// fakeClock is a Clock whose tickers tick when the test sends on tick.
// A send returns once the scheduler has taken the tick, that is after it
// finished the pass before.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	tick chan time.Time
}

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now, tick: make(chan time.Time)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(time.Duration) schedule.Ticker { return fakeTicker{c.tick} }

// advance moves the clock and delivers a tick at the new time.
func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	c.tick <- now
	return now
}

type fakeTicker struct{ c chan time.Time }

func (t fakeTicker) C() <-chan time.Time { return t.c }
func (t fakeTicker) Stop()               {}

// run starts a scheduler's Run and stops it when the test ends.
func run(t *testing.T, r interface{ Run(context.Context) error }) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
