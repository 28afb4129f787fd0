package schedule

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Defaults of Prune.
const (
	DefaultLogAge  = 30 * 24 * time.Hour
	DefaultTaskAge = 90 * 24 * time.Hour
)

// Prune deletes the logs of tasks that finished more than LogAge ago, and
// the tasks themselves after TaskAge, once a day, so the store never grows
// without bound.
type Prune struct {
	Store aegir.TaskQueue
	// LogAge is how long task logs are kept; zero is DefaultLogAge and a
	// negative value keeps them for ever.
	LogAge time.Duration
	// TaskAge is how long finished tasks are kept; zero is DefaultTaskAge
	// and a negative value keeps them for ever.
	TaskAge time.Duration
	// Interval is the time between passes; zero is a day.
	Interval time.Duration
	Clock    Clock
	Logger   *slog.Logger
}

// Run prunes at start and then every Interval until ctx ends.
func (p *Prune) Run(ctx context.Context) error {
	log := loggerOr(p.Logger).With("scheduler", "prune")
	every := p.Interval
	if every <= 0 {
		every = 24 * time.Hour
	}
	return loop(ctx, clockOr(p.Clock), every, log, true, func(ctx context.Context, now time.Time) error {
		lines, tasks, err := p.Prune(ctx, now)
		if lines > 0 || tasks > 0 {
			log.Info("pruned old tasks", "log_lines", lines, "tasks", tasks)
		}
		return err
	})
}

// Prune does one pass at time now and returns how many log lines and
// tasks it deleted.
func (p *Prune) Prune(ctx context.Context, now time.Time) (lines, tasks int64, err error) {
	var errs []error
	if age := ageOr(p.LogAge, DefaultLogAge); age > 0 {
		n, err := p.Store.PruneTaskLogs(ctx, now.Add(-age))
		lines += n
		errs = append(errs, err)
	}
	if age := ageOr(p.TaskAge, DefaultTaskAge); age > 0 {
		n, err := p.Store.PruneTasks(ctx, now.Add(-age))
		tasks += n
		errs = append(errs, err)
	}
	return lines, tasks, errors.Join(errs...)
}

func ageOr(age, def time.Duration) time.Duration {
	if age == 0 {
		return def
	}
	return age
}
