package provision

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
)

// DefaultBatchConcurrency is how many sites a batch migrate moves at once
// unless told otherwise: four per CPU. Much of a site's migrate waits on
// MariaDB (its dump and import), on PHP and on its web server's reload,
// which the sites share (a waiting site leaves its turn to the next); at
// one per CPU the CPUs sit half idle (docs/benchmarks.md, benchmark 4).
func DefaultBatchConcurrency() int { return 4 * runtime.NumCPU() }

// MigratePlatform migrates every installed site of platform from to
// platform to, up to concurrency at a time (DefaultBatchConcurrency when
// below one). Each site is its own migrate:
// one that fails rolls back alone and the others go on. The Result lists
// each site's outcome; the batch fails when any site failed.
func (b *Backend) MigratePlatform(ctx context.Context, from, to string, concurrency int, opts aegir.TaskOptions) (*aegir.Result, error) {
	from, to = aegir.ContextName(from), aegir.ContextName(to)
	log := aegir.NewTaskLog(opts.Sink)
	result := func(err error) (*aegir.Result, error) {
		if err != nil {
			log.Errorf("%v", err)
		}
		return &aegir.Result{Status: log.Status(), Log: log.Entries(), Data: &aegir.MigratePlatformResult{}}, err
	}
	for _, name := range []string{from, to} {
		c, err := b.Contexts.Get(ctx, name)
		if err != nil {
			return result(err)
		}
		if c.Type != aegir.PlatformContext {
			return result(aegir.Errorf(aegir.EINVALID, "@%s is a %s, not a platform", name, c.Type))
		}
	}
	sites, err := b.Contexts.List(ctx, aegir.SiteContext)
	if err != nil {
		return result(err)
	}
	var names []string
	for _, s := range sites {
		if aegir.ContextName(s.Site.Platform) == from && s.Site.Status != aegir.SiteNotInstalled {
			names = append(names, s.Name)
		}
	}
	if concurrency < 1 {
		concurrency = DefaultBatchConcurrency()
	}
	start := time.Now()
	log.Infof("migrating %d sites from @%s to @%s, %d at a time", len(names), from, to, concurrency)
	outcomes := make([]aegir.SiteOutcome, len(names))
	var wg sync.WaitGroup
	// A site waiting for its web server's reload (shared with others) gives
	// its slot to the next site meanwhile, so that the sites' vhost changes
	// share reloads instead of taking turns; the task's own hook, from the
	// dispatcher, is told too.
	slots := aegir.NewSlots(concurrency)
	for i, name := range names {
		for !slots.TryTake() {
			select {
			case <-slots.Freed():
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
		}
		if ctx.Err() != nil {
			outcomes[i] = aegir.SiteOutcome{Site: name, Status: aegir.StatusCancelled, Error: ctx.Err().Error()}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer slots.Release()
			hook := slots.WaitHook()
			siteOpts := opts
			siteOpts.Wait = func() func() {
				resume := hook()
				parent := opts.Wait.Begin()
				return func() {
					parent()
					resume()
				}
			}
			siteOpts.Args, siteOpts.SiteMigrated = map[string]string{"platform": "@" + to}, nil
			siteOpts.Sink = func(e aegir.LogEntry) {
				if e.Level == aegir.LevelError || e.Level == aegir.LevelWarning {
					log.Warnf("%s: %s", name, e.Message)
				}
			}
			r, err := b.Run(ctx, aegir.TaskMigrate, name, siteOpts)
			outcomes[i] = aegir.SiteOutcome{Site: name, Status: r.Status}
			if err != nil {
				outcomes[i].Error = err.Error()
				log.Warnf("%s: migrate failed and was rolled back: %v", name, err)
				return
			}
			outcomes[i].Backup = aegir.PartOf[aegir.BackupMade](r.Data).Archive()
			log.Infof("%s: migrated to @%s", name, to)
			if opts.SiteMigrated != nil {
				opts.SiteMigrated(outcomes[i])
			}
		}()
	}
	wg.Wait()
	sort.Slice(outcomes, func(i, j int) bool { return outcomes[i].Site < outcomes[j].Site })
	failed := 0
	for _, o := range outcomes {
		if o.Error != "" {
			failed++
		}
	}
	res := &aegir.Result{Data: &aegir.MigratePlatformResult{Sites: outcomes, Migrated: len(names) - failed, Failed: failed}}
	if failed > 0 {
		err = aegir.Errorf(aegir.EINTERNAL, "%d of %d sites failed to migrate (each rolled back)", failed, len(names))
		log.Errorf("%v", err)
	} else {
		log.Successf("migrated %d sites in %s", len(names), time.Since(start).Round(time.Millisecond))
	}
	res.Status, res.Log = log.Status(), log.Entries()
	return res, err
}
