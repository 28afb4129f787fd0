package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Backend runs back-end tasks on named contexts.
type Backend struct {
	Paths    aegir.Paths
	Contexts aegir.ContextStore
	Runner   aegir.Runner
	// Transport reaches remote servers (ssh.Transport); nil runs every
	// server's commands with Runner, on this machine.
	Transport aegir.Transport
	Archiver  aegir.Archiver
	// Builder builds platforms from their sources; nil refuses them.
	Builder aegir.PlatformBuilder
	// Projects keeps the projects (project.go); nil refuses them.
	Projects aegir.ProjectStore
	// LoadLimit is the load average above which heavy tasks are refused;
	// zero means no limit.
	LoadLimit float64
	// LoadAvg reads the load average; nil reads /proc/loadavg.
	LoadAvg func() (float64, error)
	// SiteUsers creates the Unix users of sites whose server gives each
	// its own php-fpm pool (php_fpm_pools); nil refuses such sites.
	SiteUsers aegir.SiteUsers
	// HookTimeout bounds each task hook's run (hooks.go); zero means
	// DefaultHookTimeout.
	HookTimeout time.Duration
	// Offsite opens the off-site target backups are uploaded to; nil, or
	// returning nil, when there is none.
	Offsite func() (aegir.Offsite, error)
}

// ContextStore returns the named contexts the tasks read.
func (b *Backend) ContextStore() aegir.ContextStore { return b.Contexts }

// HomePaths returns the paths of $AEGIR_HOME.
func (b *Backend) HomePaths() aegir.Paths { return b.Paths }

var _ aegir.Backend = (*Backend)(nil)

// taskFunc checks a task's arguments against the loaded context it runs
// on and returns the task's named steps, which Run runs. Each lives in
// provision/<task>.go; the names of its steps are unique within the task,
// so that TaskOptions.FailAt and CrashAt name one step.
type taskFunc func(t *run, ctx context.Context, c *aegir.Context) ([]aegir.Step, error)

// tasks maps each task and context type to the function that returns its
// steps.
var tasks = map[string]map[aegir.ContextType]taskFunc{
	aegir.TaskVerify: {
		aegir.ServerContext:   (*run).verifyServer,
		aegir.PlatformContext: (*run).verifyPlatform,
		aegir.SiteContext:     (*run).verifySite,
	},
	aegir.TaskInstall:      {aegir.SiteContext: (*run).install},
	aegir.TaskBackup:       {aegir.SiteContext: (*run).backup},
	aegir.TaskBackupDelete: {aegir.SiteContext: (*run).backupDelete},
	aegir.TaskBackupVerify: {aegir.SiteContext: (*run).backupVerify},
	aegir.TaskRestore:      {aegir.SiteContext: (*run).restore},
	aegir.TaskDeploy:       {aegir.SiteContext: (*run).deploy},
	aegir.TaskMigrate:      {aegir.SiteContext: (*run).migrate},
	aegir.TaskClone:        {aegir.SiteContext: (*run).clone},
	aegir.TaskDisable:      {aegir.SiteContext: (*run).disable},
	aegir.TaskEnable:       {aegir.SiteContext: (*run).enable},
	aegir.TaskDelete: {
		aegir.SiteContext:     (*run).deleteSite,
		aegir.PlatformContext: (*run).deleteContext,
		aegir.ServerContext:   (*run).deleteContext,
	},
	aegir.TaskImport:     {aegir.SiteContext: (*run).importSite},
	aegir.TaskLoginReset: {aegir.SiteContext: (*run).loginReset},
	aegir.TaskCron:       {aegir.SiteContext: (*run).cron},
	aegir.TaskFlushCache: {aegir.SiteContext: (*run).flushCache},
	aegir.TaskUpdateDB:   {aegir.SiteContext: (*run).updateDB},
	aegir.TaskDeployCode: {aegir.SiteContext: (*run).deployCode},
	aegir.TaskSync:       {aegir.SiteContext: (*run).sync},
}

// Run runs task on the named context and returns its Result. The task's
// error, if any, is in the Result's log and status; it is also returned so
// callers can tell its code.
func (b *Backend) Run(ctx context.Context, task, name string, opts aegir.TaskOptions) (*aegir.Result, error) {
	t := b.newRun(opts)
	log := t.log
	defer t.closeDBs()
	defer t.releaseRecords()
	start := time.Now()
	err := b.checkLoad(task)
	if err == nil {
		err = t.dispatch(ctx, task, aegir.ContextName(name))
	}
	if err != nil && !hasError(log) {
		log.Errorf("%v", err)
	}
	if err == nil {
		log.Successf("%s of @%s finished in %s", task, aegir.ContextName(name), time.Since(start).Round(time.Millisecond))
	}
	return &aegir.Result{Status: log.Status(), Log: log.Entries(), Data: t.res}, err
}

func hasError(log *aegir.TaskLog) bool {
	for _, e := range log.Entries() {
		if e.Level == aegir.LevelError {
			return true
		}
	}
	return false
}

// newRun returns the state of one task about to run.
func (b *Backend) newRun(opts aegir.TaskOptions) *run {
	log := aegir.NewTaskLog(opts.Sink)
	return &run{b: b, log: log, opts: opts, steps: &aegir.StepRunner{Log: log, FailAt: opts.FailAt, CrashAt: opts.CrashAt}}
}

// run is the state of one task while it runs.
type run struct {
	b    *Backend
	log  *aegir.TaskLog
	opts aegir.TaskOptions
	// res is the task's result (its catalog row's type), which steps
	// fill through report.
	res   any
	steps *aegir.StepRunner
	// orig is the task's site context as it was before the task, which
	// undoing a context change puts back.
	orig *aegir.Context
	// dbs are the db services opened by the task, by server name.
	dbs map[string]aegir.DBService
	// task is the task's name; records the records it holds (see
	// taskRecord).
	task    string
	records []*recordFile
}

// dispatch runs the steps of task on the named context, between its pre
// and post hooks: a failing pre hook aborts the task before its first
// step, a failing post hook (run only when the steps succeeded) is a
// warning.
func (t *run) dispatch(ctx context.Context, task, name string) error {
	steps, err := t.prepare(ctx, task, name)
	if err != nil {
		return err
	}
	c, err := t.b.Contexts.Get(ctx, name)
	if err != nil {
		return err
	}
	if err := t.runHooks(ctx, task, hookPre, c); err != nil {
		return fmt.Errorf("the task did not start: %w", err)
	}
	if err := t.steps.Run(ctx, steps); err != nil {
		return err
	}
	// The post hooks see the context as the task left it; a delete
	// removed it, so they see it as it was.
	if after, err := t.b.Contexts.Get(ctx, name); err == nil {
		c = after
	}
	if err := t.runHooks(ctx, task, hookPost, c); err != nil {
		t.log.Warnf("%v", err)
	}
	return nil
}

// prepare loads the named context and returns the steps of task on it.
func (t *run) prepare(ctx context.Context, task, name string) ([]aegir.Step, error) {
	byType, ok := tasks[task]
	if !ok {
		return nil, aegir.Errorf(aegir.EINVALID, "no task %q", task)
	}
	c, err := t.b.Contexts.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	fn, ok := byType[c.Type]
	if !ok {
		return nil, aegir.Errorf(aegir.EINVALID, "task %q does not apply to @%s, a %s", task, name, c.Type)
	}
	if c.Type == aegir.SiteContext {
		t.orig = c.Clone()
	}
	row, _ := aegir.LookupTask(task)
	t.res = row.NewResult(c.Type)
	t.task = task
	return fn(t, ctx, c)
}

func (t *run) env() aegir.Env {
	return aegir.Env{Paths: t.b.Paths, Runner: t.b.Runner, Log: t.log, Wait: t.opts.Wait}
}

// serverEnv is env for a driver of the named server: its Runner runs
// commands there and Push copies files there when it is remote.
func (t *run) serverEnv(name string, s *aegir.Server) aegir.Env {
	env := t.env()
	if s.HTTPServiceType == aegir.ServiceCluster {
		env.ClusterMembers = t.clusterMembers(name, s)
	}
	if t.b.Transport == nil || s.IsLocal() {
		return env
	}
	env.Runner = t.b.Transport.Runner(name, s)
	env.Push = func(ctx context.Context, dir string) error {
		return t.b.Transport.Push(ctx, name, s, dir, nil)
	}
	return env
}

// server loads a server context by reference, with defaults applied.
func (t *run) server(ctx context.Context, ref string) (string, *aegir.Server, error) {
	c, err := t.typed(ctx, ref, aegir.ServerContext)
	if err != nil {
		return "", nil, err
	}
	c.Server.Defaults()
	return c.Name, c.Server, nil
}

func (t *run) typed(ctx context.Context, ref string, typ aegir.ContextType) (*aegir.Context, error) {
	name := aegir.ContextName(ref)
	c, err := t.b.Contexts.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if c.Type != typ {
		return nil, aegir.Errorf(aegir.EINVALID, "@%s is a %s, not a %s", name, c.Type, typ)
	}
	return c, nil
}

// httpService builds the http service of the named server.
func (t *run) httpService(ctx context.Context, ref string) (*aegir.Server, aegir.HTTPService, error) {
	name, server, err := t.server(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	svc, err := aegir.NewHTTPService(server, name, t.serverEnv(name, server))
	if err != nil {
		return nil, nil, fmt.Errorf("@%s: %w", name, err)
	}
	return server, svc, nil
}

// dbService returns the db service of the named server, connected once
// per task however many sites use it; Run closes them.
func (t *run) dbService(ctx context.Context, ref string) (*aegir.Server, aegir.DBService, error) {
	name, server, err := t.server(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if svc, ok := t.dbs[name]; ok {
		return server, svc, nil
	}
	svc, err := aegir.NewDBService(server, t.env())
	if err != nil {
		return nil, nil, fmt.Errorf("@%s: %w", name, err)
	}
	if t.dbs == nil {
		t.dbs = map[string]aegir.DBService{}
	}
	t.dbs[name] = svc
	return server, svc, nil
}

// closeDBs closes the db services the task opened.
func (t *run) closeDBs() {
	for _, svc := range t.dbs {
		svc.Close()
	}
}
