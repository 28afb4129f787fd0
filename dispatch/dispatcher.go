package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/aegir-hosting/aegir"
)

// RecoveryCreator is the creator of the tasks the dispatcher queues to
// recover what a dead process left.
const RecoveryCreator = "recovery"

// recoverOrphans does what the catalog's Recovery of each failed orphan
// says: a verify of the site of a restore, migrate or clone, and of each
// site still on the source platform of a batch migrate: a deploy that died
// can leave the site without its database (tables moved), half restored or
// with a copy nobody knows of, until a verify undoes it (see provision's
// recover step). Any other task left the site as it was, give or take
// leftovers, and waits for a person. A verify that cannot be queued is
// logged; the task's own log already says to verify.
func (d *Dispatcher) recoverOrphans(ctx context.Context, log *slog.Logger, ids []int64) {
	for _, id := range ids {
		t, err := d.Store.GetTask(ctx, id)
		if err != nil {
			log.Error("look up a failed orphan", "task", id, "err", err)
			continue
		}
		var sites []string
		tt, _ := aegir.LookupTask(t.Type)
		switch {
		case tt.Recovery == aegir.RecoverVerifySite && t.ObjectType == aegir.SiteContext:
			sites = []string{t.Object}
		case tt.Recovery == aegir.RecoverVerifySourceSites && t.ObjectType == aegir.PlatformContext:
			// The sites it had moved were recorded on the target as they
			// moved; those still on the source may have died mid-move.
			if sites, err = d.sitesOn(ctx, t.Object); err != nil {
				log.Error("list the sites of a batch migrate that died", "task", id, "err", err)
				continue
			}
		}
		for _, site := range sites {
			d.queueRecoveryVerify(ctx, log, id, site, t.Platform)
		}
	}
}

// sitesOn lists the installed sites the store has on a platform.
func (d *Dispatcher) sitesOn(ctx context.Context, platform string) ([]string, error) {
	var names []string
	for page := 1; ; page++ {
		list, total, err := d.Store.ListSites(ctx, aegir.SiteFilter{Platform: platform, Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			if r.Site.Status != aegir.SiteNotInstalled {
				names = append(names, r.Name)
			}
		}
		if page*aegir.MaxPerPage >= total {
			return names, nil
		}
	}
}

// queueRecoveryVerify queues a verify of a site after a task of orphan
// died on it; platform is the task's, used when the site has no record.
func (d *Dispatcher) queueRecoveryVerify(ctx context.Context, log *slog.Logger, orphan int64, site, platform string) {
	// The site's platform as it is now: the migrate may have moved it.
	if r, err := d.Store.GetSite(ctx, site); err == nil {
		platform = aegir.ContextName(r.Site.Platform)
	}
	verify := &aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.SiteContext, Object: site, Platform: platform, Creator: RecoveryCreator}
	if err := d.Store.EnqueueTask(ctx, verify); err != nil {
		log.Error("queue the verify of a site whose migrate died", "task", orphan, "site", site, "err", err)
		return
	}
	log.Warn("queued a verify of a site whose migrate died", "task", orphan, "site", site, "verify", verify.ID)
}

// OrphanMessage is the log line a task gets when the dispatcher finds it
// left processing by an earlier run of the same worker.
const OrphanMessage = "the aegir process running this task died while it ran (it was found processing at start-up); " + recoverAdvice

// recoverAdvice ends the log line of a task whose process died.
const recoverAdvice = "verify the object (a site's verify also moves back the tables of a migrate that died; one is queued after a migrate or batch migrate) and retry the task"

// Backoff bounds of the retries after a store error.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Dispatcher runs the tasks of Store's queue through Backend.
//
// Stopping: when the context given to Run ends, the dispatcher claims no
// more tasks and Run waits for the running ones, which go on with a
// context of their own. That context is cancelled only when HardStop ends
// (a second signal, say): the back end then stops at its next step and
// undoes what it did, and the task is recorded as failed. A task whose
// end cannot be recorded at all (the database is gone) stays processing
// and is failed with OrphanMessage when the same worker starts again.
type Dispatcher struct {
	Store   aegir.Store
	Backend aegir.Backend
	// Workers is how many tasks run at once; zero means DefaultWorkers. A
	// task that only waits for work others do for it (its web server's
	// next reload, shared by the tasks of a batch: aegir.TaskOptions.Wait) does
	// not count while it waits, so that many changes share one reload.
	Workers int
	// Waiting bounds the tasks that wait so, beyond Workers; zero means
	// DefaultWaiting. Each running task is claimed under a name of its
	// own, "Worker/N" with N below Workers+Waiting.
	Waiting int
	// Worker names this process in the queue: stable across restarts and
	// unique among the processes that share the store. Each running task
	// is claimed as "Worker/N". Empty means the host name.
	Worker string
	// Logger receives the dispatcher's own messages; nil is slog.Default().
	Logger *slog.Logger
	// HardStop, when it ends, cancels the running tasks; nil never does.
	HardStop context.Context
	// BatchConcurrency is how many sites a migrate-platform task moves at
	// once, unless its concurrency argument says otherwise; zero means
	// the back end's default (four per CPU).
	BatchConcurrency int
	// OnFinish, when set, is called after each task is recorded, with its
	// final status and how long it ran (for metrics).
	OnFinish func(t *aegir.Task, status string, elapsed time.Duration)
	// LeaseTTL is how long this dispatcher may go without a heartbeat
	// before others fail its tasks (and it stops them itself); zero means
	// aegir.DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Rescan, when positive, also claims every Rescan: a safety net for
	// a queue written by a process that cannot notify this one (another
	// process on the same SQLite file). Zero relies on notifications
	// alone, which is all a store shared through PostgreSQL needs.
	Rescan time.Duration
}

// backoff doubles a delay from minBackoff up to maxBackoff.
type backoff struct{ d time.Duration }

func (b *backoff) next() time.Duration {
	if b.d == 0 {
		b.d = minBackoff
	} else {
		b.d = min(2*b.d, maxBackoff)
	}
	return b.d
}

func (b *backoff) reset() { b.d = 0 }

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// DefaultWaiting is how many tasks may wait for others' work at once
// beyond the Workers that run, unless Waiting says otherwise: enough for
// the sites of a large server to go live in a few reloads.
const DefaultWaiting = 1024

func (d *Dispatcher) waiting() int {
	if d.Waiting > 0 {
		return d.Waiting
	}
	return DefaultWaiting
}

func (d *Dispatcher) workers() int {
	if d.Workers > 0 {
		return d.Workers
	}
	return DefaultWorkers()
}

// DefaultWorkers is how many tasks run at once unless told otherwise:
// eight per CPU. A task spends most of its time waiting on others (MariaDB,
// a PHP process, the web server's test and reload, the disk), so one per
// CPU leaves the CPUs idle, and tasks that arrive together (a verify of
// every site, a template change) reach their web server's batch a few at
// a time and take many reloads where one would do; eight per CPU is what
// that takes (docs/benchmarks.md, benchmark 2) while keeping the PHP
// processes of concurrent installs and migrates to a number the machine
// holds.
func DefaultWorkers() int { return 8 * runtime.NumCPU() }

// WorkerName returns the worker name the dispatcher claims tasks under:
// Worker, or the host name.
func (d *Dispatcher) WorkerName() (string, error) {
	name := d.Worker
	if name == "" {
		host, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("dispatch: worker name: %w", err)
		}
		name = host
	}
	if err := aegir.ValidateWorker(name + "/" + strconv.Itoa(d.workers()+d.waiting())); err != nil {
		return "", err
	}
	return name, nil
}

// Run fails the tasks an earlier run of this worker left processing, then
// claims and runs tasks until ctx ends: at start, on each notification of
// the store, and whenever a running task finishes, as long as fewer than
// Workers run. A store error (a dead database) is logged and retried with
// a bounded backoff; Run returns nil once ctx has ended and the running
// tasks are done, or an error at once when the dispatcher is misconfigured.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.Store == nil || d.Backend == nil {
		return errors.New("dispatch: Store and Backend are required")
	}
	worker, err := d.WorkerName()
	if err != nil {
		return err
	}
	log := d.logger().With("worker", worker)
	var bo backoff

	// Nothing this worker claimed before may stay processing.
	for {
		orphans, err := d.Store.FailOrphanedTasks(ctx, worker, OrphanMessage)
		if err == nil {
			if len(orphans) > 0 {
				log.Warn("failed tasks left processing by a dead process", "tasks", len(orphans))
			}
			d.recoverOrphans(ctx, log, orphans)
			bo.reset()
			break
		}
		if !wait(ctx, bo.next(), log, "fail orphaned tasks", err) {
			return nil
		}
	}

	hard := d.HardStop
	if hard == nil {
		hard = context.Background()
	}
	// Beat at once, so no other dispatcher takes this worker for gone
	// before its first tick; the beats and the recovery of other workers'
	// tasks go on beside the claims.
	if err := d.Store.Heartbeat(ctx, worker); err != nil {
		log.Error("store: heartbeat failed", "err", err)
	}
	l := newLease(hard)
	// The beats go on while the running tasks finish after ctx ends, and
	// stop when Run returns.
	leaseCtx, stopLease := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLease()
	go d.keepLease(leaseCtx, worker, l, log)
	workers := d.workers()
	slots := aegir.NewSlots(workers)
	// Names of the running tasks: a task that waits keeps its name, so
	// there are more names than slots.
	names := workers + d.waiting()
	free := make([]int, 0, names)
	for i := names - 1; i >= 0; i-- {
		free = append(free, i)
	}
	done := make(chan int, names)
	running := 0
	var wake <-chan struct{}
	var retry <-chan time.Time // set while the store is failing: no claims until it fires
	start := func(task *aegir.Task, name int) {
		running++
		go func() {
			defer func() { done <- name }()
			defer slots.Release()
			d.runTask(l.current(), slots.WaitHook(), task, log)
		}()
	}

	var rescan <-chan time.Time
	if d.Rescan > 0 {
		t := time.NewTicker(d.Rescan)
		defer t.Stop()
		rescan = t.C
	}
	log.Info("dispatcher started", "workers", workers, "waiting", d.waiting())
	for {
		if retry == nil && wake == nil {
			ch, err := d.Store.Listen(ctx)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				log.Error("store: listen failed; retrying", "err", err, "retry_in", bo.next())
				retry = time.After(bo.d)
			} else {
				wake = ch
			}
		}
		for retry == nil && running < names && ctx.Err() == nil && slots.TryTake() {
			name := free[len(free)-1]
			task, err := d.Store.ClaimTask(ctx, worker+"/"+strconv.Itoa(name))
			if err != nil {
				slots.GiveBack()
				if ctx.Err() != nil {
					break
				}
				log.Error("store: claim failed; retrying", "err", err, "retry_in", bo.next())
				retry = time.After(bo.d)
				break
			}
			bo.reset()
			if task == nil {
				slots.GiveBack()
				break
			}
			free = free[:len(free)-1]
			start(task, name)
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case _, ok := <-wake:
			if !ok {
				// The listener ended without ctx ending (the store closed or
				// gave up): listen again after a pause.
				wake = nil
				log.Error("store: the notification listener stopped; listening again", "retry_in", bo.next())
				retry = time.After(bo.d)
			}
		case name := <-done:
			running--
			free = append(free, name)
		case <-slots.Freed():
		case <-retry:
			retry = nil
		case <-rescan:
		}
	}

	if running > 0 {
		log.Info("dispatcher stopping: waiting for running tasks", "tasks", running)
	}
	for ; running > 0; running-- {
		<-done
	}
	log.Info("dispatcher stopped")
	return nil
}

// wait logs a store error and waits d, or until ctx ends (false).
func wait(ctx context.Context, d time.Duration, log *slog.Logger, what string, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	log.Error("store: "+what+" failed; retrying", "err", err, "retry_in", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
