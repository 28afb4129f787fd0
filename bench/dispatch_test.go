package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/dispatch"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/tarball"

	// The drivers the benchmarks' servers and platforms use.
	_ "github.com/aegir-hosting/aegir/mysql"
	_ "github.com/aegir-hosting/aegir/nginx"
	_ "github.com/aegir-hosting/aegir/null"
	_ "github.com/aegir-hosting/aegir/ssl"
	_ "github.com/aegir-hosting/aegir/static"
	_ "github.com/aegir-hosting/aegir/wordpress"
)

// newBackend returns a back end on a new $AEGIR_HOME under dir.
func newBackend(t testing.TB, home string) *provision.Backend {
	t.Helper()
	paths := aegir.Paths{Home: home}
	must(t, provision.MakeHome(paths))
	return &provision.Backend{Paths: paths, Contexts: contextfile.New(paths), Runner: &local.Runner{}, Archiver: &tarball.Archiver{}}
}

// runningDispatcher is a dispatcher running until stop, which counts the
// tasks it finished.
type runningDispatcher struct {
	finished chan *aegir.Task
	stop     func()
}

// startDispatcher runs a dispatcher of workers (0: the default) on store
// and backend until the test ends or stop is called.
func startDispatcher(t testing.TB, store aegir.Store, backend *provision.Backend, workers int) *runningDispatcher {
	t.Helper()
	r := &runningDispatcher{finished: make(chan *aegir.Task, 1<<16)}
	d := &dispatch.Dispatcher{Store: store, Backend: backend, Workers: workers, Worker: "bench", Logger: discard,
		OnFinish: func(task *aegir.Task, status string, _ time.Duration) {
			done := *task
			done.Status = status
			r.finished <- &done
		}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	var once bool
	r.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	}
	t.Cleanup(r.stop)
	return r
}

// wait waits until n tasks have finished and returns them; a failed one
// fails t, with its log.
func (r *runningDispatcher) wait(t testing.TB, store aegir.Store, n int, timeout time.Duration) []*aegir.Task {
	t.Helper()
	deadline := time.After(timeout)
	var done []*aegir.Task
	for len(done) < n {
		select {
		case task := <-r.finished:
			if task.Status != aegir.StatusSuccess && task.Status != aegir.StatusWarning {
				entries, _ := store.TaskLog(context.Background(), task.ID, 0)
				var log string
				for _, e := range entries {
					log += "\n  " + e.Level + ": " + e.Message
				}
				t.Fatalf("task %d (%s of %s) %s:%s", task.ID, task.Type, task.Object, task.Status, log)
			}
			done = append(done, task)
		case <-deadline:
			t.Fatalf("%d of %d tasks finished after %s", len(done), n, timeout)
		}
	}
	return done
}

func noopTask(object string) *aegir.Task {
	return &aegir.Task{Type: aegir.TaskNoop, ObjectType: aegir.SiteContext, Object: object}
}

// TestDispatch is benchmark 1: no-op tasks through the queue. Throughput
// is a burst of DispatchTasks tasks enqueued one after the other while the
// dispatcher runs, from the first enqueue to the last task recorded.
// Latency (queued → processing, as the store records it) is measured on a
// steady stream of LatencyRate tasks a second, a busy control plane's
// load, where the queue is not a backlog.
func TestDispatch(t *testing.T) {
	need(t)
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			var tputs, p50s, p99s []float64
			for run := range size.Runs {
				store := k.open(t)
				backend := newBackend(t, t.TempDir())
				d := startDispatcher(t, store, backend, 0)

				burst := func() {
					for i := range size.DispatchTasks {
						must(t, store.EnqueueTask(background, noopTask(fmt.Sprintf("n%05d.example", i))))
					}
					d.wait(t, store, size.DispatchTasks, 5*time.Minute)
				}
				var took time.Duration
				if run == 0 && k.name == "SQLite" {
					profile(t, "dispatch-sqlite", func() { took = timed(burst) })
				} else {
					took = timed(burst)
				}
				tputs = append(tputs, float64(size.DispatchTasks)/took.Seconds())

				tick := time.NewTicker(time.Second / time.Duration(size.LatencyRate))
				ids := make([]int64, size.LatencyTasks)
				for i := range ids {
					<-tick.C
					task := noopTask(fmt.Sprintf("l%05d.example", i))
					must(t, store.EnqueueTask(background, task))
					ids[i] = task.ID
				}
				tick.Stop()
				d.wait(t, store, size.LatencyTasks, time.Minute)
				var lat []time.Duration
				for _, id := range ids {
					task, err := store.GetTask(background, id)
					must(t, err)
					lat = append(lat, task.StartedAt.Sub(task.CreatedAt))
				}
				p50s = append(p50s, float64(percentile(lat, 50)))
				p99s = append(p99s, float64(percentile(lat, 99)))
				d.stop()
			}
			tput, p50, p99 := median(tputs), time.Duration(median(p50s)), time.Duration(median(p99s))
			note := fmt.Sprintf("median of %d runs; one dispatcher, %d workers (the default, eight per CPU)", size.Runs, dispatchWorkers())
			if k.name == "SQLite" {
				report(figure{Bench: "1 dispatch", Name: fmt.Sprintf("SQLite: %d no-op tasks through the queue", size.DispatchTasks),
					Value: fmt.Sprintf("%.0f tasks/s", tput), Target: "≥ 500 tasks/s", Result: atLeast(tput, 500), Note: note})
				report(figure{Bench: "1 dispatch", Name: fmt.Sprintf("SQLite: queued → processing p50, %d tasks/s", size.LatencyRate),
					Value: ms(p50), Target: "≤ 10 ms", Result: atMost(p50.Seconds(), 0.010), Note: note})
				report(figure{Bench: "1 dispatch", Name: fmt.Sprintf("SQLite: queued → processing p99, %d tasks/s", size.LatencyRate),
					Value: ms(p99), Result: info})
				return
			}
			report(figure{Bench: "1 dispatch", Name: fmt.Sprintf("%s: %d no-op tasks through the queue", k.name, size.DispatchTasks),
				Value: fmt.Sprintf("%.0f tasks/s", tput), Result: info, Note: note})
			report(figure{Bench: "1 dispatch", Name: fmt.Sprintf("%s: queued → processing p50 / p99, %d tasks/s", k.name, size.LatencyRate),
				Value: ms(p50) + " / " + ms(p99), Result: info})
		})
	}
}

// dispatchWorkers is the dispatcher's default number of workers.
func dispatchWorkers() int { return dispatch.DefaultWorkers() }
