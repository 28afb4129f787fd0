package dispatch

import (
	"slices"
	"sort"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
)

// TaskNoop is a task that does nothing and succeeds, for benchmarks and
// tests of the queue itself. Its object needs no record. The argument
// sleep_ms (at most 60000) makes it take that long.
const TaskNoop = "noop"

// maxNoopSleep bounds the sleep_ms argument of a noop task.
const maxNoopSleep = 60_000

var (
	server   = aegir.ServerContext
	platform = aegir.PlatformContext
	site     = aegir.SiteContext
)

// taskObjects lists, for each task type the dispatcher runs, the object
// types it applies to: every back-end task as provision defines it, the
// batch migrate of a platform, and noop.
var taskObjects = map[string][]aegir.ContextType{
	provision.TaskVerify:          {server, platform, site},
	provision.TaskInstall:         {site},
	provision.TaskBackup:          {site},
	provision.TaskBackupDelete:    {site},
	provision.TaskRestore:         {site},
	provision.TaskDeploy:          {site},
	provision.TaskMigrate:         {site},
	provision.TaskClone:           {site},
	provision.TaskDisable:         {site},
	provision.TaskEnable:          {site},
	provision.TaskDelete:          {server, platform, site},
	provision.TaskImport:          {site},
	provision.TaskLoginReset:      {site},
	provision.TaskCron:            {site},
	provision.TaskMigratePlatform: {platform},
	TaskNoop:                      {server, platform, site},
}

// Accepts reports whether the dispatcher runs tasks of type typ on objects
// of type objectType; the API can refuse the others before queueing them.
func Accepts(typ string, objectType aegir.ContextType) bool {
	return slices.Contains(taskObjects[typ], objectType)
}

// TaskTypes returns the task types the dispatcher runs, sorted.
func TaskTypes() []string {
	types := make([]string, 0, len(taskObjects))
	for t := range taskObjects {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// PlatformWide reports whether a task must run alone among the tasks of its
// platform (queued with Exclusive set): the verify, delete and batch
// migrate of a platform, which read or change every site on it.
func PlatformWide(typ string, objectType aegir.ContextType) bool {
	if objectType != aegir.PlatformContext {
		return false
	}
	switch typ {
	case provision.TaskVerify, provision.TaskDelete, provision.TaskMigratePlatform:
		return true
	}
	return false
}

// SiteTask returns a task of type typ on a site, with the site's platform
// set so the queue keeps it out of the way of platform-wide tasks.
func SiteTask(typ string, r *aegir.SiteRecord, args map[string]string) *aegir.Task {
	return &aegir.Task{Type: typ, ObjectType: aegir.SiteContext, Object: r.Name,
		Platform: aegir.ContextName(r.Site.Platform), Args: args}
}

// PlatformTask returns a task of type typ on a platform, exclusive among
// the platform's tasks when PlatformWide says so.
func PlatformTask(typ, name string, args map[string]string) *aegir.Task {
	name = aegir.ContextName(name)
	return &aegir.Task{Type: typ, ObjectType: aegir.PlatformContext, Object: name, Platform: name,
		Exclusive: PlatformWide(typ, aegir.PlatformContext), Args: args}
}

// ServerTask returns a task of type typ on a server.
func ServerTask(typ, name string, args map[string]string) *aegir.Task {
	return &aegir.Task{Type: typ, ObjectType: aegir.ServerContext, Object: aegir.ContextName(name), Args: args}
}
