package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// TestClientUsersSeeNoPathsOnServers: a client user sees no path on a
// server, in the UI or the API: not a platform's root, not a backup's
// path (its file name, which restore takes), not the paths in a task's
// arguments, result or log (file names there, after "…/"). An
// administrator sees them all.
func TestClientUsersSeeNoPathsOnServers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ctx := t.Context()
	const backup = "/var/aegir/backups/a.example-20250101.000000.tar.gz"
	must(t, w.store.AddBackup(ctx, &aegir.Backup{Site: "a.example", File: backup, Size: 2000}))
	restore, err := w.svc.CreateTask(ctx, hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: "a.example", Type: aegir.TaskRestore,
		Args: map[string]string{"file": "a.example-20250101.000000.tar.gz"}}, "ann")
	must(t, err)
	if restore.Args["file"] != backup {
		t.Fatalf("the task's argument is %q, want the backup's path", restore.Args["file"])
	}
	claimUntil(t, w.store, restore.ID)
	must(t, w.store.AppendTaskLog(ctx, restore.ID, aegir.LogEntry{Level: aegir.LevelInfo,
		Message: "Safety backup written to /var/aegir/backups/a.example-20250102.000000.tar.gz (site dir=/var/aegir/platforms/platform_a/sites/a.example); see http://a.example/user"}))
	must(t, w.store.FinishTask(ctx, restore.ID, aegir.StatusSuccess, map[string]any{"backup_file": "/var/aegir/backups/a.example-20250102.000000.tar.gz",
		"deleted": []any{backup}, "url": "http://a.example/"}))
	task := fmt.Sprint(restore.ID)

	apiPaths := []string{"/api/platforms/platform_a", "/api/platforms", "/api/sites/a.example/backups", "/api/tasks/" + task, "/api/tasks"}
	pages := []string{"/platforms", "/platforms/platform_a", "/sites/a.example", "/sites/a.example/restore", "/tasks/" + task}
	ann := w.login(t, "ann")
	for _, path := range apiPaths {
		if a := w.as(t, "ann", "GET", path, nil).want(t, 200); strings.Contains(a.raw, "/var/aegir") {
			t.Errorf("ann's API %s shows a path:\n%s", path, a.raw)
		}
	}
	for _, path := range pages {
		if _, body, _ := ann.get(path); strings.Contains(strings.ReplaceAll(body, "<wbr>", ""), "/var/aegir") {
			t.Errorf("ann's page %s shows a path:\n%s", path, body)
		}
	}
	// What she sees instead: file names, and the rest of the line.
	a := w.as(t, "ann", "GET", "/api/tasks/"+task, nil)
	for _, want := range []string{`"file": "a.example-20250101.000000.tar.gz"`, `"backup_file": "a.example-20250102.000000.tar.gz"`,
		"written to …/a.example-20250102.000000.tar.gz (site dir=…/a.example); see http://a.example/user", `"url": "http://a.example/"`} {
		if !strings.Contains(a.raw, want) {
			t.Errorf("ann's task lacks %s:\n%s", want, a.raw)
		}
	}
	if strings.Contains(a.raw, "test/0") {
		t.Errorf("ann's task names the dispatcher that ran it:\n%s", a.raw)
	}
	if b := w.as(t, "ann", "GET", "/api/sites/a.example/backups", nil); !strings.Contains(b.raw, `"file": "a.example-20250101.000000.tar.gz"`) {
		t.Errorf("ann's backups:\n%s", b.raw)
	}
	if p := w.as(t, "ann", "GET", "/api/platforms/platform_a", nil).obj(t, "platform"); p["root"] != nil {
		t.Errorf("ann's platform has a root: %v", p)
	}
	// The live log too.
	req := w.stream(t, "/api/tasks/"+task+"/log", map[string]string{"Authorization": "Bearer " + w.tokens["ann"]})
	if e := next(t, req); e.name != "log" || strings.Contains(e.data, "/var/aegir") || !strings.Contains(e.data, "…/a.example") {
		t.Errorf("ann's live log: %+v", e)
	}
	// The restore form offers the backups by name, and restores by it.
	_, body, _ := ann.get("/sites/a.example/restore")
	if !strings.Contains(body, `value="a.example-20250101.000000.tar.gz"`) {
		t.Errorf("ann's restore form:\n%s", body)
	}

	admin := w.login(t, "admin")
	for _, path := range apiPaths {
		if a := w.do(t, "GET", path, nil).want(t, 200); !strings.Contains(a.raw, "/var/aegir") {
			t.Errorf("the administrator's API %s shows no path:\n%s", path, a.raw)
		}
	}
	if a := w.do(t, "GET", "/api/tasks/"+task, nil); !strings.Contains(a.raw, `"worker": "test/0"`) {
		t.Errorf("the administrator's task does not name its dispatcher:\n%s", a.raw)
	}
	for _, path := range pages {
		if path == "/sites/a.example/restore" {
			continue // it offers backups by name to everyone
		}
		if _, body, _ := admin.get(path); !strings.Contains(strings.ReplaceAll(body, "<wbr>", ""), "/var/aegir") {
			t.Errorf("the administrator's page %s shows no path", path)
		}
	}
}
