package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

// event is one server-sent event.
type event struct {
	id, name, data string
}

// readEvents reads events from an SSE stream until it ends, sending each.
func readEvents(r io.Reader, out chan<- event) {
	defer close(out)
	sc := bufio.NewScanner(r)
	var e event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if e.name != "" || e.data != "" {
				out <- e
			}
			e = event{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			e.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			e.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			e.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func (b *bundle) stream(t *testing.T, path string, headers map[string]string) <-chan event {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", b.http.URL+path, nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+b.token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		data, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, data)
	}
	ch := make(chan event)
	go readEvents(resp.Body, ch)
	return ch
}

func next(t *testing.T, ch <-chan event) event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended early")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return event{}
}

func TestLogStreamFollowsTheTaskToItsEnd(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		ctx := t.Context()
		b.seed(t)
		a := b.do(t, "POST", "/api/sites", map[string]any{"uri": "example.com", "platform": "platform_wp"}).want(t, 201)
		id := int64(a.obj(t, "task")["id"].(float64))
		task := claimUntil(t, b.store, id)
		must(t, b.store.AppendTaskLog(ctx, id, aegir.LogEntry{Level: aegir.LevelInfo, Message: "line 1"}))

		events := b.stream(t, fmt.Sprintf("/api/tasks/%d/log", id), nil)
		e := next(t, events)
		if e.name != "log" || e.id != "1" || !strings.Contains(e.data, "line 1") {
			t.Fatalf("first event %+v", e)
		}
		// Lines appended while streaming arrive, in order.
		for i := 2; i <= 4; i++ {
			must(t, b.store.AppendTaskLog(ctx, id, aegir.LogEntry{Level: aegir.LevelInfo, Message: fmt.Sprintf("line %d", i)}))
			e := next(t, events)
			var entry aegir.TaskLogEntry
			must(t, json.Unmarshal([]byte(e.data), &entry))
			if e.name != "log" || entry.Seq != int64(i) || entry.Message != fmt.Sprintf("line %d", i) {
				t.Fatalf("event %+v", e)
			}
		}
		must(t, b.store.AppendTaskLog(ctx, id, aegir.LogEntry{Level: aegir.LevelSuccess, Message: "done"}))
		must(t, b.store.FinishTask(ctx, task.ID, aegir.StatusSuccess, map[string]any{"db_passwd": "s3cret", "db_name": "examplecom"}))
		e = next(t, events)
		if e.name != "log" || !strings.Contains(e.data, "done") {
			t.Fatalf("last line %+v", e)
		}
		e = next(t, events)
		var end struct {
			Status string     `json:"status"`
			Task   aegir.Task `json:"task"`
		}
		must(t, json.Unmarshal([]byte(e.data), &end))
		if e.name != "end" || end.Status != aegir.StatusSuccess || end.Task.ID != id {
			t.Fatalf("end event %+v", e)
		}
		if strings.Contains(e.data, "s3cret") || end.Task.Data["db_name"] != "examplecom" {
			t.Fatalf("end event data %s", e.data)
		}
		if _, ok := <-events; ok {
			t.Fatal("the stream goes on after the end event")
		}

		// A finished task's stream replays the log after Last-Event-ID and
		// ends at once.
		events = b.stream(t, fmt.Sprintf("/api/tasks/%d/log", id), map[string]string{"Last-Event-ID": "3"})
		var names []string
		for e := range events {
			names = append(names, e.name+e.id)
		}
		if !slices.Equal(names, []string{"log4", "log5", "end"}) {
			t.Fatalf("replay %v", names)
		}
		// GET with the log shows every line, and masks secret data.
		a = b.do(t, "GET", fmt.Sprintf("/api/tasks/%d", id), nil).want(t, 200)
		if n := len(a.body["log"].([]any)); n != 5 || strings.Contains(a.raw, "s3cret") {
			t.Fatalf("task with %d lines: %s", n, a.raw)
		}
		b.do(t, "GET", "/api/tasks/99999/log", nil).wantError(t, 404, "not_found", "")
	})
}

func TestLogStreamEndsOnClose(t *testing.T) {
	t.Parallel()
	b := newBundle(t, stores[0].open(t))
	b.seed(t)
	list, _, err := b.store.ListTasks(t.Context(), aegir.TaskFilter{})
	must(t, err)
	events := b.stream(t, fmt.Sprintf("/api/tasks/%d/log", list[0].ID), nil)
	b.srv.Close()
	select {
	case _, ok := <-events:
		if ok {
			t.Fatal("an event after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived Close")
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		b.do(t, "POST", "/api/sites", map[string]any{"uri": "example.com", "platform": "platform_wp"}).want(t, 201)
		start := time.Now().Add(-3 * time.Second)
		end := time.Now()
		b.srv.ObserveTask(&aegir.Task{Type: "install", Status: aegir.StatusSuccess, StartedAt: &start, FinishedAt: &end})
		// Off-site uploads: one that failed, one that went.
		b.srv.ObserveTask(&aegir.Task{Type: "backup", Status: aegir.StatusFailed, StartedAt: &start, FinishedAt: &end,
			Data: map[string]any{"offsite_target": "s3:http://s3.test/b", "offsite_error": "off-site target s3:http://s3.test/b: down"}})
		b.srv.ObserveTask(&aegir.Task{Type: "backup", Status: aegir.StatusSuccess, StartedAt: &start, FinishedAt: &end,
			Data: map[string]any{"offsite_target": "s3:http://s3.test/b", "offsite_snapshot": "4f1c2a9b"}})
		resp, err := http.Get(b.http.URL + "/metrics")
		must(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		must(t, err)
		text := string(data)
		for _, want := range []string{
			`aegir_tasks{status="queued",type="verify"} 2`,
			`aegir_tasks{status="queued",type="install"} 1`,
			`aegir_tasks{status="success",type="install"} 0`,
			`aegir_task_queue_depth 3`,
			`aegir_sites{status="installing"} 1`,
			`aegir_sites{status="enabled"} 0`,
			`aegir_task_duration_seconds_bucket{status="success",type="install",le="5"} 1`,
			`aegir_task_duration_seconds_count{status="success",type="install"} 1`,
			`aegir_offsite_failures_total{target="s3:http://s3.test/b",type="backup"} 1`,
			fmt.Sprintf(`aegir_offsite_last_upload_timestamp_seconds{target="s3:http://s3.test/b"} %s`, strconv.FormatFloat(float64(end.Unix()), 'g', -1, 64)),
			`go_goroutines`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if t.Failed() {
			t.Log(text)
		}
	})
}

// TestMetricsRegistryIsPerServer checks that two Servers in one process
// do not share metrics (no global registry).
func TestMetricsRegistryIsPerServer(t *testing.T) {
	t.Parallel()
	a, b := newBundle(t, stores[0].open(t)), newBundle(t, stores[0].open(t))
	start, end := time.Now().Add(-time.Second), time.Now()
	a.srv.ObserveTask(&aegir.Task{Type: "cron", Status: aegir.StatusSuccess, StartedAt: &start, FinishedAt: &end})
	rec := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), `type="cron"`) {
		t.Fatal("a task observed by one Server shows in another's metrics")
	}
}
