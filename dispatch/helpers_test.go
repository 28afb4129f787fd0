package dispatch_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/dispatch"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/postgres"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/sqlite"
	"github.com/aegir-hosting/aegir/tarball"

	// The drivers the tests' servers and platforms use.
	_ "github.com/aegir-hosting/aegir/mysql"
	_ "github.com/aegir-hosting/aegir/null"
	_ "github.com/aegir-hosting/aegir/phpapp"
	_ "github.com/aegir-hosting/aegir/static"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// storeKind opens a new, empty store of one driver.
type storeKind struct {
	name string
	open func(t testing.TB) aegir.Store
}

var storeKinds = []storeKind{
	{"sqlite", openSQLite},
	{"postgres", func(t testing.TB) aegir.Store {
		return openPostgres(t, teststack.TempPostgresDatabase(t, "aegir_test_"))
	}},
}

// forEachStore runs fn, in parallel, on a new SQLite store and on a new
// PostgreSQL database.
func forEachStore(t *testing.T, fn func(t *testing.T, s aegir.Store)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, k.open(t))
		})
	}
}

func openSQLite(t testing.TB) aegir.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hosting.db"))
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t testing.TB, dbURL string) aegir.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dbURL)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fixture is a private $AEGIR_HOME with a back end, and a store holding
// server_master (null http and db services) and platform "static" (a
// directory with an index.html) with sites s00.example... enabled on it.
type fixture struct {
	store   aegir.Store
	backend *provision.Backend
	paths   aegir.Paths
	root    string
}

func setup(t testing.TB, s aegir.Store, sites int) *fixture {
	t.Helper()
	home := t.TempDir()
	paths := aegir.Paths{Home: home}
	must(t, provision.MakeHome(paths))
	f := &fixture{store: s, paths: paths,
		backend: &provision.Backend{Paths: paths, Contexts: contextfile.New(paths), Runner: &local.Runner{}, Archiver: &tarball.Archiver{}}}
	ctx := context.Background()
	must(t, s.CreateServer(ctx, &aegir.ServerRecord{Name: aegir.MasterServer,
		Server: aegir.Server{HTTPServiceType: aegir.ServiceNull, DBServiceType: aegir.ServiceNull}}))
	f.root = f.platform(t, "static", map[string]string{"index.html": "<p>hello</p>\n"})
	for i := range sites {
		f.site(t, fmt.Sprintf("s%02d.example", i), "static", aegir.SiteEnabled)
	}
	return f
}

// platform creates a platform record on server_master over a new
// directory holding files, and returns its root.
func (f *fixture) platform(t testing.TB, name string, files map[string]string) string {
	t.Helper()
	root := filepath.Join(f.paths.Platforms(), name)
	writeFiles(t, root, files)
	must(t, os.MkdirAll(filepath.Join(root, "sites"), 0o755))
	must(t, f.store.CreatePlatform(context.Background(), &aegir.PlatformRecord{Name: name,
		Platform: aegir.Platform{Root: root, WebServer: "@" + aegir.MasterServer}}))
	return root
}

// site creates a site record; an installed status is also the context's.
func (f *fixture) site(t testing.TB, name, platform, status string) *aegir.SiteRecord {
	t.Helper()
	r := &aegir.SiteRecord{Name: name, Site: aegir.Site{URI: name, Platform: "@" + platform}, Status: status}
	if status == aegir.SiteEnabled || status == aegir.SiteDisabled {
		r.Site.Status = status
	}
	must(t, f.store.CreateSite(context.Background(), r))
	return r
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(body), 0o644))
	}
	must(t, os.MkdirAll(dir, 0o755))
}

// start runs a dispatcher until the test ends; the cleanup stops it and
// checks that Run returned nil.
func (f *fixture) start(t testing.TB, worker string, workers int) *dispatch.Dispatcher {
	t.Helper()
	return startDispatcher(t, &dispatch.Dispatcher{Store: f.store, Backend: f.backend, Workers: workers, Worker: worker, Logger: testLogger(t)})
}

func startDispatcher(t testing.TB, d *dispatch.Dispatcher) *dispatch.Dispatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return 30 s after its context ended")
		}
	})
	return d
}

// testLogger writes the dispatcher's messages to the test log when -v is
// given, and nowhere otherwise.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func enqueue(t testing.TB, s aegir.Store, tasks ...*aegir.Task) []int64 {
	t.Helper()
	ids := make([]int64, len(tasks))
	for i, task := range tasks {
		must(t, s.EnqueueTask(context.Background(), task))
		ids[i] = task.ID
	}
	return ids
}

func noop(object string, sleepMS int) *aegir.Task {
	task := &aegir.Task{Type: aegir.TaskNoop, ObjectType: aegir.SiteContext, Object: object, Platform: "static"}
	if sleepMS > 0 {
		task.Args = map[string]string{"sleep_ms": fmt.Sprint(sleepMS)}
	}
	return task
}

func finished(status string) bool {
	switch status {
	case aegir.StatusSuccess, aegir.StatusWarning, aegir.StatusFailed, aegir.StatusCancelled:
		return true
	}
	return false
}

// waitTasks waits until every task in ids has finished and returns them.
// It wakes on the store's notifications, and checks every 200 ms besides
// in case one came before it listened.
func waitTasks(t testing.TB, s aegir.Store, timeout time.Duration, ids ...int64) []*aegir.Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	wake, err := s.Listen(ctx)
	must(t, err)
	tasks := make([]*aegir.Task, len(ids))
	for {
		all := true
		for i, id := range ids {
			if tasks[i] != nil && finished(tasks[i].Status) {
				continue
			}
			task, err := s.GetTask(ctx, id)
			must(t, err)
			tasks[i] = task
			all = all && finished(task.Status)
		}
		if all {
			return tasks
		}
		select {
		case <-wake:
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			for _, task := range tasks {
				if !finished(task.Status) {
					t.Fatalf("task %d (%s on %s) is still %s after %s", task.ID, task.Type, task.Object, task.Status, timeout)
				}
			}
		}
	}
}

// taskLog returns the task's log as "level: message" lines.
func taskLog(t testing.TB, s aegir.Store, id int64) []string {
	t.Helper()
	entries, err := s.TaskLog(context.Background(), id, 0)
	must(t, err)
	var lines []string
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			t.Fatalf("task %d: log entry %d has seq %d", id, i, e.Seq)
		}
		if i > 0 && e.Time.Before(entries[i-1].Time) {
			t.Fatalf("task %d: log entry %d (%s) is older than the one before", id, e.Seq, e.Message)
		}
		lines = append(lines, e.Level+": "+e.Message)
	}
	return lines
}

func wantStatus(t testing.TB, s aegir.Store, task *aegir.Task, want string) {
	t.Helper()
	if task.Status != want {
		t.Fatalf("task %d (%s on %s) is %s, want %s; log:\n%s", task.ID, task.Type, task.Object, task.Status, want,
			strings.Join(taskLog(t, s, task.ID), "\n"))
	}
}

func containsLine(lines []string, substr string) int {
	for i, l := range lines {
		if strings.Contains(l, substr) {
			return i
		}
	}
	return -1
}
