package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/aegir-hosting/aegir"
)

// runTask runs one claimed task to its end and records it. hard is the
// context whose end cancels the task (HardStop).
func (d *Dispatcher) runTask(hard context.Context, wait aegir.WaitHook, task *aegir.Task, log *slog.Logger) {
	ctx, cancel := context.WithCancel(hard)
	defer cancel()
	start := time.Now()
	log = log.With("task", task.ID, "type", task.Type, "object", task.Object)
	log.Debug("task started", "claimed_as", task.Worker)
	lw := newLogWriter(d.Store, task.ID, log)
	var data map[string]any
	func() {
		defer func() {
			if p := recover(); p != nil {
				lw.errorf("internal error: %v", p)
				log.Error("task panicked", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		data = d.execute(ctx, wait, task, lw, log)
	}()
	lw.close()
	status := lw.status()
	elapsed := time.Since(start)
	if err := d.finish(task, status, data, log); err != nil {
		log.Error("store: the end of the task could not be recorded; it stays processing until this worker restarts", "err", err)
		return
	}
	log.Info("task finished", "status", status, "elapsed", elapsed.Round(time.Millisecond))
	if d.OnFinish != nil {
		if data != nil {
			task.Data = data // what the metrics read of the result
		}
		d.OnFinish(task, status, elapsed)
	}
}

// finish records the task's end, retrying a failing store a few times.
func (d *Dispatcher) finish(task *aegir.Task, status string, data map[string]any, log *slog.Logger) error {
	var bo backoff
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := d.Store.FinishTask(ctx, task.ID, status, data)
		cancel()
		switch aegir.ErrorCode(err) {
		case "":
			return nil
		case aegir.ECONFLICT, aegir.ENOTFOUND:
			// Someone else ended or removed it: nothing more to record.
			return err
		case aegir.EINVALID:
			if data != nil {
				log.Error("the task's result data cannot be stored; recording the task without it", "err", err)
				data = nil
				continue
			}
			return err
		}
		if attempt >= closeAttempts {
			return err
		}
		log.Error("store: finishing the task failed; retrying", "err", err, "retry_in", bo.next())
		t := time.NewTimer(bo.d)
		<-t.C
	}
}

// execute runs the task and records its result in the store; its log goes
// to lw. It returns the data to store with the task.
func (d *Dispatcher) execute(ctx context.Context, wait aegir.WaitHook, task *aegir.Task, lw *logWriter, log *slog.Logger) map[string]any {
	if !Accepts(task.Type, task.ObjectType) {
		if _, known := aegir.LookupTask(task.Type); known {
			lw.errorf("a %s task does not apply to a %s", task.Type, task.ObjectType)
		} else {
			lw.errorf("unknown task type %q: the dispatcher runs %v", task.Type, TaskTypes())
		}
		return nil
	}
	if task.Type == aegir.TaskNoop {
		return noop(ctx, task, lw)
	}
	if err := d.writeContexts(ctx, task); err != nil {
		lw.errorf("%v", err)
		return nil
	}
	opts := aegir.TaskOptions{Args: task.Args, Sink: lw.add, Force: isTrue(task.Args["force"]), Wait: wait}
	var res *aegir.Result
	var runErr error
	if task.Type == aegir.TaskMigratePlatform {
		n, err := d.batchConcurrency(task)
		if err != nil {
			lw.errorf("%v", err)
			return nil
		}
		// Each site is recorded as it moves (recordMigrated), not when
		// the batch ends, which a crash may never reach.
		opts.SiteMigrated = func(o aegir.SiteOutcome) {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*storeTimeout)
			defer cancel()
			if err := d.recordMigrated(rctx, o, lw); err != nil {
				lw.warnf("@%s moved, but the front end could not record it: %v", o.Site, err)
			}
		}
		res, runErr = d.Backend.MigratePlatform(ctx, task.Object, task.Args["platform"], n, opts)
	} else {
		res, runErr = d.Backend.Run(ctx, task.Type, task.Object, opts)
	}
	if res == nil {
		res = &aegir.Result{Status: aegir.StatusFailed}
		if runErr != nil {
			lw.errorf("%v", runErr)
		}
	}
	// Recording goes on after a hard stop: the back end has undone what
	// it did by then, and the store must say so.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*storeTimeout)
	defer cancel()
	failed := runErr != nil || res.Status == aegir.StatusFailed
	if err := d.record(rctx, task, res.Data, failed, lw); err != nil {
		lw.warnf("the task ran, but the front end could not record its result: %v", err)
		log.Error("recording the task's result failed", "err", err)
	}
	data, err := storedData(res.Data)
	if err != nil {
		lw.warnf("the task's result could not be kept with it: %v", err)
	}
	return data
}

func (d *Dispatcher) batchConcurrency(task *aegir.Task) (int, error) {
	if v := task.Args["concurrency"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return 0, aegir.FieldErrorf("concurrency", "%q is not a number from 1 to 1024", v)
		}
		return n, nil
	}
	return d.BatchConcurrency, nil // zero: the back end's default
}

func isTrue(v string) bool {
	return v == "1" || v == "true" || v == "yes"
}

// noop does nothing, after sleep_ms milliseconds.
func noop(ctx context.Context, task *aegir.Task, lw *logWriter) map[string]any {
	ms := 0
	if v := task.Args["sleep_ms"]; v != "" {
		var err error
		if ms, err = strconv.Atoi(v); err != nil || ms < 0 || ms > maxNoopSleep {
			lw.errorf("sleep_ms: %q is not a number of milliseconds from 0 to %d", v, maxNoopSleep)
			return nil
		}
	}
	if ms > 0 {
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		defer t.Stop()
		select {
		case <-ctx.Done():
			lw.errorf("noop interrupted: %v", ctx.Err())
			return nil
		case <-t.C:
		}
	}
	lw.logf(aegir.LevelSuccess, "noop on %s @%s did nothing", task.ObjectType, task.Object)
	return nil
}

// storedData is what is kept of a task's result with the task: its JSON
// object, but for the package lists, which have tables of their own and
// are replaced by their length.
func storedData(res any) (map[string]any, error) {
	data, err := aegir.ResultData(res)
	if err != nil || data == nil {
		return nil, err
	}
	if pkgs := aegir.PartOf[aegir.PackagesFound](res); pkgs != nil && pkgs.Packages != nil {
		data["packages"] = len(pkgs.Packages)
	}
	return data, nil
}

// contextWriter writes the contexts a task needs into the back end's
// context store, each once, from the store's records.
type contextWriter struct {
	d       *Dispatcher
	ctx     context.Context
	written map[string]bool
}

// writeContexts writes the task's object and every context it references:
// a site, its platform, the platform's web server and the site's db
// server; a platform and its web server; a server. A migrate or clone
// also gets its target platform, and a batch migrate its target and every
// site of the platform.
func (d *Dispatcher) writeContexts(ctx context.Context, task *aegir.Task) error {
	w := &contextWriter{d: d, ctx: ctx, written: map[string]bool{}}
	switch task.ObjectType {
	case aegir.SiteContext:
		r, err := d.Store.GetSite(ctx, task.Object)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			return aegir.Errorf(aegir.ENOTFOUND, "site @%s has no record in the front end: the task cannot run", task.Object)
		} else if err != nil {
			return fmt.Errorf("read site @%s: %w", task.Object, err)
		}
		if r.Status == aegir.SiteDeleted {
			return aegir.Errorf(aegir.EINVALID, "site @%s is deleted: no task runs on a deleted site", task.Object)
		}
		if err := w.site(r); err != nil {
			return err
		}
		if task.Type == aegir.TaskMigrate || task.Type == aegir.TaskClone {
			if p := aegir.ContextName(task.Args["platform"]); p != "" {
				if err := w.platform(p, "the target platform"); err != nil {
					return err
				}
			}
		}
	case aegir.PlatformContext:
		if err := w.platform(task.Object, "platform"); err != nil {
			return err
		}
		if task.Type == aegir.TaskMigratePlatform {
			to := aegir.ContextName(task.Args["platform"])
			if to == "" {
				return aegir.FieldErrorf("platform", "name the target platform")
			}
			if err := w.platform(to, "the target platform"); err != nil {
				return err
			}
			return w.sitesOf(task.Object)
		}
	case aegir.ServerContext:
		return w.server(task.Object, "server")
	}
	return nil
}

func (w *contextWriter) put(c *aegir.Context) error {
	if err := w.d.Backend.ContextStore().Put(w.ctx, c); err != nil {
		return fmt.Errorf("write context @%s: %w", c.Name, err)
	}
	w.written[c.Name] = true
	return nil
}

func (w *contextWriter) server(name, what string) error {
	name = aegir.ContextName(name)
	if w.written[name] {
		return nil
	}
	r, err := w.d.Store.GetServer(w.ctx, name)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return aegir.Errorf(aegir.ENOTFOUND, "%s @%s has no record in the front end", what, name)
	} else if err != nil {
		return fmt.Errorf("read server @%s: %w", name, err)
	}
	return w.put(r.Context())
}

func (w *contextWriter) platform(name, what string) error {
	name = aegir.ContextName(name)
	if w.written[name] {
		return nil
	}
	r, err := w.d.Store.GetPlatform(w.ctx, name)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return aegir.Errorf(aegir.ENOTFOUND, "%s @%s has no record in the front end", what, name)
	} else if err != nil {
		return fmt.Errorf("read platform @%s: %w", name, err)
	}
	if err := w.put(r.Context()); err != nil {
		return err
	}
	web := r.Platform.WebServer
	if web == "" {
		web = aegir.MasterServer
	}
	return w.server(web, "the web server of platform @"+name)
}

func (w *contextWriter) site(r *aegir.SiteRecord) error {
	if err := w.put(r.Context()); err != nil {
		return err
	}
	if err := w.platform(r.Site.Platform, "the platform of site @"+r.Name); err != nil {
		return err
	}
	db := r.Site.DBServer
	if db == "" {
		db = aegir.MasterServer
	}
	return w.server(db, "the db server of site @"+r.Name)
}

// sitesOf writes every installed site of a platform, as a batch migrate
// reads them from the context store.
func (w *contextWriter) sitesOf(platform string) error {
	for page := 1; ; page++ {
		list, _, err := w.d.Store.ListSites(w.ctx, aegir.SiteFilter{Platform: platform, Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return fmt.Errorf("list the sites of @%s: %w", platform, err)
		}
		for _, r := range list {
			if r.Status == aegir.SiteDeleted || r.Site.Status == aegir.SiteNotInstalled {
				continue
			}
			if err := w.site(r); err != nil {
				return err
			}
		}
		if len(list) < aegir.MaxPerPage {
			return nil
		}
	}
}
