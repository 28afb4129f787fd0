package aegir

import (
	"slices"
	"strings"
)

// Task type names. Each is defined once, with all its facts, in the
// catalog below.
const (
	TaskVerify          = "verify"
	TaskInstall         = "install"
	TaskBackup          = "backup"
	TaskBackupDelete    = "backup-delete"
	TaskBackupVerify    = "backup-verify"
	TaskRestore         = "restore"
	TaskDeploy          = "deploy"
	TaskMigrate         = "migrate"
	TaskMigratePlatform = "migrate-platform"
	TaskClone           = "clone"
	TaskDisable         = "disable"
	TaskEnable          = "enable"
	TaskDelete          = "delete"
	TaskImport          = "import"
	TaskLoginReset      = "login-reset"
	TaskCron            = "cron"
	TaskFlushCache      = "flush-cache"
	TaskUpdateDB        = "update-db"
	TaskDeployCode      = "deploy-code"
	TaskSync            = "sync"
	// TaskNoop does nothing (after sleep_ms): a health check of the queue,
	// and what the dispatch benchmarks measure.
	TaskNoop = "noop"
)

// ArgKind says what a task argument holds, which decides how it is
// checked and how the API describes it.
type ArgKind string

// Argument kinds.
const (
	ArgText     ArgKind = "text"     // free text, checked by the task
	ArgBool     ArgKind = "bool"     // true or false
	ArgNumber   ArgKind = "number"   // a whole number
	ArgPlatform ArgKind = "platform" // a reference to a platform (@platform_x)
	ArgNewURI   ArgKind = "new_uri"  // a site name not taken yet
	ArgBackup   ArgKind = "backup"   // one backup of the site
	ArgBackups  ArgKind = "backups"  // backups of the site, space-separated
	ArgURL      ArgKind = "url"      // an http or https URL
	ArgEnum     ArgKind = "enum"     // one of Enum
	ArgPath     ArgKind = "path"     // a file path on the server (the CLI only)
)

// TaskArg is one argument of a task type.
type TaskArg struct {
	Name string
	Kind ArgKind
	Enum []string // the values of an ArgEnum
	// Positional arguments follow @NAME on the command line, in the order
	// of the task's Args; the others are --name=value options.
	Positional bool
	Required   bool
	// RequiredUnless, "arg=value", makes the argument required unless the
	// other argument has that value (a restore's file, but for
	// from=offsite).
	RequiredUnless string
	// Variadic takes every remaining positional argument, space-joined.
	Variadic bool
	// CLIOnly arguments are not taken by the front end: a file path a user
	// would pick on the server, a batch's concurrency.
	CLIOnly bool
	Doc     string
}

// Recovery is what the front end's dispatcher does for a task it finds
// left processing by a process that died, beside failing it.
type Recovery int

// Recoveries.
const (
	// RecoverNothing: the task's own undo never ran; a verify of the object
	// mends it, and the user retries.
	RecoverNothing Recovery = iota
	// RecoverVerifySite queues a verify of the site, which undoes (or,
	// past its commit point, finishes) a deploy that died, from the record
	// it keeps beside the site (provision's taskRecord): the tables a
	// migrate moved go back, a half-restored directory is put back, a
	// clone's copy is set aside.
	RecoverVerifySite
	// RecoverVerifySourceSites queues a verify of each site still on the
	// source platform of a batch migrate.
	RecoverVerifySourceSites
)

// TaskType is everything about one type of task, said once: the CLI, the
// front end's rules, the dispatcher, the schedulers and the API
// description all read it from the catalog (Tasks, LookupTask).
type TaskType struct {
	Name    string
	Summary string // one line, for help and the API description
	// Objects are the context types the back end runs it on; Queued those
	// the front end queues it on (none: a back-end primitive).
	Objects []ContextType
	Queued  []ContextType
	Args    []TaskArg
	// Force: it takes --force (a package check or an existing site
	// overridden).
	Force bool
	// Heavy tasks dump, copy or import whole sites: refused while the
	// machine's load is critical.
	Heavy bool
	// PlatformWide tasks on a platform read or change every site on it:
	// they run alone among the platform's tasks.
	PlatformWide bool
	// Clients: client users may queue it on the sites of their clients.
	Clients bool
	// Internal tasks have no command of their own (tests, benchmarks).
	Internal bool
	// Form is the UI's page that asks for the task's arguments, under the
	// object's (/sites/NAME/FORM); none: a plain button queues it.
	Form string
	// Danger: the UI shows its button as destructive.
	Danger   bool
	Recovery Recovery
	// Result makes the task's result on an object of that type (see
	// results.go); nil, or a nil result, when it reports nothing.
	Result func(on ContextType) any
}

// resultOf makes a task's result of type T, whatever it runs on.
func resultOf[T any]() func(ContextType) any {
	return func(ContextType) any { return new(T) }
}

// byObject makes a task's result by the type of its object.
func byObject(results map[ContextType]func() any) func(ContextType) any {
	return func(on ContextType) any {
		if f := results[on]; f != nil {
			return f()
		}
		return nil
	}
}

// NewResult makes an empty result of the task on an object of type on,
// for its steps to fill; nil when the task reports nothing there.
func (t TaskType) NewResult(on ContextType) any {
	if t.Result == nil {
		return nil
	}
	return t.Result(on)
}

var (
	allObjects = []ContextType{ServerContext, PlatformContext, SiteContext}
	onSite     = []ContextType{SiteContext}
	onPlatform = []ContextType{PlatformContext}
	onServer   = []ContextType{ServerContext}
)

// taskCatalog is the catalog: one row per task type.
var taskCatalog = []TaskType{
	{Name: TaskVerify, Summary: "verify a server, platform or site: write its config, check it, record what it finds",
		Objects: allObjects, Queued: allObjects, PlatformWide: true, Clients: true,
		Args: []TaskArg{
			{Name: "renew", Kind: ArgBool, Doc: "renew the site's certificate even when it is not due"},
			{Name: "rebuild", Kind: ArgBool, Doc: "build a platform's root anew from its source and its lock file, sites carried over"},
		},
		Result: byObject(map[ContextType]func() any{
			ServerContext:   func() any { return new(ServerVerifyResult) },
			PlatformContext: func() any { return new(PlatformVerifyResult) },
			SiteContext:     func() any { return new(SiteVerifyResult) },
		}),
	},
	{Name: TaskInstall, Summary: "install a site: database, settings, the app's installer, vhost, a login link",
		Objects: onSite, Queued: onSite, Force: true, Heavy: true, Clients: true,
		Result: resultOf[InstallResult](),
	},
	{Name: TaskBackup, Summary: "back up a site: its directory and a database dump in one archive",
		Objects: onSite, Queued: onSite, Heavy: true, Clients: true,
		Args: []TaskArg{
			{Name: "file", Kind: ArgPath, Positional: true, CLIOnly: true, Doc: "where to write the archive (default under backups/)"},
			{Name: "format", Kind: ArgEnum, Enum: []string{"gz", "zst"}, Doc: "the archive's compression"},
		},
		Result: resultOf[BackupResult](),
	},
	{Name: TaskBackupDelete, Summary: "delete backups of a site",
		Objects: onSite, Queued: onSite, Clients: true,
		Args:   []TaskArg{{Name: "files", Kind: ArgBackups, Positional: true, Required: true, Variadic: true, Doc: "the backups, by path or file name"}},
		Result: resultOf[BackupDeleteResult](),
	},
	{Name: TaskBackupVerify, Summary: "prove a backup of a site restorable: restore it into a scratch database and directory, boot the app on it, drop them",
		Objects: onSite, Queued: onSite, Heavy: true, Clients: true,
		Args:   []TaskArg{{Name: "file", Kind: ArgBackup, Positional: true, Doc: "the backup to verify (default the site's newest)"}},
		Result: resultOf[BackupVerifyResult](),
	},
	{Name: TaskRestore, Summary: "restore a backup of a site in its place, after a backup of what is there",
		Form: "restore", Objects: onSite, Queued: onSite, Force: true, Heavy: true, Clients: true, Recovery: RecoverVerifySite,
		Args: []TaskArg{
			{Name: "file", Kind: ArgBackup, Positional: true, RequiredUnless: "from=offsite", Doc: "a backup of the site (none with --from=offsite)"},
			{Name: "old_uri", Kind: ArgText, CLIOnly: true, Doc: "the URI the backup was taken under"},
			{Name: "from", Kind: ArgEnum, Enum: []string{"local", "offsite"}, Doc: "offsite restores a snapshot of the off-site target instead of a local backup"},
			{Name: "snapshot", Kind: ArgText, Doc: "the off-site snapshot to restore (default the site's newest)"},
		},
		Result: resultOf[DeployResult](),
	},
	{Name: TaskDeploy, Summary: "unpack a backup into a site with a new database (the primitive under restore, migrate and clone)",
		Objects: onSite, Force: true, Heavy: true,
		Args: []TaskArg{
			{Name: "file", Kind: ArgPath, Positional: true, Required: true, Doc: "the backup archive"},
			{Name: "old_uri", Kind: ArgText, Doc: "the URI the backup was taken under"},
		},
		Result: resultOf[DeployResult](),
	},
	{Name: TaskMigrate, Summary: "move a site to another platform, optionally under a new name",
		Form: "migrate", Objects: onSite, Queued: onSite, Force: true, Heavy: true, Clients: true, Recovery: RecoverVerifySite,
		Args: []TaskArg{
			{Name: "platform", Kind: ArgPlatform, Positional: true, Required: true, Doc: "the platform to move to"},
			{Name: "new_uri", Kind: ArgNewURI, Positional: true, Doc: "the site's new name"},
			// Servers are the administrator's to choose, not a client's.
			{Name: "db_server", Kind: ArgText, CLIOnly: true, Doc: "the db server to move the site's database to (default its own)"},
		},
		Result: resultOf[MoveResult](),
	},
	{Name: TaskMigratePlatform, Summary: "migrate every site of a platform to another, several at a time",
		Form: "migrate", Objects: onPlatform, Queued: onPlatform, Force: true, PlatformWide: true, Recovery: RecoverVerifySourceSites,
		Args: []TaskArg{
			{Name: "platform", Kind: ArgPlatform, Positional: true, Required: true, Doc: "the platform to move the sites to"},
			{Name: "concurrency", Kind: ArgNumber, CLIOnly: true, Doc: "sites moved at once (default four per CPU)"},
		},
		Result: resultOf[MigratePlatformResult](),
	},
	{Name: TaskClone, Summary: "copy a site under a new name, with its own database and files",
		Form: "clone", Objects: onSite, Queued: onSite, Force: true, Heavy: true, Clients: true, Recovery: RecoverVerifySite,
		Args: []TaskArg{
			{Name: "new_uri", Kind: ArgNewURI, Positional: true, Required: true, Doc: "the copy's name"},
			{Name: "platform", Kind: ArgPlatform, Positional: true, Doc: "the copy's platform (default the site's)"},
		},
		Result: resultOf[MoveResult](),
	},
	{Name: TaskDisable, Summary: "disable a site: it answers that it is disabled",
		Danger: true, Objects: onSite, Queued: onSite, Clients: true,
		Args:   []TaskArg{{Name: "disabled_url", Kind: ArgURL, Doc: "where the disabled site redirects"}},
		Result: resultOf[SiteResult](),
	},
	{Name: TaskEnable, Summary: "serve a disabled site again", Objects: onSite, Queued: onSite, Clients: true,
		Result: resultOf[SiteResult](),
	},
	{Name: TaskDelete, Summary: "delete a site (after a backup), or a platform or server nothing uses",
		Danger: true, Objects: allObjects, Queued: allObjects, PlatformWide: true, Clients: true,
		Result: byObject(map[ContextType]func() any{SiteContext: func() any { return new(SiteDeleteResult) }}),
	},
	{Name: TaskImport, Summary: "adopt a site found on its platform: read its settings and verify it",
		Objects: onSite, Queued: onSite, Force: true,
		Result: resultOf[ImportResult](),
	},
	{Name: TaskLoginReset, Summary: "make a one-time admin login link", Objects: onSite, Queued: onSite, Clients: true,
		Result: resultOf[LoginResetResult](),
	},
	{Name: TaskCron, Summary: "run a site's cron", Objects: onSite, Queued: onSite,
		Result: resultOf[SiteResult](),
	},
	{Name: TaskFlushCache, Summary: "clear a site's caches", Objects: onSite, Queued: onSite, Clients: true,
		Result: resultOf[SiteResult](),
	},
	{Name: TaskUpdateDB, Summary: "run a site's pending database updates", Objects: onSite, Queued: onSite, Clients: true,
		Result: resultOf[UpdateDBResult](),
	},
	{Name: TaskDeployCode, Summary: "build a new platform from a git ref, move the site onto it, run the deploy hooks; a failure puts it back",
		Objects: onSite, Queued: onSite, Force: true, Heavy: true, Clients: true, Recovery: RecoverVerifySite,
		Args: []TaskArg{
			{Name: "git_ref", Kind: ArgText, Required: true, Doc: "the branch, tag or commit to deploy"},
		},
		Result: resultOf[DeployCodeResult](),
	},
	{Name: TaskSync, Summary: "copy a site's database and files into another site (an environment of a project), after a backup of it",
		Objects: onSite, Queued: onSite, Force: true, Heavy: true, Clients: true,
		Args: []TaskArg{
			{Name: "target", Kind: ArgText, Positional: true, Required: true, Doc: "the site written into (refused when protected, unless --force)"},
			{Name: "db", Kind: ArgBool, Doc: "copy the database (with --files: both; neither: both)"},
			{Name: "files", Kind: ArgBool, Doc: "copy the site's files (its writable directories)"},
		},
		Result: resultOf[SyncResult](),
	},
	{Name: TaskNoop, Summary: "do nothing, after sleep_ms (a health check of the queue)",
		Objects: allObjects, Queued: onServer, Internal: true,
		Args: []TaskArg{{Name: "sleep_ms", Kind: ArgNumber, Doc: "milliseconds to wait, at most 60000"}}},
}

// Tasks returns the catalog, sorted by name.
func Tasks() []TaskType {
	list := slices.Clone(taskCatalog)
	slices.SortFunc(list, func(a, b TaskType) int { return strings.Compare(a.Name, b.Name) })
	return list
}

// LookupTask returns the catalog's row of a task type.
func LookupTask(name string) (TaskType, bool) {
	for _, t := range taskCatalog {
		if t.Name == name {
			return t, true
		}
	}
	return TaskType{}, false
}

// RunsOn reports whether the back end runs the task on that context type.
func (t TaskType) RunsOn(c ContextType) bool { return slices.Contains(t.Objects, c) }

// QueuedOn reports whether the front end queues the task on that type.
func (t TaskType) QueuedOn(c ContextType) bool { return slices.Contains(t.Queued, c) }

// IsPlatformWide reports whether a task of this type on an object of type
// c runs alone among the tasks of its platform.
func (t TaskType) IsPlatformWide(c ContextType) bool { return t.PlatformWide && c == PlatformContext }

// FrontEndArgs returns the arguments the front end takes, required ones
// first.
func (t TaskType) FrontEndArgs() (required, optional []string) {
	for _, a := range t.Args {
		switch {
		case a.CLIOnly:
		case a.Required:
			required = append(required, a.Name)
		default:
			optional = append(optional, a.Name)
		}
	}
	if t.Force {
		optional = append(optional, "force")
	}
	return required, optional
}

// IsHeavy reports whether the named task is heavy (see TaskType.Heavy).
func IsHeavy(name string) bool {
	t, ok := LookupTask(name)
	return ok && t.Heavy
}
