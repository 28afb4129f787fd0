package schedule_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/schedule"
)

// TestRetain is the retention table: which backups a policy keeps. The
// calendar: 2030-01-01 is a Tuesday; ISO week 1 of 2030 runs from Monday
// 2029-12-31, week 2 from 2030-01-07, week 3 from 2030-01-14.
func TestRetain(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time {
		at, err := time.Parse("2006-01-02T15:04", s)
		must(t, err)
		return at
	}
	// daily lists n backups at noon, one a day, from last back.
	daily := func(last string, n int) []string {
		var list []string
		for i := range n {
			list = append(list, day(last).AddDate(0, 0, -i).Format("2006-01-02T15:04"))
		}
		return list
	}
	tests := []struct {
		name    string
		policy  schedule.Policy
		backups []string
		keep    []string
	}{
		{"none", schedule.Policy{}, nil, nil},
		{"one", schedule.Policy{}, []string{"2030-01-16T12:00"}, []string{"2030-01-16T12:00"}},
		{"several a day keep the newest of the day", schedule.Policy{},
			[]string{"2030-01-16T01:00", "2030-01-16T13:00", "2030-01-16T07:00", "2030-01-15T23:59", "2030-01-15T00:01"},
			[]string{"2030-01-16T13:00", "2030-01-15T23:59"}},
		{"ten days: 7 daily, weeks 3 and 2 within them", schedule.Policy{}, daily("2030-01-16T12:00", 10),
			daily("2030-01-16T12:00", 7)},
		{"sixty days: 7 daily and the newest of 4 weeks", schedule.Policy{}, daily("2030-01-16T12:00", 60),
			append(daily("2030-01-16T12:00", 7), "2030-01-06T12:00", "2029-12-30T12:00")},
		{"gaps: days and weeks that have backups count", schedule.Policy{KeepDaily: 2, KeepWeekly: 2},
			[]string{"2030-01-16T12:00", "2030-01-02T12:00", "2030-01-01T12:00", "2029-12-01T12:00"},
			[]string{"2030-01-16T12:00", "2030-01-02T12:00"}},
		{"weekly only", schedule.Policy{KeepDaily: -1, KeepWeekly: 2}, daily("2030-01-16T12:00", 21),
			[]string{"2030-01-16T12:00", "2030-01-13T12:00"}},
		{"nothing kept but the newest", schedule.Policy{KeepDaily: -1, KeepWeekly: -1}, daily("2030-01-16T12:00", 5),
			[]string{"2030-01-16T12:00"}},
		{"days in a time zone", schedule.Policy{KeepDaily: 2, KeepWeekly: -1, Location: time.FixedZone("UTC+3", 3*3600)},
			// 22:00 UTC on the 15th is the 16th at UTC+3.
			[]string{"2030-01-16T12:00", "2030-01-15T22:00", "2030-01-15T12:00"},
			[]string{"2030-01-16T12:00", "2030-01-15T12:00"}},
	}
	for _, tt := range tests {
		var backups []*aegir.Backup
		for i, at := range tt.backups {
			backups = append(backups, &aegir.Backup{ID: int64(i + 1), Site: "a.example", File: "/b/" + at, CreatedAt: day(at)})
		}
		keep, drop := tt.policy.Retain(backups)
		var got []string
		for _, b := range keep {
			got = append(got, b.CreatedAt.Format("2006-01-02T15:04"))
		}
		want := slices.Clone(tt.keep)
		sort.Sort(sort.Reverse(sort.StringSlice(want)))
		if !slices.Equal(got, want) {
			t.Errorf("%s: kept %v, want %v", tt.name, got, want)
		}
		if len(keep)+len(drop) != len(backups) {
			t.Errorf("%s: %d kept and %d dropped of %d", tt.name, len(keep), len(drop), len(backups))
		}
	}
}

// TestBackupSchedulerQueuesDueSitesAndDropsOldBackups checks one pass:
// backups for the enabled sites whose newest backup is older than the
// interval (or that have none), a backup-delete with the files retention
// drops, the record of a file already gone removed, and no duplicates on
// the next pass while those tasks are queued.
func TestBackupSchedulerQueuesDueSitesAndDropsOldBackups(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		ctx := context.Background()
		seed(t, s, t.TempDir())
		dir := t.TempDir()
		now := time.Date(2030, 1, 16, 12, 0, 0, 0, time.UTC)
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
		addSite(t, s, "due.example", aegir.SiteEnabled)
		backup("due.example", now.Add(-25*time.Hour), true)
		fresh := addSite(t, s, "fresh.example", aegir.SiteEnabled)
		backup("fresh.example", now.Add(-30*time.Hour), true)
		last := now.Add(-time.Hour) // recorded by the dispatcher, though no row is that new
		fresh.LastBackup = &last
		must(t, s.UpdateSite(ctx, fresh))
		addSite(t, s, "never.example", aegir.SiteEnabled)
		addSite(t, s, "off.example", aegir.SiteDisabled)
		backup("off.example", now.Add(-72*time.Hour), true)
		addSite(t, s, "gone.example", aegir.SiteDeleted)
		for i := range 10 {
			backup("gone.example", now.AddDate(0, 0, -i), true)
		}
		addSite(t, s, "old.example", aegir.SiteEnabled)
		var old []*aegir.Backup
		for i := range 12 {
			old = append(old, backup("old.example", now.Add(-2*time.Hour).AddDate(0, 0, -i), i != 11))
		}
		missing := old[11]

		b := &schedule.Backups{Store: s, Logger: discard()}
		queuedBackups, deletes, err := b.Check(ctx, now)
		must(t, err)
		if queuedBackups != 2 || deletes != 1 {
			t.Fatalf("Check queued %d backups and %d deletes, want 2 and 1", queuedBackups, deletes)
		}
		got := queued(t, s, aegir.TaskBackup)
		if len(got) != 2 || got["due.example"] == nil || got["never.example"] == nil {
			t.Fatalf("backups queued for %v", got)
		}
		dels := queued(t, s, aegir.TaskBackupDelete)
		if len(dels) != 1 || len(dels["old.example"]) != 1 {
			t.Fatalf("backup-deletes queued for %v", dels)
		}
		_, drop := schedule.Policy{}.Retain(old)
		var want []string
		for _, d := range drop {
			if d != missing {
				want = append(want, d.File)
			}
		}
		if len(want) == 0 {
			t.Fatal("retention dropped nothing; the test needs more backups")
		}
		if files := strings.Fields(dels["old.example"][0].Args["files"]); !slices.Equal(files, want) {
			t.Fatalf("backup-delete files = %v, want %v", files, want)
		}
		if _, err := s.GetBackup(ctx, missing.ID); aegir.ErrorCode(err) != aegir.ENOTFOUND {
			t.Fatalf("the record of a missing file is still there: %v", err)
		}
		if list, err := s.ListBackups(ctx, "gone.example"); err != nil || len(list) != 10 {
			t.Fatalf("backups of a deleted site: %d, %v", len(list), err)
		}

		queuedBackups, deletes, err = b.Check(ctx, now.Add(time.Minute))
		must(t, err)
		if queuedBackups != 0 || deletes != 0 {
			t.Fatalf("second pass queued %d backups and %d deletes while the first ones wait", queuedBackups, deletes)
		}
	})
}

// TestBackupSchedulerRunsOnItsTicker starts Run with a fake clock: the
// first pass runs at start, the next on a tick.
func TestBackupSchedulerRunsOnItsTicker(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	seed(t, s, t.TempDir())
	addSite(t, s, "a.example", aegir.SiteEnabled)
	clock := newFakeClock(time.Date(2030, 1, 16, 12, 0, 0, 0, time.UTC))
	run(t, &schedule.Backups{Store: s, Clock: clock, Logger: discard()})
	clock.advance(0) // the start pass is done
	if got := queued(t, s, aegir.TaskBackup); len(got["a.example"]) != 1 {
		t.Fatalf("backups queued at start: %v", got)
	}
	addSite(t, s, "b.example", aegir.SiteEnabled)
	clock.advance(15 * time.Minute)
	clock.advance(0)
	if got := queued(t, s, aegir.TaskBackup); len(got["b.example"]) != 1 || len(got["a.example"]) != 1 {
		t.Fatalf("backups queued after a tick: %v", got)
	}
}
