package schedule_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	_ "github.com/aegir-hosting/aegir/mysql"
	"github.com/aegir-hosting/aegir/schedule"
	_ "github.com/go-sql-driver/mysql"
)

// TestPruneDeletesOldLogsThenOldTasks finishes two tasks and prunes as
// time passes: nothing within 30 days, the logs after 30 days, the tasks
// after 90; a queued task is never pruned.
func TestPruneDeletesOldLogsThenOldTasks(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		ctx := context.Background()
		for range 2 {
			task := &aegir.Task{Type: "noop", ObjectType: aegir.SiteContext, Object: "a.example"}
			must(t, s.EnqueueTask(ctx, task))
			_, err := s.ClaimTask(ctx, "w")
			must(t, err)
			must(t, s.AppendTaskLog(ctx, task.ID, aegir.LogEntry{Level: aegir.LevelInfo, Message: "one"}, aegir.LogEntry{Level: aegir.LevelInfo, Message: "two"}))
			must(t, s.FinishTask(ctx, task.ID, aegir.StatusSuccess, nil))
		}
		waiting := &aegir.Task{Type: "noop", ObjectType: aegir.SiteContext, Object: "b.example"}
		must(t, s.EnqueueTask(ctx, waiting))

		p := &schedule.Prune{Store: s, Logger: discard()}
		now := time.Now()
		for _, tt := range []struct {
			after        time.Duration
			lines, tasks int64
		}{
			{24 * time.Hour, 0, 0},
			{31 * 24 * time.Hour, 4, 0},
			{91 * 24 * time.Hour, 0, 2},
		} {
			lines, tasks, err := p.Prune(ctx, now.Add(tt.after))
			must(t, err)
			if lines != tt.lines || tasks != tt.tasks {
				t.Fatalf("Prune after %s deleted %d lines and %d tasks, want %d and %d", tt.after, lines, tasks, tt.lines, tt.tasks)
			}
		}
		if _, err := s.GetTask(ctx, waiting.ID); err != nil {
			t.Fatalf("the queued task was pruned: %v", err)
		}

		// Run prunes once at start.
		old := &aegir.Task{Type: "noop", ObjectType: aegir.SiteContext, Object: "c.example"}
		must(t, s.EnqueueTask(ctx, old))
		for range 2 { // the waiting task and the old one
			task, err := s.ClaimTask(ctx, "w")
			must(t, err)
			must(t, s.FinishTask(ctx, task.ID, aegir.StatusSuccess, nil))
		}
		clock := newFakeClock(now.Add(100 * 24 * time.Hour))
		run(t, &schedule.Prune{Store: s, Clock: clock, Logger: discard()})
		clock.advance(0)
		if _, err := s.GetTask(ctx, old.ID); aegir.ErrorCode(err) != aegir.ENOTFOUND {
			t.Fatalf("Run did not prune at start: %v", err)
		}
	})
}

// TestStatsRecordsDiskUseOfFilesAndDatabase measures a site's directory
// and, when MariaDB is there, its database through the registered mysql
// driver; a database that does not exist counts as empty.
func TestStatsRecordsDiskUseOfFilesAndDatabase(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	ctx := context.Background()
	root := t.TempDir()
	seed(t, s, root)
	site := addSite(t, s, "a.example", aegir.SiteEnabled)
	addSite(t, s, "empty.example", aegir.SiteEnabled) // no directory: 0
	dir := filepath.Join(root, "sites", "a.example")
	must(t, os.MkdirAll(filepath.Join(dir, "files", "deep"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "settings.php"), make([]byte, 1000), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "files", "deep", "upload.bin"), make([]byte, 23456), 0o644))
	must(t, os.Symlink("/usr", filepath.Join(dir, "files", "link"))) // not followed

	st := &schedule.Stats{Store: s, Logger: discard()}
	var dbs *countingFactory
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:3306", 2*time.Second); err == nil {
		conn.Close()
		db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/")
		must(t, err)
		defer db.Close()
		name := "stats_" + randomName()
		_, err = db.Exec("CREATE DATABASE " + name)
		must(t, err)
		t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
		_, err = db.Exec("CREATE TABLE " + name + ".t (id INT PRIMARY KEY, v TEXT)")
		must(t, err)
		must(t, s.CreateServer(ctx, &aegir.ServerRecord{Name: "mariadb", Server: aegir.Server{
			HTTPServiceType: aegir.ServiceNull, DBServiceType: aegir.ServiceMySQL, MasterDB: "mysql://root@127.0.0.1:3306"}}))
		site.Site.DBServer, site.Site.DBName = "@mariadb", name
		must(t, s.UpdateSite(ctx, site))
		// On the same server, a database never created: 0, not an error.
		missing := addSite(t, s, "missing.example", aegir.SiteEnabled)
		missing.Site.DBServer, missing.Site.DBName = "@mariadb", "stats_missing_"+randomName()
		missing.DiskDB = 777
		must(t, s.UpdateSite(ctx, missing))
		dbs = &countingFactory{}
		st.DB = dbs.New
	} else {
		t.Logf("MariaDB is not reachable at 127.0.0.1:3306 (%v): database sizes are not tested", err)
	}

	n, err := st.Update(ctx)
	must(t, err)
	want := 1
	if dbs != nil {
		want = 2 // and missing.example, from 777 to 0
	}
	if n != want {
		t.Fatalf("Update changed %d records, want %d", n, want)
	}
	got, err := s.GetSite(ctx, "a.example")
	must(t, err)
	if got.DiskFiles != 24456 {
		t.Fatalf("DiskFiles = %d, want 24456", got.DiskFiles)
	}
	if dbs != nil {
		if got.DiskDB <= 0 {
			t.Fatalf("DiskDB = %d, want the size of a database with a table", got.DiskDB)
		}
		if m, err := s.GetSite(ctx, "missing.example"); err != nil || m.DiskDB != 0 {
			t.Fatalf("DiskDB of a missing database = %d (%v), want 0", m.DiskDB, err)
		}
		// One db service for the two sites of server mariadb, closed
		// when the pass ended; none for server_master, whose db service
		// type is null.
		if opened, closed := dbs.counts(); opened != 1 || closed != 1 {
			t.Fatalf("the pass opened %d db services and closed %d, want 1 and 1", opened, closed)
		}
	}
	t.Logf("files %d bytes, database %d bytes", got.DiskFiles, got.DiskDB)
	if n, err := st.Update(ctx); err != nil || n != 0 {
		t.Fatalf("a second Update with nothing changed updated %d records (%v)", n, err)
	}
	if dbs != nil {
		if opened, closed := dbs.counts(); opened != 2 || closed != 2 {
			t.Fatalf("two passes opened %d db services and closed %d, want 2 and 2", opened, closed)
		}
	}
}

// TestStatsTriesAnUnreachableDBServerOncePerPass gives two sites a db
// server nothing listens on: the pass builds its db service once, reports
// both sites, and keeps what their records hold.
func TestStatsTriesAnUnreachableDBServerOncePerPass(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	ctx := context.Background()
	root := t.TempDir()
	seed(t, s, root)
	must(t, s.CreateServer(ctx, &aegir.ServerRecord{Name: "dead", Server: aegir.Server{
		HTTPServiceType: aegir.ServiceNull, DBServiceType: aegir.ServiceMySQL, MasterDB: "mysql://root@127.0.0.1:1"}}))
	for _, name := range []string{"a.example", "b.example"} {
		r := addSite(t, s, name, aegir.SiteEnabled)
		r.Site.DBServer, r.Site.DBName = "@dead", "db_"+randomName()
		r.DiskDB = 42
		must(t, s.UpdateSite(ctx, r))
		must(t, os.MkdirAll(filepath.Join(root, "sites", name), 0o755))
		must(t, os.WriteFile(filepath.Join(root, "sites", name, "settings.php"), make([]byte, 10), 0o644))
	}
	dbs := &countingFactory{}
	st := &schedule.Stats{Store: s, DB: dbs.New, Logger: discard()}
	_, err := st.Update(ctx)
	if err == nil || !strings.Contains(err.Error(), "@a.example") || !strings.Contains(err.Error(), "@b.example") ||
		!strings.Contains(err.Error(), "db server @dead") {
		t.Fatalf("Update = %v, want an error for each site naming db server @dead", err)
	}
	if opened, _ := dbs.counts(); opened != 0 {
		t.Fatalf("%d db services were built for a dead server", opened)
	}
	if tried := dbs.tried.Load(); tried != 1 {
		t.Fatalf("the dead server was tried %d times in one pass, want 1", tried)
	}
	for _, name := range []string{"a.example", "b.example"} {
		got, err := s.GetSite(ctx, name)
		must(t, err)
		if got.DiskDB != 42 {
			t.Errorf("%s: DiskDB = %d, want 42 kept", name, got.DiskDB)
		}
	}
}

// countingFactory builds db services with the registered drivers and
// counts how many it built and how many were closed.
type countingFactory struct {
	tried, opened, closed atomic.Int64
}

func (f *countingFactory) New(server *aegir.Server, env aegir.Env) (aegir.DBService, error) {
	f.tried.Add(1)
	svc, err := aegir.NewDBService(server, env)
	if err != nil {
		return nil, err
	}
	f.opened.Add(1)
	return closeCounter{svc, &f.closed}, nil
}

func (f *countingFactory) counts() (opened, closed int64) { return f.opened.Load(), f.closed.Load() }

type closeCounter struct {
	aegir.DBService
	closed *atomic.Int64
}

func (c closeCounter) Close() error {
	c.closed.Add(1)
	return c.DBService.Close()
}

func randomName() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
