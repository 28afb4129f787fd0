package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aegir-hosting/aegir"
)

// DefaultVerifyInterval is how often each site's newest backup is proven
// restorable by a backup-verify.
const DefaultVerifyInterval = 24 * time.Hour

// Verifies queues a backup-verify of the newest backup of each enabled
// site when that one is not verified yet and no
// backup-verify of the site was queued within the interval, so each site's
// backups are proven restorable daily; a failed verify is a failed task,
// which the alerts report, and waits for the next day. A site with a backup
// or backup-verify queued or processing is left until it is done (the
// newest backup is about to change, or is being verified).
type Verifies struct {
	Store aegir.Store
	// Interval is the most the site's last verify may age; zero is
	// DefaultVerifyInterval.
	Interval time.Duration
	// Tick is how often sites are checked; zero is 15 minutes.
	Tick   time.Duration
	Clock  Clock
	Logger *slog.Logger
}

// Run checks the sites at start and on every tick until ctx ends.
func (v *Verifies) Run(ctx context.Context) error {
	log := loggerOr(v.Logger).With("scheduler", "backup-verify")
	tick := v.Tick
	if tick <= 0 {
		tick = 15 * time.Minute
	}
	return loop(ctx, clockOr(v.Clock), tick, log, true, func(ctx context.Context, now time.Time) error {
		queued, err := v.Check(ctx, now)
		if queued > 0 {
			log.Debug("queued backup-verify tasks", "verifies", queued)
		}
		return err
	})
}

// Check does one pass at time now and returns how many backup-verify
// tasks it queued. An error on one site does not stop the others.
func (v *Verifies) Check(ctx context.Context, now time.Time) (int, error) {
	interval := v.Interval
	if interval <= 0 {
		interval = DefaultVerifyInterval
	}
	queued := 0
	var errs []error
	// Enabled sites only, as for backups: a disabled site takes only
	// enable or delete.
	err := eachSite(ctx, v.Store, aegir.SiteFilter{Status: aegir.SiteEnabled}, func(r *aegir.SiteRecord) error {
		ok, err := v.checkSite(ctx, r, now, interval)
		if ok {
			queued++
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, fmt.Errorf("@%s: %w", r.Name, err))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return queued, errors.Join(errs...)
}

func (v *Verifies) checkSite(ctx context.Context, r *aegir.SiteRecord, now time.Time, interval time.Duration) (bool, error) {
	list, err := v.Store.ListBackups(ctx, r.Name)
	if err != nil || len(list) == 0 {
		return false, err
	}
	newest := list[0]
	if newest.VerifiedAt != nil {
		return false, nil
	}
	// One a day, whatever became of the last: a verify that failed has
	// alerted, and is not retried every tick.
	last, _, err := v.Store.ListTasks(ctx, aegir.TaskFilter{Object: r.Name, Type: aegir.TaskBackupVerify, PerPage: 1})
	if err != nil {
		return false, err
	}
	if len(last) > 0 && now.Sub(last[0].CreatedAt) < interval {
		return false, nil
	}
	if _, err := os.Stat(newest.File); err != nil {
		return false, nil // the backup scheduler removes the records of gone files
	}
	for _, typ := range []string{aegir.TaskBackup, aegir.TaskBackupVerify} {
		if busy, err := pending(ctx, v.Store, r.Name, typ); err != nil || busy {
			return false, err
		}
	}
	return true, v.Store.EnqueueTask(ctx, siteTask(aegir.TaskBackupVerify, r, map[string]string{"file": newest.File}))
}
