package aegir

// WaitHook is told that a task has started to wait for work that others
// do for it (its web server's next reload, which many tasks share), so
// that whoever runs the task can give the task's worker slot to another
// meanwhile. It returns the function to call when the wait is over, which
// returns once the task may go on (it may wait for a slot). A task gets it
// in its TaskOptions, and the drivers in their Env: explicitly, never in a
// context value.
type WaitHook func() (resume func())

// Begin tells the hook, if there is one, that the caller starts waiting
// for others, and returns the function to call when that wait is over
// (before the caller does anything more). Without a hook, both do nothing.
func (h WaitHook) Begin() (end func()) {
	if h == nil {
		return func() {}
	}
	return h()
}
