package schedule

import (
	"context"
	"log/slog"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Clock tells the time and makes tickers; tests give the schedulers one
// they drive by hand.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
}

// Ticker delivers the time on C every period until stopped.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTicker returns a time.Ticker.
func (SystemClock) NewTicker(d time.Duration) Ticker { return systemTicker{time.NewTicker(d)} }

type systemTicker struct{ t *time.Ticker }

func (t systemTicker) C() <-chan time.Time { return t.t.C }
func (t systemTicker) Stop()               { t.t.Stop() }

func clockOr(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}

func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// loop calls fn at start when first is set, then on every tick, until ctx
// ends. An error from fn is logged, and the next tick tries again.
func loop(ctx context.Context, clock Clock, every time.Duration, log *slog.Logger, first bool, fn func(ctx context.Context, now time.Time) error) error {
	t := clock.NewTicker(every)
	defer t.Stop()
	if first {
		if err := fn(ctx, clock.Now()); err != nil && ctx.Err() == nil {
			log.Error("scheduler pass failed", "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C():
			if err := fn(ctx, now); err != nil && ctx.Err() == nil {
				log.Error("scheduler pass failed", "err", err)
			}
		}
	}
}

// eachSite calls fn on every site f matches, a page at a time.
func eachSite(ctx context.Context, store aegir.SiteStore, f aegir.SiteFilter, fn func(*aegir.SiteRecord) error) error {
	f.PerPage = aegir.MaxPerPage
	for page := 1; ; page++ {
		f.Page = page
		list, _, err := store.ListSites(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range list {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(list) < aegir.MaxPerPage {
			return nil
		}
	}
}

// pending reports whether a task of type typ on object is queued or
// processing.
func pending(ctx context.Context, q aegir.TaskQueue, object, typ string) (bool, error) {
	for _, status := range []string{aegir.StatusQueued, aegir.StatusProcessing} {
		_, n, err := q.ListTasks(ctx, aegir.TaskFilter{Object: object, Type: typ, Status: status, PerPage: 1})
		if err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// siteTask returns a task on a site with its platform set, as the queue
// needs it to keep the site out of platform-wide tasks.
func siteTask(typ string, r *aegir.SiteRecord, args map[string]string) *aegir.Task {
	return &aegir.Task{Type: typ, ObjectType: aegir.SiteContext, Object: r.Name,
		Platform: aegir.ContextName(r.Site.Platform), Args: args, Creator: Creator}
}

// Creator is the creator the schedulers' tasks carry.
const Creator = "scheduler"
