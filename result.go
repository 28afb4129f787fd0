package aegir

import (
	"fmt"
	"sync"
	"time"
)

// Task statuses, as the front end shows them.
const (
	StatusQueued     = "queued"
	StatusProcessing = "processing"
	StatusSuccess    = "success"
	StatusWarning    = "warning"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
)

// Log levels of task log entries.
const (
	LevelInfo    = "info"
	LevelSuccess = "success"
	LevelWarning = "warning"
	LevelError   = "error"
)

// LogEntry is one line of a task's log.
type LogEntry struct {
	Level   string    `json:"level"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// Result is what a backend task reports: its status, its log and its
// result, of the type its catalog row names (results.go), or nil.
type Result struct {
	Status string     `json:"status"`
	Log    []LogEntry `json:"log"`
	Data   any        `json:"data"`
}

// TaskLog collects the log of a running task and passes each entry to an
// optional sink as it is written, so callers can stream it.
type TaskLog struct {
	mu      sync.Mutex
	entries []LogEntry
	sink    func(LogEntry)
	now     func() time.Time
}

// NewTaskLog returns a log that calls sink (which may be nil) on every entry.
func NewTaskLog(sink func(LogEntry)) *TaskLog {
	return &TaskLog{sink: sink, now: time.Now}
}

func (l *TaskLog) add(level, format string, args ...any) {
	e := LogEntry{Level: level, Message: fmt.Sprintf(format, args...)}
	l.mu.Lock()
	e.Time = l.now().UTC()
	l.entries = append(l.entries, e)
	sink := l.sink
	l.mu.Unlock()
	if sink != nil {
		sink(e)
	}
}

// Infof logs a step of progress.
func (l *TaskLog) Infof(format string, args ...any) { l.add(LevelInfo, format, args...) }

// Successf logs a step that completed.
func (l *TaskLog) Successf(format string, args ...any) { l.add(LevelSuccess, format, args...) }

// Warnf logs a problem that does not fail the task.
func (l *TaskLog) Warnf(format string, args ...any) { l.add(LevelWarning, format, args...) }

// Errorf logs an error; a task with an error fails.
func (l *TaskLog) Errorf(format string, args ...any) { l.add(LevelError, format, args...) }

// Entries returns a copy of the entries written so far.
func (l *TaskLog) Entries() []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LogEntry(nil), l.entries...)
}

// Status derives the task status from the log, as Aegir does: any error
// means failed, else any warning means warning, else success.
func (l *TaskLog) Status() string {
	status := StatusSuccess
	for _, e := range l.Entries() {
		switch e.Level {
		case LevelError:
			return StatusFailed
		case LevelWarning:
			status = StatusWarning
		}
	}
	return status
}
