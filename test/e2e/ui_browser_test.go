package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which `make test` installs.
const chromiumPath = "/usr/bin/chromium"

// browser drives a headless chromium through the UI of a front end. A
// test that fails saves a screenshot of the page it was on.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// screenshotDir is where failing browser tests save their screenshots:
// $AEGIR_SCREENSHOTS, or aegir-screenshots under the system's temp dir (a
// test's own temp dir is removed when it ends, and the picture with it).
func screenshotDir() string {
	if d := os.Getenv("AEGIR_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "aegir-screenshots")
}

// newBrowser starts chromium headless on a fresh profile. Names ending in
// .test resolve to this machine, so the browser reaches the stack's sites.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("%s is not installed: run make test, which installs chromium", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx, base: base}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	t.Cleanup(b.screenshotIfFailed) // runs first: cleanups run last-in first-out
	return b
}

// screenshotIfFailed saves the page of a failed test and logs where.
func (b *browser) screenshotIfFailed() {
	if !b.t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	dir := screenshotDir()
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(b.t.Name(), "_")
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.png", name, time.Now().Format("20060102-150405")))
	err = os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		b.t.Logf("saving the screenshot: %v", err)
		return
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	b.t.Logf("screenshot of %s saved to %s", loc, path)
}

// do runs steps with a deadline; a failure stops the test.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// waitUntil evaluates a JavaScript expression until it is true. Unlike a
// wait for a selector it cannot be satisfied by the page a click is
// leaving: the expression names what only the next page holds, and an
// evaluation that fails while the page changes is tried again.
func (b *browser) waitUntil(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	b.t.Fatalf("%s (at %s): %s never held (last error: %v)", what, loc, expr, lastErr)
}

// open navigates to a path of the front end and waits for sel.
func (b *browser) open(path, sel string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// text returns the text of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression.
func evalIn[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// fill types values into the inputs named by their ids.
func (b *browser) fill(values map[string]string) {
	b.t.Helper()
	for id, v := range values {
		b.do("fill #"+id, chromedp.SetValue(chromedp.CSS("#"+id), v))
	}
}

// choose selects an option and fires the change event, as a user does
// (htmx listens to it).
func (b *browser) choose(id, value string) {
	b.t.Helper()
	b.do("choose "+value+" in #"+id, chromedp.SetValue(chromedp.CSS("#"+id), value),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).dispatchEvent(new Event("change", {bubbles: true}))`, id)))
}

// login logs in with a password and lands on the dashboard.
func (b *browser) login(name, password string) {
	b.t.Helper()
	b.open("/login", "#login-form")
	b.fill(map[string]string{"name": name, "password": password})
	b.do("log in", chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#logout")))
}

// waitTask follows the task page the browser is on until the task ends:
// it must be live when the page loaded (the log arrives by server-sent
// events), end with success, and show its final status without a reload.
// It returns the task's id.
func (b *browser) waitTask(what string) string {
	b.t.Helper()
	b.waitUntil("task page of "+what, `location.pathname.startsWith("/tasks/") && document.getElementById("task-summary") !== null`)
	id := evalIn[string](b, `document.getElementById("task").dataset.task`)
	live := evalIn[bool](b, `window.aegirPage = "`+id+`"; document.getElementById("task").dataset.live === "1"`)
	deadline := time.Now().Add(90 * time.Second)
	status := ""
	for time.Now().Before(deadline) {
		status = evalIn[string](b, `(document.getElementById("task-summary") || {dataset: {}}).dataset.status || ""`)
		if status != "queued" && status != "processing" && status != "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status != "success" && status != "warning" {
		b.t.Fatalf("%s: task %s ended %q; log:\n%s", what, id, status, b.text("#log"))
	}
	if evalIn[string](b, `window.aegirPage || ""`) != id {
		b.t.Fatalf("%s: the page reloaded to show the final status", what)
	}
	if live && evalIn[int](b, `document.querySelectorAll("#log li").length`) == 0 {
		b.t.Fatalf("%s: no log line arrived", what)
	}
	b.t.Logf("%s: task %s %s (followed live: %v)", what, id, status, live)
	return id
}

// TestBrowserRunsTheSiteLifecycle drives the UI in chromium: log in, add
// a WordPress platform and a site, watch the install's log live to
// success, open the site, back it up and see the backup listed, migrate
// it to a second platform with the package report on screen, log out.
func TestBrowserRunsTheSiteLifecycle(t *testing.T) {
	start := time.Now()
	s := newStack(t)
	s.setup()
	s.mustAegir("hosting-import", "@server_master")
	f := s.serve("")
	roots := map[string]string{}
	for _, name := range []string{"wp", "wpnew"} {
		roots[name] = filepath.Join(s.home, "platforms", name)
		if err := teststack.CopyTree("/usr/share/wordpress", roots[name]); err != nil {
			t.Fatal(err)
		}
	}
	// The second platform comes by the API, to keep the test short.
	f.waitTask(f.must(201, "POST", "/api/platforms", map[string]any{"name": "platform_wpnew", "root": roots["wpnew"]}))

	// The administrator sets a password through a one-time link.
	link := strings.TrimSpace(s.mustAegir("user", "login-link", "admin", "--url", f.base))
	b := newBrowser(t, f.base)
	b.open(strings.TrimPrefix(link, f.base), "#use-link")
	b.do("use the login link", chromedp.Click(chromedp.CSS("#use-link")), chromedp.WaitVisible(chromedp.CSS("#account-form")))
	const password = "a browser's password"
	b.fill(map[string]string{"password": password, "confirm": password})
	// The page of the login link has a flash of its own: wait for the one
	// the save brings.
	b.do("set a password", chromedp.Click(chromedp.CSS("#save-account")))
	b.waitUntil("the account saved", `(document.getElementById("flash") || {textContent: ""}).textContent.includes("Your account is saved")`)
	b.do("log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.login("admin", password)

	// A WordPress platform.
	b.open("/platforms/new", "#platform-form")
	b.fill(map[string]string{"name": "platform_wp", "root": roots["wp"]})
	b.do("add the platform", chromedp.Click(chromedp.CSS("#save")))
	b.waitTask("verify of the platform")
	b.open("/platforms/platform_wp", "#platform-sites")
	if sub := b.text(".sub"); !strings.Contains(sub, "wordpress") {
		t.Fatalf("the platform's verify did not find WordPress: %q", sub)
	}

	// A site on it; its install's log comes live.
	uri := "ui." + s.token + ".test"
	b.open("/sites/new", "#site-form")
	b.choose("platform", "platform_wp")
	b.do("profiles of the platform", chromedp.WaitReady(chromedp.CSS(`#profile option[value="standard"]`)))
	b.fill(map[string]string{"uri": uri})
	b.do("add the site", chromedp.Click(chromedp.CSS("#save")))
	b.waitTask("install")
	b.do("login link of the install", chromedp.WaitVisible(chromedp.CSS("#login-link")))

	// The site serves, in the browser.
	b.open("/sites/"+uri, "#site-url")
	siteURL := evalIn[string](b, `document.getElementById("site-url").href`)
	if siteURL != s.url(uri, "/") {
		t.Fatalf("the site's link is %q, want %q", siteURL, s.url(uri, "/"))
	}
	b.do("open the site", chromedp.Navigate(siteURL), chromedp.WaitReady(chromedp.CSS("body")))
	if html := evalIn[string](b, `document.documentElement.outerHTML`); !strings.Contains(html, "wp-content") {
		t.Fatalf("the site's page is not WordPress's:\n%.500s", html)
	}

	// A backup, listed on the site's page.
	b.open("/sites/"+uri, "#task-buttons")
	b.do("back up", chromedp.Click(chromedp.CSS(`button[data-task="backup"]`)))
	b.waitTask("backup")
	b.open("/sites/"+uri, "#backups")
	if backups := b.text("#backups"); !strings.Contains(backups, uri+"-") || !strings.Contains(backups, ".tar.") {
		t.Fatalf("the backup is not listed: %q", backups)
	}

	// Migrate, with the package report of the target on screen first.
	b.do("open the migrate form", chromedp.Click(chromedp.CSS(`a[data-task="migrate"]`)), chromedp.WaitVisible(chromedp.CSS("#migrate-form")))
	b.choose("platform", "platform_wpnew")
	b.do("the package report", chromedp.WaitVisible(chromedp.CSS("#package-report")))
	// htmx swaps the report in after the choice: read it once it is there.
	report := b.text("#report")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(report, "platform_wpnew") && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		report = b.text("#report")
	}
	if !strings.Contains(report, "platform_wpnew") || strings.Contains(report, "blocked") {
		t.Fatalf("package report: %q", report)
	}
	t.Logf("package report: %s", strings.Join(strings.Fields(report), " "))
	b.do("migrate", chromedp.Click(chromedp.CSS("#save")))
	b.waitTask("migrate")
	b.open("/sites/"+uri, "#site-platform")
	if p := b.text("#site-platform"); p != "@platform_wpnew" {
		t.Fatalf("the site is on %s after the migrate", p)
	}
	s.mustServe(s.url(uri, "/"), "wp-content")

	// The dashboard counts it all; then log out.
	b.open("/", "#throughput")
	if svg := evalIn[int](b, `document.querySelectorAll("#throughput svg rect.bar").length`); svg == 0 {
		t.Fatal("the dashboard has no chart")
	}
	saveDocScreenshots(t, b, uri)
	b.do("log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.open("/sites", "#login-form") // the session is gone
	t.Logf("the browser test took %s", time.Since(start).Round(time.Millisecond))
}

// layoutJS finds what sticks out on the page in a browser: the page wider
// than the window, a table outside a scroll box or whose box sticks out
// of its card, and with %v true (a desktop window) a table cut at all,
// that is wider than its box. It returns the faults, one a line.
const layoutJS = `(() => {
  const desktop = %v, out = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw) {
    out.push("the page is " + document.documentElement.scrollWidth + "px wide in a " + vw + "px window");
  }
  for (const t of document.querySelectorAll("main table")) {
    const name = "table " + (t.id || t.className) + " in " + (t.closest("[id]") || {id: "?"}).id;
    const box = t.closest(".scroll");
    if (!box) {
      out.push(name + " is in no scroll box");
      continue;
    }
    const card = t.closest(".card") || document.querySelector("main");
    const b = box.getBoundingClientRect(), c = card.getBoundingClientRect();
    if (b.right > c.right + 1 || b.left < c.left - 1) {
      out.push(name + ": its box (" + Math.round(b.left) + "-" + Math.round(b.right) + ") sticks out of its card (" + Math.round(c.left) + "-" + Math.round(c.right) + ")");
    }
    if (desktop && t.scrollWidth > card.clientWidth) {
      out.push(name + " is cut: " + t.scrollWidth + "px in a card of " + card.clientWidth + "px");
    }
  }
  return out.join("\n");
})()`

// TestBrowserTablesFitTheirCards lays the pages out in chromium, with
// long names in every list, at a desktop's width and a phone's: at the
// desktop's, every table fits its card (no column cut off); at the
// phone's, the page is no wider than the window and a wide table scrolls
// sideways inside its card. It runs `aegir serve` alone, with null
// services: only the records matter.
func TestBrowserTablesFitTheirCards(t *testing.T) {
	s := &stack{t: t, home: t.TempDir()}
	f := s.serve("")
	f.waitTaskEnd(f.must(201, "POST", "/api/servers", map[string]any{"name": "server_master", "http_port": 8080,
		"http_service_type": "null", "db_service_type": "null"}))
	f.must(201, "POST", "/api/clients", map[string]any{"name": "acme", "title": "Acme Corporation International Holdings"})
	const platform = "platform_a_rather_long_platform_name_for_wordpress"
	root := filepath.Join(s.home, "platforms", "a_rather_long_directory_name_for_the_wordpress_codebase")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	f.waitTaskEnd(f.must(201, "POST", "/api/platforms", map[string]any{"name": platform, "root": root}))
	// A platform whose source cannot be built: a failed task on the
	// dashboard, with a long name.
	f.waitTaskEnd(f.must(201, "POST", "/api/platforms", map[string]any{"name": "platform_built_from_a_source_that_is_not_there",
		"root": filepath.Join(s.home, "platforms", "unbuilt"), "makefile": "/nonexistent/source-of-the-codebase.tar.gz"}))
	var site string
	for i := range 4 {
		site = fmt.Sprintf("site-number-%d.a-rather-long-domain-name.example.test", i)
		f.waitTaskEnd(f.must(201, "POST", "/api/sites", map[string]any{"uri": site, "platform": platform, "client": "acme"}))
	}

	link := strings.TrimSpace(s.mustAegir("user", "login-link", "admin", "--url", f.base))
	b := newBrowser(t, f.base)
	b.open(strings.TrimPrefix(link, f.base), "#use-link")
	b.do("use the login link", chromedp.Click(chromedp.CSS("#use-link")), chromedp.WaitVisible(chromedp.CSS("#account-form")))
	pages := []string{"/", "/sites", "/platforms", "/tasks", "/servers", "/clients", "/users", "/audit", "/account", "/notifications",
		"/sites/" + site, "/platforms/" + platform, "/clients/acme", "/sites/new", "/sites/" + site + "/edit"}
	for _, size := range []struct {
		name          string
		width, height int64
		desktop       bool
	}{{"desktop", 1280, 900, true}, {"phone", 375, 812, false}} {
		b.do("a "+size.name+"'s window", chromedp.EmulateViewport(size.width, size.height))
		for _, path := range pages {
			b.open(path, "main")
			if faults := evalIn[string](b, fmt.Sprintf(layoutJS, size.desktop)); faults != "" {
				t.Errorf("%s at a %s's width (%dpx):\n%s", path, size.name, size.width, faults)
			}
		}
	}
	// The dashboard's cards did hold tasks on long names.
	b.do("a desktop's window", chromedp.EmulateViewport(1280, 900))
	b.open("/", "#failed")
	if failed := b.text("#failed"); !strings.Contains(failed, "platform_built_from_a_source") {
		t.Errorf("the dashboard's failed tasks: %q", failed)
	}

	// The user's own alerts, chosen on the notifications page.
	b.open("/notifications", "#alerts-form")
	b.do("choose alerts", chromedp.Click(chromedp.CSS(`input[name="events"][value="site_down"]`)),
		chromedp.SetValue(chromedp.CSS("#webhook_url"), "https://hooks.example.test/aegir"),
		chromedp.SetValue(chromedp.CSS("#webhook_secret"), "a-browser-webhook-secret"),
		chromedp.Click(chromedp.CSS("#save-alerts")), chromedp.WaitVisible(chromedp.CSS("#alerts-saved")))
	if checked := evalIn[bool](b, `document.querySelector('input[name="events"][value="site_down"]').checked`); !checked {
		t.Error("the saved alerts do not show site_down chosen")
	}
	if _, out := f.call("GET", "/api/me/alerts", nil); fmt.Sprint(out["alerts"]) == "" || !strings.Contains(fmt.Sprint(out["alerts"]), "webhook_secret_set:true") {
		t.Errorf("the API's alerts after the form: %v", out)
	}
}

// saveDocScreenshots saves the main pages as pictures when
// $AEGIR_DOC_SCREENSHOTS names a directory (docs/screenshots).
func saveDocScreenshots(t *testing.T, b *browser, uri string) {
	dir := os.Getenv("AEGIR_DOC_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, page := range map[string]struct{ path, sel string }{
		"dashboard": {"/", "#throughput"}, "sites": {"/sites", "#sites"}, "site": {"/sites/" + uri, "#backups"},
		"migrate": {"/sites/" + uri + "/migrate?platform=platform_wp", "#package-report"}, "tasks": {"/tasks", "#list"},
		"platforms": {"/platforms", "#platforms"}, "task": {"/tasks/1", "#log"},
	} {
		b.open(page.path, page.sel)
		ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
