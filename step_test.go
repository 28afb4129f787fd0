package aegir_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestStepRunnerUndoesDoneStepsInReverse(t *testing.T) {
	t.Parallel()
	var trace []string
	step := func(name string, fail bool) aegir.Step {
		return aegir.Step{Name: name, Do: func(context.Context) (aegir.Undo, error) {
			if fail {
				return nil, errors.New("boom")
			}
			trace = append(trace, "do "+name)
			return func(context.Context) error { trace = append(trace, "undo "+name); return nil }, nil
		}}
	}
	log := aegir.NewTaskLog(nil)
	r := &aegir.StepRunner{Log: log}
	err := r.Run(context.Background(), []aegir.Step{step("a", false), step("b", false), step("c", true), step("d", false)})
	if err == nil || !strings.Contains(err.Error(), "c: boom") {
		t.Fatalf("err = %v, want the failed step named", err)
	}
	if got, want := strings.Join(trace, ","), "do a,do b,undo b,undo a"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}
	if log.Status() != aegir.StatusFailed {
		t.Fatalf("status = %s, want failed", log.Status())
	}
}

func TestStepRunnerCrashAtStopsWithNothingUndone(t *testing.T) {
	t.Parallel()
	var trace []string
	step := func(name string) aegir.Step {
		return aegir.Step{Name: name, Do: func(context.Context) (aegir.Undo, error) {
			trace = append(trace, "do "+name)
			return func(context.Context) error { trace = append(trace, "undo "+name); return nil }, nil
		}}
	}
	r := &aegir.StepRunner{Log: aegir.NewTaskLog(nil), CrashAt: "c"}
	err := r.Run(context.Background(), []aegir.Step{step("a"), step("b"), step("c"), step("d")})
	if err == nil || !strings.Contains(err.Error(), "crash-at") {
		t.Fatalf("err = %v, want the crash named", err)
	}
	if got, want := strings.Join(trace, ","), "do a,do b"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}
}

func TestStepRunnerFailAtFailsBeforeTheStepRuns(t *testing.T) {
	t.Parallel()
	ran := false
	r := &aegir.StepRunner{Log: aegir.NewTaskLog(nil), FailAt: "second"}
	err := r.Run(context.Background(), []aegir.Step{
		{Name: "first", Do: func(context.Context) (aegir.Undo, error) { return nil, nil }},
		{Name: "second", Do: func(context.Context) (aegir.Undo, error) { ran = true; return nil, nil }},
	})
	if err == nil || ran {
		t.Fatalf("err = %v, ran = %v; want a failure before the step", err, ran)
	}
}

func TestTaskLogStatus(t *testing.T) {
	t.Parallel()
	var streamed int
	log := aegir.NewTaskLog(func(aegir.LogEntry) { streamed++ })
	log.Infof("one")
	if log.Status() != aegir.StatusSuccess {
		t.Fatal("info only should be success")
	}
	log.Warnf("two")
	if log.Status() != aegir.StatusWarning {
		t.Fatal("a warning should make warning")
	}
	log.Errorf("three")
	if log.Status() != aegir.StatusFailed || streamed != 3 {
		t.Fatalf("status %s, streamed %d", log.Status(), streamed)
	}
}
