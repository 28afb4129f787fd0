package dispatch_test

import (
	"context"
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/dispatch"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/provision"
	_ "github.com/go-sql-driver/mysql"
)

// requireMariaDB skips the test when no MariaDB answers at 127.0.0.1:3306
// and returns an administrator connection.
func requireMariaDB(t *testing.T) *sql.DB {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:3306", 2*time.Second)
	if err != nil {
		teststack.Missing(t, "MariaDB is not reachable at 127.0.0.1:3306: %v", err)
	}
	conn.Close()
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/")
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// dropSiteDatabases drops, at the end of the test, the database and user
// an install of each uri makes, in case the test failed before its delete.
func dropSiteDatabases(t *testing.T, db *sql.DB, uris ...string) {
	t.Cleanup(func() {
		for _, uri := range uris {
			name := provision.DatabaseName(uri, 0)
			db.Exec("DROP DATABASE IF EXISTS `" + name + "`")
			db.Exec("DROP USER IF EXISTS '" + name + "'@'localhost', '" + name + "'@'127.0.0.1'")
		}
	})
}

// TestSiteLifecycleIsRecorded runs a static site on a real MariaDB server
// through install, verify, cron, backups, disable and enable, clone, a
// renaming migrate and delete, and checks what each task left in the
// store: site statuses and credentials, backup rows, packages, the clone's
// and the renamed site's records, and the tombstones.
func TestSiteLifecycleIsRecorded(t *testing.T) {
	maria := requireMariaDB(t)
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 0)
		ctx := context.Background()
		must(t, s.CreateServer(ctx, &aegir.ServerRecord{Name: "mariadb", Server: aegir.Server{
			HTTPServiceType: aegir.ServiceNull, DBServiceType: aegir.ServiceMySQL, MasterDB: "mysql://root@127.0.0.1:3306"}}))
		f.platform(t, "static2", map[string]string{"index.html": "<p>two</p>\n"})
		must(t, s.CreateClient(ctx, &aegir.Client{Name: "acme"}))
		tag := randomHex(3)
		uri, clone, renamed := "lc"+tag+".example", "cl"+tag+".example", "mv"+tag+".example"
		dropSiteDatabases(t, maria, uri, clone, renamed)
		must(t, s.CreateSite(ctx, &aegir.SiteRecord{Name: uri, Client: "acme", Status: aegir.SiteInstalling,
			Site: aegir.Site{URI: uri, Platform: "@static", DBServer: "@mariadb"}}))
		f.start(t, "host", 2)

		run := func(typ, object string, args map[string]string) *aegir.Task {
			t.Helper()
			r, err := s.GetSite(ctx, object)
			must(t, err)
			id := enqueue(t, s, dispatch.SiteTask(typ, r, args))[0]
			task := waitTasks(t, s, 30*time.Second, id)[0]
			if task.Status != aegir.StatusSuccess && task.Status != aegir.StatusWarning {
				wantStatus(t, s, task, aegir.StatusSuccess)
			}
			return task
		}
		site := func(name string) *aegir.SiteRecord {
			t.Helper()
			r, err := s.GetSite(ctx, name)
			must(t, err)
			return r
		}

		run(aegir.TaskInstall, uri, nil)
		r := site(uri)
		if r.Status != aegir.SiteEnabled || r.Site.Status != aegir.SiteEnabled || r.Site.DBName == "" || r.Site.DBPassword == "" {
			t.Fatalf("after install: status %q/%q db %q", r.Status, r.Site.Status, r.Site.DBName)
		}
		pkgs, err := s.SitePackages(ctx, uri)
		must(t, err)
		if want := []aegir.Package{{Name: "static", Type: "core"}}; !reflect.DeepEqual(pkgs, want) {
			t.Fatalf("site packages = %+v", pkgs)
		}

		run(aegir.TaskVerify, uri, nil)
		run(aegir.TaskCron, uri, nil)
		if r := site(uri); r.LastCron == nil || time.Since(*r.LastCron) > time.Minute {
			t.Fatalf("after cron: last cron %v", r.LastCron)
		}

		first := run(aegir.TaskBackup, uri, nil)
		second := run(aegir.TaskBackup, uri, nil)
		backups, err := s.ListBackups(ctx, uri)
		must(t, err)
		if len(backups) != 2 || backups[1].File != first.Data["backup_file"] || backups[0].File != second.Data["backup_file"] ||
			backups[1].Size <= 0 || len(backups[1].SHA256) != 64 {
			t.Fatalf("backups after two backup tasks: %+v", backups)
		}
		if r := site(uri); r.LastBackup == nil {
			t.Fatal("after backup: no last backup")
		}
		run(aegir.TaskBackupDelete, uri, map[string]string{"files": filepath.Base(backups[1].File)})
		after, err := s.ListBackups(ctx, uri)
		must(t, err)
		if len(after) != 1 || after[0].ID != backups[0].ID {
			t.Fatalf("backups after backup-delete: %+v", after)
		}
		if _, err := os.Stat(backups[1].File); !os.IsNotExist(err) {
			t.Fatalf("the deleted backup file is still there: %v", err)
		}

		// A backup-verify records when it proved the newest backup.
		run(aegir.TaskBackupVerify, uri, nil)
		after, err = s.ListBackups(ctx, uri)
		must(t, err)
		if len(after) != 1 || after[0].VerifiedAt == nil || time.Since(*after[0].VerifiedAt) > time.Minute {
			t.Fatalf("backups after backup-verify: %+v", after)
		}

		// The safety backup of another task is the site's last backup too.
		before := *site(uri).LastBackup
		time.Sleep(10 * time.Millisecond)
		upd := run(aegir.TaskUpdateDB, uri, nil)
		if r := site(uri); r.LastBackup == nil || !r.LastBackup.After(before) || upd.Data["backup_file"] == nil {
			t.Fatalf("after update-db (backup %v): last backup %v, was %v", upd.Data["backup_file"], r.LastBackup, before)
		}

		run(aegir.TaskDisable, uri, nil)
		if r := site(uri); r.Status != aegir.SiteDisabled || r.Site.Status != aegir.SiteDisabled {
			t.Fatalf("after disable: %q/%q", r.Status, r.Site.Status)
		}
		run(aegir.TaskEnable, uri, nil)
		if r := site(uri); r.Status != aegir.SiteEnabled {
			t.Fatalf("after enable: %q", r.Status)
		}

		run(aegir.TaskClone, uri, map[string]string{"new_uri": clone})
		c := site(clone)
		if c.Status != aegir.SiteEnabled || c.Client != "acme" || c.Site.DBName == "" || c.Site.DBName == site(uri).Site.DBName ||
			aegir.ContextName(c.Site.Platform) != "static" {
			t.Fatalf("clone record: %+v", c)
		}

		run(aegir.TaskMigrate, clone, map[string]string{"platform": "@static2", "new_uri": renamed})
		if old := site(clone); old.Status != aegir.SiteDeleted {
			t.Fatalf("the renamed site's old record is %q, want deleted", old.Status)
		}
		m := site(renamed)
		if m.Status != aegir.SiteEnabled || m.Client != "acme" || aegir.ContextName(m.Site.Platform) != "static2" || m.Site.DBName == "" {
			t.Fatalf("renamed site record: %+v", m)
		}

		for _, name := range []string{uri, renamed} {
			task := run(aegir.TaskDelete, name, nil)
			if r := site(name); r.Status != aegir.SiteDeleted {
				t.Fatalf("after delete: %s is %q", name, r.Status)
			}
			list, err := s.ListBackups(ctx, name)
			must(t, err)
			if len(list) == 0 || list[0].File != task.Data["backup_file"] {
				t.Fatalf("the backup delete took of %s is not recorded: %+v", name, list)
			}
		}
		// No task runs on a deleted site.
		id := enqueue(t, s, &aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.SiteContext, Object: uri, Platform: "static"})[0]
		task := waitTasks(t, s, 10*time.Second, id)[0]
		wantStatus(t, s, task, aegir.StatusFailed)
		if log := taskLog(t, s, id); containsLine(log, "deleted") < 0 {
			t.Fatalf("log: %s", strings.Join(log, "\n"))
		}
	})
}

// TestBatchMigrateMovesTheRecords installs two sites and moves every site
// of their platform with a migrate-platform task: both records follow to
// the target platform with the credentials of their new databases.
func TestBatchMigrateMovesTheRecords(t *testing.T) {
	maria := requireMariaDB(t)
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		f := setup(t, s, 0)
		ctx := context.Background()
		must(t, s.CreateServer(ctx, &aegir.ServerRecord{Name: "mariadb", Server: aegir.Server{
			HTTPServiceType: aegir.ServiceNull, DBServiceType: aegir.ServiceMySQL, MasterDB: "mysql://root@127.0.0.1:3306"}}))
		f.platform(t, "static2", map[string]string{"index.html": "<p>two</p>\n"})
		tag := randomHex(3)
		uris := []string{"ba" + tag + ".example", "bb" + tag + ".example"}
		dropSiteDatabases(t, maria, uris...)
		var ids []int64
		for _, uri := range uris {
			r := &aegir.SiteRecord{Name: uri, Status: aegir.SiteInstalling, Site: aegir.Site{URI: uri, Platform: "@static", DBServer: "@mariadb"}}
			must(t, s.CreateSite(ctx, r))
			ids = append(ids, enqueue(t, s, dispatch.SiteTask(aegir.TaskInstall, r, nil))...)
		}
		f.start(t, "host", 2)
		for _, task := range waitTasks(t, s, 30*time.Second, ids...) {
			wantStatus(t, s, task, aegir.StatusWarning) // the static app has no login link
		}
		before := map[string]string{}
		for _, uri := range uris {
			r, err := s.GetSite(ctx, uri)
			must(t, err)
			before[uri] = r.Site.DBName
		}
		id := enqueue(t, s, dispatch.PlatformTask(aegir.TaskMigratePlatform, "static", map[string]string{"platform": "@static2", "concurrency": "2"}))[0]
		task := waitTasks(t, s, 30*time.Second, id)[0]
		wantStatus(t, s, task, aegir.StatusSuccess)
		// Each site was recorded as it moved, before the batch ended.
		log := taskLog(t, s, id)
		end := slices.IndexFunc(log, func(l string) bool { return strings.Contains(l, "migrated 2 sites") })
		for _, uri := range uris {
			at := slices.Index(log, "info: recorded @"+uri+" on @static2")
			if at < 0 || end < 0 || at > end {
				t.Fatalf("%s recorded at line %d, the batch ended at line %d:\n%s", uri, at, end, strings.Join(log, "\n"))
			}
		}
		for _, uri := range uris {
			r, err := s.GetSite(ctx, uri)
			must(t, err)
			if aegir.ContextName(r.Site.Platform) != "static2" || r.Status != aegir.SiteEnabled || r.Site.DBName == "" {
				t.Fatalf("%s after the batch migrate: platform %q status %q db %q (was %q)", uri, r.Site.Platform, r.Status, r.Site.DBName, before[uri])
			}
			// The backup its migrate left is listed, and is on disk.
			backups, err := s.ListBackups(ctx, uri)
			must(t, err)
			if len(backups) != 1 || backups[0].Size == 0 || backups[0].SHA256 == "" {
				t.Fatalf("%s's backups after the batch migrate: %+v", uri, backups)
			}
			if _, err := os.Stat(backups[0].File); err != nil {
				t.Fatalf("%s's backup: %v", uri, err)
			}
			id := enqueue(t, s, dispatch.SiteTask(aegir.TaskVerify, r, nil))[0]
			wantStatus(t, s, waitTasks(t, s, 30*time.Second, id)[0], aegir.StatusSuccess)
			id = enqueue(t, s, dispatch.SiteTask(aegir.TaskDelete, r, nil))[0]
			wantStatus(t, s, waitTasks(t, s, 30*time.Second, id)[0], aegir.StatusSuccess)
		}
	})
}
