package schedule

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/aegir-hosting/aegir"
)

// DefaultCronPeriod is how often each enabled site gets a cron task.
const DefaultCronPeriod = time.Hour

// Cron queues a cron task for every enabled site once per Period, each
// site at its own offset within the period (see Offset), so the tasks of
// many sites spread over the period instead of coming all at once. A site
// that still has a cron task queued or processing is skipped.
type Cron struct {
	Store aegir.Store
	// Period is how often each site gets cron; zero is DefaultCronPeriod.
	Period time.Duration
	// Tick is how often the scheduler looks for due sites; zero is a
	// sixtieth of the period (a minute for an hour), at least a second.
	Tick   time.Duration
	Clock  Clock
	Logger *slog.Logger
}

func (c *Cron) period() time.Duration {
	if c.Period > 0 {
		return c.Period
	}
	return DefaultCronPeriod
}

func (c *Cron) tick() time.Duration {
	if c.Tick > 0 {
		return c.Tick
	}
	return max(c.period()/60, time.Second)
}

// Run queues cron tasks on every tick until ctx ends; it returns nil.
func (c *Cron) Run(ctx context.Context) error {
	clock := clockOr(c.Clock)
	log := loggerOr(c.Logger).With("scheduler", "cron")
	last := clock.Now().Add(-c.tick())
	return loop(ctx, clock, c.tick(), log, true, func(ctx context.Context, now time.Time) error {
		n, err := c.Enqueue(ctx, last, now)
		last = now
		if n > 0 {
			log.Debug("queued cron tasks", "tasks", n)
		}
		return err
	})
}

// Enqueue queues a cron task for each enabled site whose time came in
// (from, to], and returns how many it queued.
func (c *Cron) Enqueue(ctx context.Context, from, to time.Time) (int, error) {
	period := c.period()
	n := 0
	err := eachSite(ctx, c.Store, aegir.SiteFilter{Status: aegir.SiteEnabled}, func(r *aegir.SiteRecord) error {
		if !due(r.Name, period, from, to) {
			return nil
		}
		if busy, err := pending(ctx, c.Store, r.Name, aegir.TaskCron); err != nil || busy {
			return err
		}
		if err := c.Store.EnqueueTask(ctx, siteTask(aegir.TaskCron, r, nil)); err != nil {
			return fmt.Errorf("queue cron of @%s: %w", r.Name, err)
		}
		n++
		return nil
	})
	return n, err
}

// Offset is where within each period a site's cron falls: a hash of its
// name, so it stays put across restarts and sites spread evenly.
func Offset(name string, period time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(period))
}

// due reports whether a time of the site's schedule (Offset plus a whole
// number of periods since the Unix epoch) falls in (from, to].
func due(name string, period time.Duration, from, to time.Time) bool {
	if !to.After(from) {
		return false
	}
	p, off := int64(period), int64(Offset(name, period))
	k := floorDiv(from.UnixNano()-off, p)
	next := (k+1)*p + off
	return next <= to.UnixNano()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
