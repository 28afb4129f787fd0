package dispatch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
)

// LapsedMessage is the log line a task gets when another dispatcher finds
// the one running it gone.
const LapsedMessage = "the aegir process running this task stopped renewing its lease (it died, or lost the database) and another dispatcher failed the task; " + recoverAdvice

// lease is this dispatcher's hold on the tasks it runs: the context they
// run under, cancelled when the heartbeats stop succeeding for half the
// TTL, before any other dispatcher may fail the tasks, so that a task is
// never run by two processes (the cancelled ones roll back).
type lease struct {
	mu     sync.Mutex
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
}

func newLease(parent context.Context) *lease {
	l := &lease{parent: parent}
	l.ctx, l.cancel = context.WithCancel(parent)
	return l
}

// current is the context a task started now runs under.
func (l *lease) current() context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctx
}

// lose cancels the running tasks; tasks started later get a new context.
func (l *lease) lose() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancel()
	l.ctx, l.cancel = context.WithCancel(l.parent)
}

// leaseTTL is LeaseTTL or its default.
func (d *Dispatcher) leaseTTL() time.Duration {
	if d.LeaseTTL > 0 {
		return d.LeaseTTL
	}
	return aegir.DefaultLeaseTTL
}

// keepLease beats for worker every quarter of the TTL until ctx ends, and
// after each beat fails the tasks of the workers whose beats lapsed (and
// queues what their recovery needs). When no beat has succeeded for half
// the TTL, this dispatcher's own running tasks are stopped (l.lose).
func (d *Dispatcher) keepLease(ctx context.Context, worker string, l *lease, log *slog.Logger) {
	ttl := d.leaseTTL()
	tick := time.NewTicker(ttl / 4)
	defer tick.Stop()
	last, lost := time.Now(), false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := d.Store.Heartbeat(ctx, worker); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("store: heartbeat failed", "err", err)
			if !lost && time.Since(last) > ttl/2 {
				lost = true
				log.Error("lost the lease: stopping the running tasks before another dispatcher takes them over", "unbeaten_for", time.Since(last).Round(time.Second))
				l.lose()
			}
			continue
		}
		last, lost = time.Now(), false
		d.recoverLapsed(ctx, worker, ttl, log)
	}
}

// recoverLapsed fails the processing tasks of every other worker whose
// heartbeat is older than ttl, as start-up does for this worker's own.
func (d *Dispatcher) recoverLapsed(ctx context.Context, self string, ttl time.Duration, log *slog.Logger) {
	lapsed, err := d.Store.LapsedWorkers(ctx, ttl)
	if err != nil {
		log.Error("store: list lapsed workers", "err", err)
		return
	}
	for _, w := range lapsed {
		if w == self {
			continue
		}
		ids, err := d.Store.FailOrphanedTasks(ctx, w, LapsedMessage)
		if err != nil {
			log.Error("store: fail the tasks of a lapsed worker", "lapsed", w, "err", err)
			continue
		}
		if len(ids) > 0 {
			log.Warn("failed the tasks of a dispatcher whose lease lapsed", "lapsed", w, "tasks", len(ids))
			d.recoverOrphans(ctx, log, ids)
		}
	}
}
