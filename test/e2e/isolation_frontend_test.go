package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// isolated is a front end with two clients, each with a site on a
// platform reserved to it, and a client user of each. It runs `aegir
// serve` alone, with null services, on platforms whose roots are empty
// directories: however the sites' installs end, their records stay, and
// they are all that isolation is about.
type isolated struct {
	f            *frontEnd
	siteA, siteB string
	taskB        string
	annToken     string
	annPassword  string
	platformB    string
}

func newIsolated(t *testing.T) *isolated {
	t.Helper()
	s := &stack{t: t, home: t.TempDir()}
	f := s.serve("")
	// Records are what this test is about: null services, so the server's
	// verify touches no web server (nor the system's nginx configuration).
	f.waitTaskEnd(f.must(201, "POST", "/api/servers", map[string]any{"name": "server_master", "http_port": 8080,
		"http_service_type": "null", "db_service_type": "null"}))
	for _, c := range []string{"acme", "beta"} {
		f.must(201, "POST", "/api/clients", map[string]any{"name": c})
	}
	in := &isolated{f: f, siteA: "a.acme.test", siteB: "b.beta.test", platformB: "platform_beta", annPassword: "ann's long password"}
	for _, p := range []struct{ name, client string }{{"platform_acme", "acme"}, {"platform_beta", "beta"}} {
		root := filepath.Join(s.home, "platforms", p.name)
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		f.waitTaskEnd(f.must(201, "POST", "/api/platforms", map[string]any{"name": p.name, "root": root, "clients": []string{p.client}}))
	}
	f.waitTaskEnd(f.must(201, "POST", "/api/sites", map[string]any{"uri": in.siteA, "platform": "platform_acme", "client": "acme"}))
	created := f.must(201, "POST", "/api/sites", map[string]any{"uri": in.siteB, "platform": "platform_beta", "client": "beta"})
	in.taskB = fmt.Sprint(created["task"].(map[string]any)["id"])
	f.waitTaskEnd(created)
	f.must(201, "POST", "/api/users", map[string]any{"name": "ann", "email": "ann@acme.test", "role": "client", "clients": []string{"acme"}, "password": in.annPassword})
	f.must(201, "POST", "/api/users", map[string]any{"name": "bob", "role": "client", "clients": []string{"beta"}})
	in.annToken = strings.TrimSpace(s.mustAegir("token", "create", "ann"))
	return in
}

// waitTaskEnd waits for the task of an answer to end, however it ends.
func (f *frontEnd) waitTaskEnd(answer map[string]any) {
	f.s.t.Helper()
	task, _ := answer["task"].(map[string]any)
	if task == nil {
		f.s.t.Fatalf("no task in %v", answer)
	}
	f.waitStatus(fmt.Sprint(task["id"]), "success", "warning", "failed", "cancelled")
}

// TestClientUserOfOneClientGetsNothingOfAnotherOnTheAPI runs the binary
// and asks its API, as ann of acme, for everything of beta: 404 each
// time, lists without it, and no task or site on beta's platform.
func TestClientUserOfOneClientGetsNothingOfAnotherOnTheAPI(t *testing.T) {
	in := newIsolated(t)
	ann := &frontEnd{s: in.f.s, base: in.f.base, token: in.annToken, out: in.f.out}
	for _, path := range []string{"/api/sites/" + in.siteB, "/api/sites/" + in.siteB + "/backups", "/api/tasks/" + in.taskB,
		"/api/tasks/" + in.taskB + "/log", "/api/platforms/" + in.platformB, "/api/clients/beta", "/api/users/bob"} {
		ann.must(http.StatusNotFound, "GET", path, nil)
	}
	ann.must(http.StatusNotFound, "POST", "/api/sites/"+in.siteB+"/tasks", map[string]any{"type": "install"})
	ann.must(http.StatusNotFound, "DELETE", "/api/sites/"+in.siteB, nil)
	if out := ann.must(http.StatusBadRequest, "POST", "/api/sites", map[string]any{"uri": "new.acme.test", "platform": in.platformB}); out["field"] != "platform" {
		t.Fatalf("a site on beta's platform: %v", out)
	}
	for path, key := range map[string]string{"/api/sites": "sites", "/api/tasks": "tasks", "/api/platforms": "platforms", "/api/clients": "clients"} {
		out := ann.must(200, "GET", path, nil)
		if list := fmt.Sprint(out[key]); strings.Contains(list, in.siteB) || strings.Contains(list, "beta") {
			t.Errorf("ann's %s shows beta's: %s", path, list)
		}
	}
	if list := fmt.Sprint(ann.must(200, "GET", "/api/sites", nil)["sites"]); !strings.Contains(list, in.siteA) {
		t.Errorf("ann's own site is not in her list: %s", list)
	}
	ann.must(http.StatusForbidden, "GET", "/api/users", nil)
	ann.must(http.StatusForbidden, "GET", "/api/servers", nil)
}

// TestClientUserOfOneClientGetsNothingOfAnotherInTheBrowser logs ann of
// acme in with chromium: beta's site page is a 404 page, and beta's
// objects are in none of her lists, menus or forms.
func TestClientUserOfOneClientGetsNothingOfAnotherInTheBrowser(t *testing.T) {
	in := newIsolated(t)
	b := newBrowser(t, in.f.base)
	b.login("ann", in.annPassword)
	for _, page := range []struct{ path, sel string }{
		{"/", "#sites-by-status"}, {"/sites", "#sites"}, {"/tasks", "#list"}, {"/platforms", "#platforms"},
		{"/clients", "#clients"}, {"/sites/new", "#site-form"},
	} {
		b.open(page.path, page.sel)
		html := evalIn[string](b, `document.documentElement.outerHTML`)
		for _, hidden := range []string{in.siteB, "beta", in.platformB} {
			if strings.Contains(html, hidden) {
				t.Errorf("ann's %s shows %s", page.path, hidden)
			}
		}
	}
	b.open("/sites", "#sites")
	if list := b.text("#sites"); !strings.Contains(list, in.siteA) {
		t.Errorf("ann's site is not in her list: %q", list)
	}
	for _, path := range []string{"/sites/" + in.siteB, "/tasks/" + in.taskB, "/platforms/" + in.platformB, "/sites/" + in.siteB + "/migrate"} {
		b.open(path, "#error-message")
		if msg := b.text("#error-message"); !strings.Contains(msg, "does not exist") {
			t.Errorf("%s: %q", path, msg)
		}
		if title := evalIn[string](b, `document.title`); !strings.HasPrefix(title, "Not found") {
			t.Errorf("%s: title %q", path, title)
		}
	}
	// The answer's status is 404 too, as for a page that does not exist.
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	for path, want := range map[string]int{"/sites/" + in.siteB: 404, "/sites/nosuch.acme.test": 404, "/sites/" + in.siteA: 200} {
		status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch(`+strconv.Quote(path)+`).then(r => r.status)`, chromedp.EvalAwaitPromise))
		if err != nil || status != want {
			t.Errorf("GET %s in ann's browser: %d (%v), want %d", path, status, err, want)
		}
	}
}
