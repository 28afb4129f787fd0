package aegir

import "context"

// waitHookKey is the context key of a WaitHook.
type waitHookKey struct{}

// WaitHook is told that a task has started to wait for work that others
// do for it (its web server's next reload, which many tasks share), so
// that whoever runs the task can give the task's worker slot to another
// meanwhile. It returns the function to call when the wait is over, which
// returns once the task may go on (it may wait for a slot).
type WaitHook func() (resume func())

// WithWaitHook returns a context that carries hook to the tasks run with
// it.
func WithWaitHook(ctx context.Context, hook WaitHook) context.Context {
	return context.WithValue(ctx, waitHookKey{}, hook)
}

// BeginWait tells the WaitHook of ctx, if any, that the caller starts
// waiting for others, and returns the function to call when that wait is
// over (before the caller does anything more). Without a hook, both do
// nothing.
func BeginWait(ctx context.Context) (end func()) {
	if hook, ok := ctx.Value(waitHookKey{}).(WaitHook); ok && hook != nil {
		return hook()
	}
	return func() {}
}
