package aegir

import (
	"context"
	"fmt"
)

// TaskOptions tune one run of a task by the back end.
type TaskOptions struct {
	// Force lets a task go past what it would refuse (a reinstall over
	// existing settings, a package downgrade).
	Force bool
	// FailAt makes the named step fail before it runs, to test rollback.
	FailAt string
	// CrashAt stops the task before the named step with nothing undone, to
	// test recovery from a crash.
	CrashAt string
	// SiteMigrated, when set, is told of each site of a batch migrate as
	// soon as it has moved, from the goroutine that moved it, so that a
	// front end records it then: a batch that dies half-way leaves the
	// sites it finished recorded where they are.
	SiteMigrated func(SiteOutcome)
	// Sink receives each log entry as it is written.
	Sink func(LogEntry)
	// Args are the task's arguments: file, platform, new_uri, old_uri...
	Args map[string]string
	// Wait, when set, is told when the task waits for work others do for
	// it (a shared web server reload), so that its runner can run another
	// task meanwhile.
	Wait WaitHook
}

// SiteOutcome is how one site of a batch migrate ended.
type SiteOutcome struct {
	Site   string `json:"site"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Backup is the backup the site's migrate left (file, size, sha256),
	// for the front end to record; nil when the migrate failed, since its
	// rollback removed it.
	Backup *ArchiveInfo `json:"backup,omitempty"`
}

// String summarises an outcome for the CLI.
func (o SiteOutcome) String() string {
	if o.Error != "" {
		return fmt.Sprintf("%-40s %s: %s", o.Site, o.Status, o.Error)
	}
	return fmt.Sprintf("%-40s %s", o.Site, o.Status)
}

// Backend runs the back end's tasks on named contexts: provision's, in
// this process. The front end's dispatcher depends on this, not on the
// back end's package.
type Backend interface {
	// Run runs task on the named context and returns its Result; the
	// task's error is in the Result and also returned.
	Run(ctx context.Context, task, name string, opts TaskOptions) (*Result, error)
	// MigratePlatform migrates every installed site of platform from to
	// platform to, concurrency at a time.
	MigratePlatform(ctx context.Context, from, to string, concurrency int, opts TaskOptions) (*Result, error)
	// ContextStore holds the named contexts the tasks read; the front end
	// writes them before each task.
	ContextStore() ContextStore
	// HomePaths are the paths of the back end's $AEGIR_HOME.
	HomePaths() Paths
}
