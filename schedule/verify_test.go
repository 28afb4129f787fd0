package schedule_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/schedule"
)

// TestVerifySchedulerQueuesOneVerifyADayOfTheNewestBackup checks one pass:
// a backup-verify of the newest backup for the installed sites whose newest
// is not verified, none for a site whose newest is verified, whose last
// verify (failed) ran within the day, whose archive is gone, that is
// disabled or deleted or has no backups; and no duplicate on the next pass while the
// first ones wait.
func TestVerifySchedulerQueuesOneVerifyADayOfTheNewestBackup(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		ctx := context.Background()
		seed(t, s, t.TempDir())
		dir := t.TempDir()
		now := time.Now()
		backup := func(site string, at time.Time, onDisk bool) *aegir.Backup {
			t.Helper()
			file := filepath.Join(dir, site+"-"+at.Format("20060102.150405")+".tar.gz")
			if onDisk {
				must(t, os.WriteFile(file, []byte("x"), 0o600))
			}
			b := &aegir.Backup{Site: site, File: file, Size: 1, CreatedAt: at}
			must(t, s.AddBackup(ctx, b))
			return b
		}
		addSite(t, s, "new.example", aegir.SiteEnabled)
		backup("new.example", now.Add(-50*time.Hour), true)
		want := backup("new.example", now.Add(-2*time.Hour), true)
		addSite(t, s, "off.example", aegir.SiteDisabled)
		backup("off.example", now.Add(-3*time.Hour), true)
		addSite(t, s, "other.example", aegir.SiteEnabled)
		wantOther := backup("other.example", now.Add(-3*time.Hour), true)
		addSite(t, s, "done.example", aegir.SiteEnabled)
		done := backup("done.example", now.Add(-2*time.Hour), true)
		must(t, s.SetBackupVerified(ctx, "done.example", done.File, now.Add(-time.Hour)))
		recent := addSite(t, s, "recent.example", aegir.SiteEnabled)
		backup("recent.example", now.Add(-2*time.Hour), true)
		must(t, s.EnqueueTask(ctx, &aegir.Task{Type: aegir.TaskBackupVerify, ObjectType: aegir.SiteContext, Object: recent.Name, Creator: schedule.Creator}))
		task, err := s.ClaimTask(ctx, "w")
		must(t, err)
		must(t, s.FinishTask(ctx, task.ID, aegir.StatusFailed, nil))
		addSite(t, s, "gone.example", aegir.SiteEnabled)
		backup("gone.example", now.Add(-2*time.Hour), false)
		addSite(t, s, "deleted.example", aegir.SiteDeleted)
		backup("deleted.example", now.Add(-2*time.Hour), true)
		addSite(t, s, "never.example", aegir.SiteEnabled)

		v := &schedule.Verifies{Store: s, Logger: discard()}
		n, err := v.Check(ctx, now)
		must(t, err)
		got := queued(t, s, aegir.TaskBackupVerify)
		if n != 2 || len(got) != 2 || len(got["new.example"]) != 1 || len(got["other.example"]) != 1 {
			t.Fatalf("Check queued %d backup-verifies, for %v; want new.example and other.example", n, got)
		}
		if f := got["new.example"][0].Args["file"]; f != want.File {
			t.Errorf("new.example's verify names %s, want the newest %s", f, want.File)
		}
		if f := got["other.example"][0].Args["file"]; f != wantOther.File {
			t.Errorf("other.example's verify names %s, want %s", f, wantOther.File)
		}
		if n, err := v.Check(ctx, now.Add(time.Minute)); err != nil || n != 0 {
			t.Fatalf("second pass queued %d verifies (%v) while the first ones wait", n, err)
		}
		// A day after the failed one, recent.example is verified again.
		if n, err := v.Check(ctx, now.Add(25*time.Hour)); err != nil || n != 1 {
			t.Fatalf("a day later, Check queued %d verifies (%v), want recent.example's", n, err)
		}
	})
}
