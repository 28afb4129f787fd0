package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/tarball"
)

// TestBackup is benchmark 3: a WordPress site with BackupUploads MB of
// uploads and BackupDB MB of rows. aegir backup (the binary) against
// mysqldump | gzip and tar czf of the site directory; aegir restore and
// aegir deploy of that backup against tar xzf and mysql <, in the same
// runs. Each is the median of Runs runs.
func TestBackup(t *testing.T) {
	need(t)
	s := newWPStack(t)
	s.platform("wp")
	uri := "bk." + s.token + ".test"
	s.site(uri, "wp")
	s.fill(uri, size.BackupUploads, size.BackupDB, 1)
	sites := filepath.Dir(s.siteDir(uri))
	backups := filepath.Join(s.home, "backups")

	var backup, backupFloor, restore, deploy, restoreFloor []float64
	var archive, archiveFloor int64
	var restoreCPU, deployCPU, floorCPU string
	skipped := 0 // restores that took no safety backup
	for i := range size.Runs {
		db := s.context(uri).Site.DBName
		// aegir backup, then the floor, alternately.
		var file string
		took := timed(func() { file = fmt.Sprint(s.task("backup", "@"+uri)["backup_file"]) })
		backup = append(backup, took.Seconds())
		out := t.TempDir()
		took = timed(func() { run(t, nil, mustAbs(t, "scripts/backup-floor.sh"), db, sites, uri, out) })
		backupFloor = append(backupFloor, took.Seconds())
		archive, archiveFloor = fileSize(t, file), fileSize(t, filepath.Join(out, "db.sql.gz"))+fileSize(t, filepath.Join(out, "files.tar.gz"))

		// Restore: aegir's takes a backup of the site first, as Aegir's
		// does; deploy is the same without it.
		// The CPU notes are the last run's.
		cpu := cpuNow(t)
		var log string
		took = timed(func() { log = fmt.Sprint(s.taskLog("restore", "@"+uri, file)) })
		if strings.Contains(log, "no safety backup") {
			skipped++
		}
		restore, restoreCPU = append(restore, took.Seconds()), cpu.since(t)
		cpu = cpuNow(t)
		took = timed(func() { s.task("deploy", "@"+uri, file) })
		deploy, deployCPU = append(deploy, took.Seconds()), cpu.since(t)
		scratch := t.TempDir()
		cpu = cpuNow(t)
		took = timed(func() {
			run(t, nil, mustAbs(t, "scripts/restore-floor.sh"), out, scratch, fmt.Sprintf("%srf%d", s.token, i))
		})
		restoreFloor, floorCPU = append(restoreFloor, took.Seconds()), cpu.since(t)
		_, err := s.db.Exec(fmt.Sprintf("DROP DATABASE `%srf%d`", s.token, i))
		must(t, err)
		clean(t, backups)
	}
	ratio := func(a, b []float64) float64 { return median(a) / median(b) }
	report(figure{Bench: "3 backup", Name: fmt.Sprintf("aegir backup / mysqldump|gzip + tar czf, %d MB uploads + %d MB rows", size.BackupUploads, size.BackupDB),
		Value: fmt.Sprintf("%.2f×", ratio(backup, backupFloor)), Target: "≤ 0.7×", Result: atMost(ratio(backup, backupFloor), 0.7),
		Note: fmt.Sprintf("median of %d: aegir %s (%s archive, gzip level 6 by pgzip on every CPU), floor %s (%s)",
			size.Runs, secs(median(backup)), mb(archive), secs(median(backupFloor)), mb(archiveFloor))})
	report(figure{Bench: "3 backup", Name: "aegir restore / tar xzf + mysql <",
		Value: fmt.Sprintf("%.2f×", ratio(restore, restoreFloor)), Target: "≤ 0.7×", Result: atMost(ratio(restore, restoreFloor), 0.7),
		Note: fmt.Sprintf("median of %d: aegir %s, floor %s; aegir restore first takes a backup of the site (as Aegir does) unless its newest backup holds it as it is, as the one just taken does here (%d of %d runs skipped it), then deploys into a new database, runs the app's updates, rewrites URIs and verifies; aegir's %s; the floor's %s",
			size.Runs, secs(median(restore)), secs(median(restoreFloor)), skipped, size.Runs, restoreCPU, floorCPU)})
	report(figure{Bench: "3 backup", Name: "aegir deploy (restore without its safety backup) / tar xzf + mysql <",
		Value: fmt.Sprintf("%.2f×", ratio(deploy, restoreFloor)), Target: "≤ 0.7×", Result: atMost(ratio(deploy, restoreFloor), 0.7),
		Note: fmt.Sprintf("median of %d: aegir %s, floor %s; aegir's %s", size.Runs, secs(median(deploy)), secs(median(restoreFloor)), deployCPU)})

	// A profile of the backup, run in-process.
	if os.Getenv("AEGIR_BENCH_PROFILE") != "" {
		paths := aegir.Paths{Home: s.home}
		b := &provision.Backend{Paths: paths, Contexts: contextfile.New(paths), Runner: &local.Runner{}, Archiver: &tarball.Archiver{}}
		profile(t, "backup", func() {
			if _, err := b.Run(background, aegir.TaskBackup, uri, aegir.TaskOptions{}); err != nil {
				t.Fatal(err)
			}
		})
		// A deploy, then a restore (a deploy with its safety backup), each
		// with where its time goes from its log's times.
		for _, task := range []string{aegir.TaskDeploy, aegir.TaskRestore} {
			profile(t, task, func() {
				file := newest(t, backups)
				start := time.Now()
				res, err := b.Run(background, task, uri, aegir.TaskOptions{Args: map[string]string{"file": file}})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range res.Log {
					t.Logf("%6s %s", e.Time.Sub(start).Round(time.Millisecond), e.Message)
				}
			})
		}
		clean(t, backups)
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	must(t, err)
	return fi.Size()
}

// clean removes every backup in dir.
func clean(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	for _, e := range entries {
		must(t, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
}

// newest returns the newest backup archive in dir.
func newest(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var best string
	var when time.Time
	for _, e := range entries {
		fi, err := e.Info()
		must(t, err)
		if filepath.Ext(e.Name()) == ".gz" && fi.ModTime().After(when) {
			best, when = filepath.Join(dir, e.Name()), fi.ModTime()
		}
	}
	if best == "" {
		t.Fatalf("no backup in %s", dir)
	}
	return best
}
