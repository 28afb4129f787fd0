package schedule_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/postgres"
	"github.com/aegir-hosting/aegir/schedule"
	"github.com/aegir-hosting/aegir/sqlite"
	"github.com/jackc/pgx/v5"
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

// openPostgres opens a new database on the test server (found as
// postgres/postgres_test.go finds it), dropped in t.Cleanup; it skips only
// when nothing listens at 127.0.0.1:5432.
func openPostgres(t *testing.T) aegir.Store {
	t.Helper()
	admin := os.Getenv("AEGIR_TEST_POSTGRES")
	if admin == "" {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second)
		if err != nil {
			t.Skipf("PostgreSQL is not reachable at 127.0.0.1:5432 (%v); set AEGIR_TEST_POSTGRES to test elsewhere", err)
		}
		conn.Close()
		for _, user := range []string{"postgres", "root"} {
			u := "postgres://" + user + "@127.0.0.1:5432/postgres?sslmode=disable"
			if c, err := pgx.Connect(context.Background(), u); err == nil {
				c.Close(context.Background())
				admin = u
				break
			}
		}
		if admin == "" {
			t.Fatal("PostgreSQL listens at 127.0.0.1:5432 but takes neither user postgres nor root")
		}
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "aegir_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(context.Background(), admin)
	must(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "CREATE DATABASE "+name)
	must(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	must(t, err)
	u.Path = "/" + name
	s, err := postgres.Open(context.Background(), u.String())
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
