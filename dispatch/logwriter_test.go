package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/sqlite"
)

func newTask(t *testing.T) (*sqlite.Store, *aegir.Task) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hosting.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	task := &aegir.Task{Type: aegir.TaskNoop, ObjectType: aegir.SiteContext, Object: "a.example"}
	if err := s.EnqueueTask(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	return s, task
}

// TestLogLinesAreVisibleWhileTheTaskRuns checks that each line a task logs
// is in the store well within the live log's 100 ms.
func TestLogLinesAreVisibleWhileTheTaskRuns(t *testing.T) {
	t.Parallel()
	s, task := newTask(t)
	w := newLogWriter(s, task.ID, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.close()
	var worst time.Duration
	for i := range 20 {
		start := time.Now()
		w.infof("line %d", i)
		for {
			entries, err := s.TaskLog(context.Background(), task.ID, int64(i))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) == 1 {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatalf("line %d is not in the store after 1 s", i)
			}
			time.Sleep(time.Millisecond)
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("slowest line took %s to reach the store", worst)
}

// TestLogKeepsEveryLineInOrder logs from several goroutines at once, as a
// batch migrate does, and checks every line is stored once, each
// goroutine's in the order it logged them, and the status follows the
// levels.
func TestLogKeepsEveryLineInOrder(t *testing.T) {
	t.Parallel()
	s, task := newTask(t)
	w := newLogWriter(s, task.ID, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				w.infof("%d %d", g, i)
			}
		}()
	}
	wg.Wait()
	w.warnf("last")
	w.close()
	if got := w.status(); got != aegir.StatusWarning {
		t.Fatalf("status = %s, want warning", got)
	}
	entries, err := s.TaskLog(context.Background(), task.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2001 {
		t.Fatalf("%d entries stored, want 2001", len(entries))
	}
	next := map[int]int{}
	for _, e := range entries[:2000] {
		var g, i int
		if _, err := fmt.Sscanf(e.Message, "%d %d", &g, &i); err != nil {
			t.Fatal(err)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d came where %d was due", g, i, next[g])
		}
		next[g]++
	}
	if entries[2000].Message != "last" || entries[2000].Level != aegir.LevelWarning {
		t.Fatalf("last entry %+v", entries[2000])
	}
}
