package schedule

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Defaults of a backup Policy.
const (
	DefaultBackupInterval = 24 * time.Hour
	DefaultKeepDaily      = 7
	DefaultKeepWeekly     = 4
)

// Policy says how often a site is backed up and which backups are kept.
// Zero fields take the defaults (daily, keep 7 daily and 4 weekly).
type Policy struct {
	// Interval is the most a site's newest backup may age before the
	// scheduler takes another.
	Interval time.Duration
	// KeepDaily keeps the newest backup of each of the last KeepDaily days
	// that have backups; a negative value keeps none by day.
	KeepDaily int
	// KeepWeekly keeps the newest backup of each of the last KeepWeekly
	// ISO weeks that have backups; a negative value keeps none by week.
	KeepWeekly int
	// Location sets where days and weeks begin; nil is UTC.
	Location *time.Location
}

// WithDefaults returns the policy with its zero fields set to the defaults.
func (p Policy) WithDefaults() Policy {
	if p.Interval <= 0 {
		p.Interval = DefaultBackupInterval
	}
	if p.KeepDaily == 0 {
		p.KeepDaily = DefaultKeepDaily
	}
	if p.KeepWeekly == 0 {
		p.KeepWeekly = DefaultKeepWeekly
	}
	if p.Location == nil {
		p.Location = time.UTC
	}
	return p
}

// Retain splits a site's backups into those the policy keeps and those it
// drops, each newest first. The newest backup of each of the last
// KeepDaily days with backups is kept, and likewise for the last
// KeepWeekly weeks; the newest backup of all is always kept.
func (p Policy) Retain(backups []*aegir.Backup) (keep, drop []*aegir.Backup) {
	p = p.WithDefaults()
	sorted := append([]*aegir.Backup(nil), backups...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].CreatedAt.Equal(sorted[j].CreatedAt) {
			return sorted[i].CreatedAt.After(sorted[j].CreatedAt)
		}
		return sorted[i].ID > sorted[j].ID
	})
	kept := make([]bool, len(sorted))
	if len(sorted) > 0 {
		kept[0] = true
	}
	bucket := func(n int, key func(time.Time) string) {
		last := ""
		for i, b := range sorted {
			if n <= 0 {
				return
			}
			if k := key(b.CreatedAt.In(p.Location)); k != last {
				kept[i] = true
				last = k
				n--
			}
		}
	}
	bucket(p.KeepDaily, func(t time.Time) string { return t.Format("2006-01-02") })
	bucket(p.KeepWeekly, func(t time.Time) string {
		y, w := t.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	})
	for i, b := range sorted {
		if kept[i] {
			keep = append(keep, b)
		} else {
			drop = append(drop, b)
		}
	}
	return keep, drop
}

// Backups queues a backup task for each enabled site whose newest backup
// is older than its policy's interval, and applies retention to every
// site that is not deleted: the backups the policy drops go in a
// backup-delete task (the dispatcher removes their records when it has
// deleted the files). A site with such a task already queued or
// processing is left until it is done. Backups of deleted sites are kept:
// the backup their delete took is the only way back.
type Backups struct {
	Store aegir.Store
	// Policy applies to every site that PolicyFor does not decide.
	Policy Policy
	// PolicyFor, when set, returns the policy of one site (a per-site or
	// per-platform setting).
	PolicyFor func(*aegir.SiteRecord) Policy
	// Tick is how often sites are checked; zero is 15 minutes.
	Tick   time.Duration
	Clock  Clock
	Logger *slog.Logger
}

func (b *Backups) tick() time.Duration {
	if b.Tick > 0 {
		return b.Tick
	}
	return 15 * time.Minute
}

func (b *Backups) policy(r *aegir.SiteRecord) Policy {
	if b.PolicyFor != nil {
		return b.PolicyFor(r).WithDefaults()
	}
	return b.Policy.WithDefaults()
}

// Run checks the sites at start and on every tick until ctx ends.
func (b *Backups) Run(ctx context.Context) error {
	log := loggerOr(b.Logger).With("scheduler", "backup")
	return loop(ctx, clockOr(b.Clock), b.tick(), log, true, func(ctx context.Context, now time.Time) error {
		queued, deletes, err := b.Check(ctx, now)
		if queued > 0 || deletes > 0 {
			log.Debug("queued backup tasks", "backups", queued, "backup_deletes", deletes)
		}
		return err
	})
}

// Check does one pass at time now and returns how many backup and
// backup-delete tasks it queued. An error on one site does not stop the
// others; the errors are returned together.
func (b *Backups) Check(ctx context.Context, now time.Time) (backups, deletes int, err error) {
	log := loggerOr(b.Logger).With("scheduler", "backup")
	var errs []error
	for _, status := range []string{aegir.SiteEnabled, aegir.SiteDisabled} {
		err := eachSite(ctx, b.Store, aegir.SiteFilter{Status: status}, func(r *aegir.SiteRecord) error {
			q, d, err := b.checkSite(ctx, r, now, log)
			backups, deletes = backups+q, deletes+d
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
	}
	return backups, deletes, errors.Join(errs...)
}

func (b *Backups) checkSite(ctx context.Context, r *aegir.SiteRecord, now time.Time, log *slog.Logger) (queued, deletes int, err error) {
	p := b.policy(r)
	list, err := b.Store.ListBackups(ctx, r.Name)
	if err != nil {
		return 0, 0, err
	}
	if r.Status == aegir.SiteEnabled {
		last := r.LastBackup
		if len(list) > 0 && (last == nil || list[0].CreatedAt.After(*last)) {
			last = &list[0].CreatedAt
		}
		if last == nil || now.Sub(*last) >= p.Interval {
			busy, err := pending(ctx, b.Store, r.Name, aegir.TaskBackup)
			if err != nil {
				return 0, 0, err
			}
			if !busy {
				if err := b.Store.EnqueueTask(ctx, siteTask(aegir.TaskBackup, r, nil)); err != nil {
					return 0, 0, err
				}
				queued++
			}
		}
	}
	_, drop := p.Retain(list)
	var files []string
	for _, bk := range drop {
		switch _, err := os.Stat(bk.File); {
		case err == nil:
			if strings.ContainsAny(bk.File, " \t\n") {
				log.Warn("backup file name holds white space: not deleted by retention", "site", r.Name, "file", bk.File)
				continue
			}
			files = append(files, bk.File)
		case errors.Is(err, fs.ErrNotExist) && dirExists(filepath.Dir(bk.File)):
			// The archive is gone (removed by hand); only its record is left.
			log.Info("backup file is gone: removing its record", "site", r.Name, "file", bk.File)
			if err := b.Store.DeleteBackup(ctx, bk.ID); err != nil && aegir.ErrorCode(err) != aegir.ENOTFOUND {
				return queued, 0, err
			}
		}
	}
	if len(files) == 0 {
		return queued, 0, nil
	}
	busy, err := pending(ctx, b.Store, r.Name, aegir.TaskBackupDelete)
	if err != nil || busy {
		return queued, 0, err
	}
	if err := b.Store.EnqueueTask(ctx, siteTask(aegir.TaskBackupDelete, r, map[string]string{"files": strings.Join(files, " ")})); err != nil {
		return queued, 0, err
	}
	return queued, 1, nil
}

func dirExists(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}
