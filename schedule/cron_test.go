package schedule_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/schedule"
)

// TestCronQueuesEachEnabledSiteOncePerPeriod drives the cron scheduler
// with a fake clock through three periods: every enabled site gets one
// cron task per period, no other site gets any, and a site whose cron is
// still queued is skipped.
func TestCronQueuesEachEnabledSiteOncePerPeriod(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		ctx := context.Background()
		seed(t, s, t.TempDir())
		var enabled []string
		for i := range 7 {
			enabled = append(enabled, addSite(t, s, fmt.Sprintf("e%d.example", i), aegir.SiteEnabled).Name)
		}
		addSite(t, s, "d0.example", aegir.SiteDisabled)
		addSite(t, s, "d1.example", aegir.SiteDisabled)
		addSite(t, s, "x.example", aegir.SiteDeleted)
		addSite(t, s, "f.example", "found")
		addSite(t, s, "i.example", aegir.SiteInstalling)

		clock := newFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		run(t, &schedule.Cron{Store: s, Period: time.Hour, Tick: time.Minute, Clock: clock, Logger: discard()})
		period := func() {
			for range 60 {
				clock.advance(time.Minute)
			}
			clock.advance(0) // returns once the last minute's pass is done
		}
		check := func(when string, want int) {
			t.Helper()
			list, _, err := s.ListTasks(ctx, aegir.TaskFilter{Type: aegir.TaskCron, PerPage: aegir.MaxPerPage})
			must(t, err)
			count := map[string]int{}
			for _, task := range list {
				count[task.Object]++
				if task.Creator != schedule.Creator || task.Platform != "p" || task.ObjectType != aegir.SiteContext {
					t.Fatalf("%s: task %+v", when, task)
				}
			}
			for _, name := range enabled {
				if count[name] != want {
					t.Fatalf("%s: %s has %d cron tasks, want %d (all: %v)", when, name, count[name], want, count)
				}
			}
			if len(count) != len(enabled) {
				t.Fatalf("%s: cron tasks on %v, want only the enabled sites", when, count)
			}
		}
		period()
		check("after one period", 1)

		// Run them, as the dispatcher would.
		for {
			task, err := s.ClaimTask(ctx, "w")
			must(t, err)
			if task == nil {
				break
			}
			must(t, s.FinishTask(ctx, task.ID, aegir.StatusSuccess, nil))
		}
		period()
		check("after two periods", 2)
		// Their crons are still queued: none is queued again.
		period()
		check("after three periods with the second still queued", 2)
	})
}

// TestCronOffsetsSpreadSitesOverThePeriod hashes 6000 names into the 60
// minutes of an hour: every minute gets its share, within a wide margin.
func TestCronOffsetsSpreadSitesOverThePeriod(t *testing.T) {
	t.Parallel()
	minutes := make([]int, 60)
	for i := range 6000 {
		off := schedule.Offset(fmt.Sprintf("site%d.example.com", i), time.Hour)
		if off < 0 || off >= time.Hour {
			t.Fatalf("offset %s is outside the period", off)
		}
		minutes[off/time.Minute]++
	}
	for m, n := range minutes {
		if n < 50 || n > 150 {
			t.Fatalf("minute %d holds %d of 6000 sites: %v", m, n, minutes)
		}
	}
}

// TestCronEnqueueWindows checks the window arithmetic: a window as long as
// the period catches every site once, an empty or backward one none.
func TestCronEnqueueWindows(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	seed(t, s, t.TempDir())
	for i := range 20 {
		addSite(t, s, fmt.Sprintf("w%d.example", i), aegir.SiteEnabled)
	}
	c := &schedule.Cron{Store: s, Period: 10 * time.Minute}
	at := time.Date(2030, 1, 1, 0, 3, 7, 0, time.UTC)
	for _, tt := range []struct {
		from, to time.Time
		want     int
	}{
		{at, at, 0},
		{at, at.Add(-time.Minute), 0},
		{at, at.Add(10 * time.Minute), 20},
	} {
		n, err := c.Enqueue(context.Background(), tt.from, tt.to)
		must(t, err)
		if n != tt.want {
			t.Fatalf("Enqueue(%s, %s) = %d, want %d", tt.from, tt.to, n, tt.want)
		}
	}
	// A window of two periods still gives each site one task, and with
	// those queued a further window gives none.
	n, err := c.Enqueue(context.Background(), at.Add(time.Hour), at.Add(time.Hour+20*time.Minute))
	must(t, err)
	if n != 0 {
		t.Fatalf("queued %d while each site's cron was queued", n)
	}
	if got := queued(t, s, aegir.TaskCron); len(got) != 20 {
		t.Fatalf("cron queued on %d sites", len(got))
	}
}
