package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// TestTaskTimesAndWaits: a running task is "running for", never "took";
// a queued task's page says what it waits for, from the queue: the task
// before it on its site, a platform-wide task of its platform (named
// without a link to those who may not open it), or a free worker.
func TestTaskTimesAndWaits(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ctx := t.Context()
	bob := w.login(t, "bob")
	admin := w.login(t, "admin")

	_, body, _ := bob.get(fmt.Sprintf("/tasks/%d", w.taskBQueued))
	if !strings.Contains(body, `<dd id="task-waiting">a free worker</dd>`) || !strings.Contains(body, `data-waiting="waiting for a free worker"`) {
		t.Errorf("a task nothing holds back:\n%s", body)
	}
	claimUntil(t, w.store, w.taskBQueued) // the verify runs
	queue := func(objType aegir.ContextType, object, typ string) int64 {
		task, err := w.svc.CreateTask(ctx, hosting.TaskRequest{ObjectType: objType, Object: object, Type: typ}, "admin")
		must(t, err)
		return task.ID
	}
	backup := queue(aegir.SiteContext, "b.example", aegir.TaskBackup)
	_, body, _ = bob.get(fmt.Sprintf("/tasks/%d", backup))
	want := fmt.Sprintf(`<a href="/tasks/%d">task #%d</a> (verify, processing) on this site`, w.taskBQueued, w.taskBQueued)
	if !strings.Contains(body, want) || !strings.Contains(body, fmt.Sprintf(`data-waiting="waiting for task #%d (verify, processing) on this site"`, w.taskBQueued)) {
		t.Errorf("a task behind another on its site lacks %s:\n%s", want, body)
	}
	if strings.Contains(body, "running for") || strings.Contains(body, "<dt>took</dt>") {
		t.Errorf("a queued task shows a time run:\n%s", body)
	}

	// The running verify, in the lists: "running for", and the queued
	// backup has no time at all.
	for _, path := range []string{"/tasks", "/sites/b.example", "/"} {
		_, body, _ = admin.get(path)
		if !regexp.MustCompile(fmt.Sprintf(`(?s)<a href="/tasks/%d">[^<]*verify</a>.*?running for [0-9.]+ ?m?s</td>`, w.taskBQueued)).MatchString(body) {
			t.Errorf("%s does not show the verify running:\n%s", path, body)
		}
	}
	_, body, _ = admin.get(fmt.Sprintf("/tasks/%d", w.taskBQueued))
	if !strings.Contains(body, "<dt>running for</dt>") || strings.Contains(body, "<dt>took</dt>") {
		t.Errorf("the running task's page:\n%s", body)
	}

	// A platform-wide task holds the sites of its platform: bob may not
	// open it, so it is named without a link.
	platform := queue(aegir.PlatformContext, "platform_a", aegir.TaskVerify)
	cron := queue(aegir.SiteContext, "a.example", aegir.TaskCron)
	_, body, _ = w.login(t, "ann").get(fmt.Sprintf("/tasks/%d", cron))
	want = fmt.Sprintf(`task #%d (verify, queued) on platform @platform_a, which holds every site of the platform while it runs`, platform)
	if !strings.Contains(body, want) || strings.Contains(body, fmt.Sprintf(`href="/tasks/%d"`, platform)) {
		t.Errorf("ann's task behind the platform's lacks %s:\n%s", want, body)
	}
}

// TestCancelAsksFirstWithOrWithoutScript: the cancel button's form asks
// by script (data-confirm, then confirmed=1); a post without confirmed=1,
// as a browser without script sends, gets a page that asks, and only its
// answer cancels.
func TestCancelAsksFirstWithOrWithoutScript(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	bob := w.login(t, "bob")
	path := fmt.Sprintf("/tasks/%d", w.taskBQueued)
	_, body, _ := bob.get(path)
	form := regexp.MustCompile(`<form method="post" action="` + path + `/cancel" data-confirm="[^"]+">\s*<input type="hidden" name="confirmed" value="">`)
	if !form.MatchString(body) {
		t.Fatalf("the cancel button does not ask first:\n%s", body)
	}
	status, body, _ := bob.post(path+"/cancel", url.Values{})
	if status != http.StatusOK || !strings.Contains(body, `id="confirm-yes"`) || !strings.Contains(body, `name="confirmed" value="1"`) ||
		!strings.Contains(body, `action="`+path+`/cancel"`) || !strings.Contains(body, `href="`+path+`" id="confirm-no"`) {
		t.Fatalf("a cancel without confirmation: %d\n%s", status, body)
	}
	if task, err := w.store.GetTask(t.Context(), w.taskBQueued); err != nil || task.Status != aegir.StatusQueued {
		t.Fatalf("the unconfirmed cancel cancelled: %+v %v", task, err)
	}
	status, _, loc := bob.post(path+"/cancel", url.Values{"confirmed": {"1"}})
	if status != http.StatusSeeOther || loc != path {
		t.Fatalf("the confirmed cancel: %d %s", status, loc)
	}
	if task, err := w.store.GetTask(t.Context(), w.taskBQueued); err != nil || task.Status != aegir.StatusCancelled {
		t.Fatalf("after the confirmed cancel: %+v %v", task, err)
	}
}
