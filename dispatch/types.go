package dispatch

import (
	"github.com/aegir-hosting/aegir"
)

// maxNoopSleep bounds the sleep_ms argument of a noop task.
const maxNoopSleep = 60_000

// Accepts reports whether the dispatcher runs tasks of type typ on objects
// of type objectType (the catalog's Objects); the API can refuse the others
// before queueing them.
func Accepts(typ string, objectType aegir.ContextType) bool {
	t, ok := aegir.LookupTask(typ)
	return ok && t.RunsOn(objectType)
}

// TaskTypes returns the task types the dispatcher runs, sorted.
func TaskTypes() []string {
	var types []string
	for _, t := range aegir.Tasks() {
		types = append(types, t.Name)
	}
	return types
}

// PlatformWide reports whether a task must run alone among the tasks of its
// platform (queued with Exclusive set), as the catalog says.
func PlatformWide(typ string, objectType aegir.ContextType) bool {
	t, ok := aegir.LookupTask(typ)
	return ok && t.IsPlatformWide(objectType)
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
