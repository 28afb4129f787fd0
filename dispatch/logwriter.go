package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
)

// storeTimeout bounds each store call made for a running task, so a
// database that hangs cannot hold a worker forever.
const storeTimeout = 30 * time.Second

// closeAttempts is how many times the log of a finished task is written
// before its last lines are given up (the database is gone).
const closeAttempts = 6

// logWriter streams a task's log entries into its log rows. Entries are
// queued without blocking the task and written by one goroutine as soon
// as it is free: while one write runs the next entries gather, so a busy
// task writes in batches and a quiet one line by line, each visible a
// store round trip after it was logged.
type logWriter struct {
	store aegir.TaskQueue
	id    int64
	log   *slog.Logger

	mu      sync.Mutex
	pending []aegir.LogEntry
	closing bool
	levels  map[string]int // entries per level, as the task logged them

	wake chan struct{}
	done chan struct{}
}

func newLogWriter(store aegir.TaskQueue, id int64, log *slog.Logger) *logWriter {
	w := &logWriter{store: store, id: id, log: log, levels: map[string]int{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.loop()
	return w
}

// add queues an entry; it never blocks and is safe for concurrent use.
func (w *logWriter) add(e aegir.LogEntry) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	w.mu.Lock()
	w.pending = append(w.pending, e)
	w.levels[e.Level]++
	w.mu.Unlock()
	w.signal()
}

func (w *logWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *logWriter) logf(level, format string, args ...any) {
	w.add(aegir.LogEntry{Level: level, Message: fmt.Sprintf(format, args...)})
}

func (w *logWriter) infof(format string, args ...any) { w.logf(aegir.LevelInfo, format, args...) }
func (w *logWriter) warnf(format string, args ...any) { w.logf(aegir.LevelWarning, format, args...) }
func (w *logWriter) errorf(format string, args ...any) {
	w.logf(aegir.LevelError, format, args...)
}

// status is the task status the log says, as aegir.TaskLog.Status does.
func (w *logWriter) status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.levels[aegir.LevelError] > 0:
		return aegir.StatusFailed
	case w.levels[aegir.LevelWarning] > 0:
		return aegir.StatusWarning
	}
	return aegir.StatusSuccess
}

func (w *logWriter) loop() {
	defer close(w.done)
	var bo backoff
	failures := 0
	var notBefore time.Time // after a failed write, the next one waits its backoff
	for range w.wake {
		if time.Now().Before(notBefore) {
			continue
		}
		w.mu.Lock()
		batch, closing := w.pending, w.closing
		w.pending = nil
		w.mu.Unlock()
		if len(batch) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			err := w.store.AppendTaskLog(ctx, w.id, batch...)
			cancel()
			if code := aegir.ErrorCode(err); code == aegir.ENOTFOUND || code == aegir.EINVALID {
				// The task is gone (pruned, deleted) or the lines are
				// unacceptable: retrying cannot help.
				w.log.Error("store: task log lines dropped", "task", w.id, "lines", len(batch), "err", err)
				err = nil
			}
			if err != nil {
				failures++
				if closing && failures >= closeAttempts {
					w.log.Error("store: task log lines lost", "task", w.id, "lines", len(batch), "err", err)
					return
				}
				w.log.Error("store: writing the task log failed; retrying", "task", w.id, "err", err, "retry_in", bo.next())
				w.mu.Lock()
				w.pending = append(batch, w.pending...)
				w.mu.Unlock()
				notBefore = time.Now().Add(bo.d)
				time.AfterFunc(bo.d, w.signal)
				continue
			}
			failures = 0
			bo.reset()
		}
		w.mu.Lock()
		finished := w.closing && len(w.pending) == 0
		w.mu.Unlock()
		if finished {
			return
		}
	}
}

// close writes what is left of the log and stops the writer; the entries
// are all in the store when it returns (unless the store kept failing).
func (w *logWriter) close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.signal()
	<-w.done
}
