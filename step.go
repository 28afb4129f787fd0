package aegir

import (
	"context"
	"fmt"
)

// Undo reverses what a step did.
type Undo func(ctx context.Context) error

// Step is one unit of a task. Do returns the Undo that reverses it, or nil
// when there is nothing to reverse.
type Step struct {
	Name string
	Do   func(ctx context.Context) (Undo, error)
}

// StepRunner runs a task's steps in order and, when one fails, runs the
// undo of every step already done in reverse order.
type StepRunner struct {
	Log *TaskLog
	// FailAt names a step that fails on purpose before it runs; tests use
	// it to prove every rollback path.
	FailAt string
	// CrashAt names a step before which the task stops with an error and
	// no undo at all, as when the process dies there; tests use it to prove
	// what a crash leaves can be recovered.
	CrashAt string
}

// Run executes steps. It returns the error of the failed step; undo errors
// are logged, since the first error is the one the user needs.
func (r *StepRunner) Run(ctx context.Context, steps []Step) error {
	_, err := r.Nest(ctx, steps)
	return err
}

// Nest runs steps as Run does and, when they all pass, returns the undo of
// the whole list (each step's, in reverse): a task's step that runs a
// list of steps known only once earlier steps have run (a migrate onto a
// platform the task has just built) returns it as its own undo.
func (r *StepRunner) Nest(ctx context.Context, steps []Step) (Undo, error) {
	var undos []namedUndo
	for _, s := range steps {
		err := ctx.Err()
		var undo Undo
		if err == nil && s.Name == r.CrashAt {
			return nil, Errorf(EINTERNAL, "stopped before step %q with nothing undone, as a crash would (crash-at)", s.Name)
		}
		if err == nil && s.Name == r.FailAt {
			err = Errorf(EINTERNAL, "step %q failed on purpose (fail-at)", s.Name)
		} else if err == nil {
			undo, err = s.Do(ctx)
		}
		if err != nil {
			r.Log.Errorf("%s: %v", s.Name, err)
			r.rollback(undos)
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		if undo != nil {
			undos = append(undos, namedUndo{s.Name, undo})
		}
	}
	if len(undos) == 0 {
		return nil, nil
	}
	return func(context.Context) error {
		r.rollback(undos)
		return nil
	}, nil
}

type namedUndo struct {
	name string
	undo Undo
}

func (r *StepRunner) rollback(undos []namedUndo) {
	// Rollback must finish even when the task's context was cancelled.
	ctx := context.Background()
	for i := len(undos) - 1; i >= 0; i-- {
		u := undos[i]
		if err := u.undo(ctx); err != nil {
			r.Log.Warnf("undo %s: %v", u.name, err)
			continue
		}
		r.Log.Infof("undid %s", u.name)
	}
}
