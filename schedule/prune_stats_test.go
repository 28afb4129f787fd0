package schedule_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
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
// and, when MariaDB is there, its database.
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

	var sizer *schedule.MySQLSizer
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
		sizer = &schedule.MySQLSizer{}
		defer sizer.Close()
	} else {
		t.Logf("MariaDB is not reachable at 127.0.0.1:3306 (%v): database sizes are not tested", err)
	}

	st := &schedule.Stats{Store: s, Logger: discard()}
	if sizer != nil {
		st.DB = sizer
	}
	n, err := st.Update(ctx)
	must(t, err)
	if n != 1 {
		t.Fatalf("Update changed %d records, want 1", n)
	}
	got, err := s.GetSite(ctx, "a.example")
	must(t, err)
	if got.DiskFiles != 24456 {
		t.Fatalf("DiskFiles = %d, want 24456", got.DiskFiles)
	}
	if sizer != nil && got.DiskDB <= 0 {
		t.Fatalf("DiskDB = %d, want the size of a database with a table", got.DiskDB)
	}
	t.Logf("files %d bytes, database %d bytes", got.DiskFiles, got.DiskDB)
	if n, err := st.Update(ctx); err != nil || n != 0 {
		t.Fatalf("a second Update with nothing changed updated %d records (%v)", n, err)
	}
}

func randomName() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
