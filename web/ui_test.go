package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/aegir-hosting/aegir/sqlite"
)

// sessionCookieOf returns the session cookie a response set, or nil.
func sessionCookieOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

// postLogin posts the login form without a cookie jar and returns the
// answer.
func postLogin(t *testing.T, base, user, password string, cookie *http.Cookie) *http.Response {
	t.Helper()
	form := url.Values{"name": {user}, "password": {password}, "next": {"/sites"}}
	req, err := http.NewRequestWithContext(t.Context(), "POST", base+"/login", strings.NewReader(form.Encode()))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	must(t, err)
	resp.Body.Close()
	return resp
}

func TestLoginStartsASecureSessionOnANewToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	resp := postLogin(t, w.http.URL, "ann", testPassword, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sites" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	first := sessionCookieOf(resp)
	if first == nil || !first.HttpOnly || first.SameSite != http.SameSiteLaxMode || first.Path != "/" || first.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP", first)
	}
	// A login on a session that exists (one an attacker could have set)
	// moves it to a new token; the old token is worth nothing.
	again := sessionCookieOf(postLogin(t, w.http.URL, "ann", testPassword, first))
	if again == nil || again.Value == first.Value {
		t.Fatalf("the session token was not renewed at login: %v", again)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", w.http.URL+"/api/me", nil)
	req.AddCookie(first)
	old, err := http.DefaultClient.Do(req)
	must(t, err)
	old.Body.Close()
	if old.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the token from before the login still works: %d", old.StatusCode)
	}
	// The database holds no usable token.
	if _, found, err := w.store.FindSession(t.Context(), again.Value); err != nil || found {
		t.Fatalf("the store holds the session token in clear: %v %v", found, err)
	}

	// Over TLS, or when told so, the cookie is Secure.
	tls := httptest.NewTLSServer(w.srv.Handler())
	defer tls.Close()
	form := url.Values{"name": {"ann"}, "password": {testPassword}}
	c := tls.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = c.PostForm(tls.URL+"/login", form)
	must(t, err)
	resp.Body.Close()
	if ck := sessionCookieOf(resp); ck == nil || !ck.Secure {
		t.Fatalf("session cookie over TLS: %+v", ck)
	}
	secure := &Server{Service: w.svc, Store: w.store, SecureCookies: true}
	h := httptest.NewServer(secure.Handler())
	defer h.Close()
	if ck := sessionCookieOf(postLogin(t, h.URL, "ann", testPassword, nil)); ck == nil || !ck.Secure {
		t.Fatalf("session cookie with SecureCookies: %+v", ck)
	}
}

func TestLoginIsRateLimitedPerUserAndAddress(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	br := w.browser(t)
	for i := range DefaultLoginLimit.PerUser {
		status, body, _ := br.post("/login", url.Values{"name": {"ann"}, "password": {fmt.Sprintf("guess %d", i)}})
		if status != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password") || !strings.Contains(body, `value="ann"`) {
			t.Fatalf("failed login %d: %d %s", i, status, body)
		}
	}
	status, body, _ := br.post("/login", url.Values{"name": {"ann"}, "password": {testPassword}})
	if status != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed logins") {
		t.Fatalf("login after %d failures: %d", DefaultLoginLimit.PerUser, status)
	}
	// Other users are not locked out by ann's attacker until the address
	// itself is over its limit.
	w.login(t, "bob")
	for i := DefaultLoginLimit.PerUser; i < DefaultLoginLimit.PerAddress; i++ {
		br.post("/login", url.Values{"name": {fmt.Sprintf("user%d", i)}, "password": {"guess"}})
	}
	if status, _, _ := br.post("/login", url.Values{"name": {"bob"}, "password": {testPassword}}); status != http.StatusTooManyRequests {
		t.Fatalf("login from an address over its limit: %d", status)
	}
	// The attempts are in the audit log.
	list, _, err := w.store.ListAudit(t.Context(), aegir.AuditFilter{Object: "user:ann", PerPage: 100})
	must(t, err)
	failed := 0
	for _, e := range list {
		if e.Action == "login.failed" && e.Address == "127.0.0.1" {
			failed++
		}
	}
	if failed != DefaultLoginLimit.PerUser {
		t.Fatalf("%d failed logins audited, want %d", failed, DefaultLoginLimit.PerUser)
	}
}

func TestLimiterForgetsAndStaysBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := newLoginLimiter(LoginLimit{PerAddress: 3, PerUser: 2, Window: time.Minute, Keys: 5})
	l.now = func() time.Time { return now }
	l.fail("1.1.1.1", "ann")
	l.fail("1.1.1.1", "ann")
	if blocked, wait := l.blocked("2.2.2.2", "ann"); !blocked || wait != time.Minute {
		t.Fatalf("ann after 2 failures: %v %v", blocked, wait)
	}
	now = now.Add(time.Minute)
	if blocked, _ := l.blocked("2.2.2.2", "ann"); blocked {
		t.Fatal("ann still blocked after the window")
	}
	for i := range 100 {
		l.fail(fmt.Sprintf("10.0.0.%d", i), fmt.Sprintf("user%d", i))
	}
	if len(l.addrs) > 5 || len(l.users) > 5 {
		t.Fatalf("the limiter holds %d addresses and %d users, more than its 5 keys", len(l.addrs), len(l.users))
	}
}

func TestLogoutAndPasswordChangeEndSessions(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	a, b := w.login(t, "bob"), w.login(t, "bob")
	if status, _, _ := a.get("/"); status != http.StatusOK {
		t.Fatalf("dashboard: %d", status)
	}
	// A new password needs the current one.
	status, body, _ := a.post("/account", url.Values{"email": {""}, "current": {"wrong"}, "password": {"another long password"}, "confirm": {"another long password"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "is not your current password") {
		t.Fatalf("password change with a wrong current one: %d", status)
	}
	status, _, _ = a.post("/account", url.Values{"email": {"bob@beta.example"}, "current": {testPassword}, "password": {"another long password"}, "confirm": {"another long password"}})
	if status != http.StatusSeeOther {
		t.Fatalf("password change: %d", status)
	}
	// The session that changed it goes on; the other one ended.
	if status, _, _ := a.get("/account"); status != http.StatusOK {
		t.Fatalf("own session after the change: %d", status)
	}
	if status, _, loc := b.get("/"); status != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("other session after the change: %d to %q", status, loc)
	}
	if status, _, loc := a.post("/logout", url.Values{}); status != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("logout: %d to %q", status, loc)
	}
	if status, _, _ := a.get("/"); status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", status)
	}
	// A disabled user's session ends at once.
	c := w.login(t, "ann")
	_, err := w.svc.UpdateUser(t.Context(), hosting.Actor{Name: "admin"}, "ann", hosting.UserInput{Disabled: ptr(true)})
	must(t, err)
	if status, _, _ := c.get("/"); status != http.StatusSeeOther {
		t.Fatalf("disabled user's session: %d", status)
	}
}

func TestLoginLinkWorksOnceAndLeadsToSettingAPassword(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	_, err := w.svc.CreateUser(t.Context(), hosting.Actor{Name: "admin"}, hosting.UserInput{Name: "carl", Role: ptr(aegir.RoleClient), Clients: &[]string{"acme"}})
	must(t, err)
	secret, _, err := w.svc.NewLoginLink(t.Context(), hosting.Actor{}, "carl", 0)
	must(t, err)
	br := w.browser(t)
	// Fetching the link (a mail scanner) does not spend it.
	for range 2 {
		if status, body, _ := br.get("/login/link/" + secret); status != http.StatusOK || !strings.Contains(body, `id="use-link"`) {
			t.Fatalf("link page: %d", status)
		}
	}
	status, _, loc := br.post("/login/link/"+secret, url.Values{})
	if status != http.StatusSeeOther || loc != "/account" {
		t.Fatalf("using the link: %d to %q", status, loc)
	}
	status, body, _ := br.get("/account")
	if status != http.StatusOK || !strings.Contains(body, "Set a password") {
		t.Fatalf("account page after the link: %d", status)
	}
	status, _, _ = br.post("/account", url.Values{"password": {"carl's new password"}, "confirm": {"carl's new password"}})
	if status != http.StatusSeeOther {
		t.Fatalf("setting the password: %d", status)
	}
	if status, _, _ := w.browser(t).post("/login/link/"+secret, url.Values{}); status != http.StatusUnauthorized {
		t.Fatalf("a used link: %d", status)
	}
	if status, _, _ := w.browser(t).post("/login", url.Values{"name": {"carl"}, "password": {"carl's new password"}}); status != http.StatusSeeOther {
		t.Fatalf("login with the new password: %d", status)
	}
}

func TestCrossOriginFormPostsAreRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	br := w.login(t, "bob")
	for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", w.http.URL+"/sites/b.example/tasks", strings.NewReader("type=backup"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := br.c.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-origin post %v: %d", h, resp.StatusCode)
		}
	}
	// The same post from the page itself queues the backup.
	status, _, loc := br.post("/sites/b.example/tasks", url.Values{"type": {"backup"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/tasks/") {
		t.Fatalf("same-origin post: %d to %q", status, loc)
	}
}

func TestFormsKeepInputAndShowFieldErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	br := w.login(t, "admin")
	status, body, _ := br.post("/sites", url.Values{"uri": {"<b>Bad Name</b>"}, "platform": {"platform_open"}, "aliases": {"www.typed.example"}, "language": {"de"}})
	if status != http.StatusBadRequest {
		t.Fatalf("bad site: %d", status)
	}
	for _, want := range []string{`value="&lt;b&gt;Bad Name&lt;/b&gt;"`, `value="www.typed.example"`, `value="de"`, `class="field-error"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<b>Bad Name</b>") {
		t.Fatal("the typed value is not escaped")
	}
	// An error of another field lands next to that field.
	status, body, _ = br.post("/sites", url.Values{"uri": {"a.example"}, "platform": {"platform_open"}})
	if status != http.StatusConflict || !strings.Contains(body, "field-error") {
		t.Fatalf("taken uri: %d", status)
	}
	// A client user sees the reserved platform as missing.
	bob := w.login(t, "bob")
	status, body, _ = bob.post("/sites", url.Values{"uri": {"c.example"}, "platform": {"platform_a"}, "client": {"beta"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "platform @platform_a does not exist") {
		t.Fatalf("bob on acme's platform: %d %s", status, body)
	}
	// The platform list of the form holds only the platforms bob may use.
	_, body, _ = bob.get("/sites/new")
	if !strings.Contains(body, "platform_b") || !strings.Contains(body, "platform_open") || strings.Contains(body, "platform_a") {
		t.Fatalf("bob's platforms:\n%s", body)
	}
}

func TestPagesShowNoInternalErrors(t *testing.T) {
	t.Parallel()
	store := stores[0].open(t)
	w := newWorld(t, newBundle(t, store))
	broken := brokenStore{store}
	logs := &syncBuffer{}
	srv := &Server{Service: &hosting.Service{Store: broken}, Store: broken, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	h := httptest.NewServer(srv.Handler())
	defer h.Close()
	w.http = h
	br := w.login(t, "admin")
	status, body, _ := br.get("/servers")
	if status != http.StatusInternalServerError || strings.Contains(body, "aegir_secret_user") || strings.Contains(body, "goroutine") {
		t.Fatalf("broken page: %d %s", status, body)
	}
	if !strings.Contains(logs.String(), "aegir_secret_user") {
		t.Fatal("the internal error was not logged")
	}
	if status, body, _ := br.get("/no/such/page"); status != http.StatusNotFound || !strings.Contains(body, "<html") {
		t.Fatalf("unknown page: %d %s", status, body)
	}
}

func TestClientUserPagesShowOnlyTheirSites(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ann := w.login(t, "ann")
	for _, path := range []string{"/", "/sites", "/tasks", "/platforms", "/clients", "/sites?q=example"} {
		status, body, _ := ann.get(path)
		if status != http.StatusOK {
			t.Fatalf("ann GET %s: %d", path, status)
		}
		for _, hidden := range []string{"b.example", "beta", "platform_b", "server_master"} {
			if strings.Contains(body, hidden) {
				t.Errorf("ann's %s shows %s", path, hidden)
			}
		}
	}
	if _, body, _ := ann.get("/sites"); !strings.Contains(body, "a.example") {
		t.Fatal("ann's site is not in her list")
	}
	for _, path := range []string{"/sites/b.example", "/sites/b.example/migrate", fmt.Sprintf("/tasks/%d", w.taskB), "/clients/beta", "/platforms/platform_b"} {
		if status, body, _ := ann.get(path); status != http.StatusNotFound || !strings.Contains(body, "does not exist") {
			t.Errorf("ann GET %s: %d", path, status)
		}
	}
	// The menu offers only what the role may list.
	_, body, _ := ann.get("/")
	for _, hidden := range []string{`href="/servers"`, `href="/users"`, `href="/audit"`} {
		if strings.Contains(body, hidden) {
			t.Errorf("ann's menu has %s", hidden)
		}
	}
}

func TestSitePageOffersTheTasksItsStateAllows(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	buttons := func(br *browser, site string) []string {
		t.Helper()
		status, body, _ := br.get("/sites/" + site)
		if status != http.StatusOK {
			t.Fatalf("site page: %d", status)
		}
		_, rest, _ := strings.Cut(body, `id="task-buttons"`)
		rest, _, _ = strings.Cut(rest, "</div>")
		var out []string
		for _, part := range strings.Split(rest, `data-task="`)[1:] {
			typ, _, _ := strings.Cut(part, `"`)
			out = append(out, typ)
		}
		return out
	}
	admin, bob, pm := w.login(t, "admin"), w.login(t, "bob"), w.login(t, "pm")
	want := "verify,backup,backup-verify,clone,cron,disable,flush-cache,login-reset,migrate,restore,update-db"
	if got := strings.Join(sortedTasks(buttons(admin, "b.example")), ","); got != sortedList(want) {
		t.Errorf("admin's buttons on an enabled site: %s, want %s", got, sortedList(want))
	}
	if got := strings.Join(sortedTasks(buttons(bob, "b.example")), ","); got != sortedList("verify,backup,backup-verify,clone,disable,flush-cache,login-reset,migrate,restore,update-db") {
		t.Errorf("bob's buttons on his enabled site: %s", got)
	}
	if got := buttons(pm, "b.example"); len(got) != 0 {
		t.Errorf("the platform manager's buttons on a site: %v", got)
	}
	w.setStatus(t, "b.example", aegir.SiteDisabled)
	if got := strings.Join(sortedTasks(buttons(bob, "b.example")), ","); got != "delete,enable" {
		t.Errorf("bob's buttons on his disabled site: %s", got)
	}
	// A button that the state refuses after all (a stale page) says why.
	status, _, loc := bob.post("/sites/b.example/tasks", url.Values{"type": {"backup"}})
	if status != http.StatusSeeOther || loc != "/sites/b.example" {
		t.Fatalf("refused button: %d to %q", status, loc)
	}
	_, body, _ := bob.get(loc)
	if !strings.Contains(body, "takes only enable or delete") {
		t.Fatalf("the refusal is not shown: %s", body)
	}
}

func sortedTasks(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return out
}

func sortedList(csv string) string { return strings.Join(sortedTasks(strings.Split(csv, ",")), ",") }

func TestTaskPageFollowsTheLogAndShowsTheLoginLinkToThoseAllowed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	admin, pm := w.login(t, "admin"), w.login(t, "pm")
	// A finished install shows its login link to those who may ask for one.
	_, body, _ := admin.get(fmt.Sprintf("/tasks/%d", w.taskB))
	if !strings.Contains(body, `id="login-link"`) || strings.Contains(body, `data-live`) {
		t.Fatalf("admin's page of a finished install:\n%s", body)
	}
	if _, body, _ := pm.get(fmt.Sprintf("/tasks/%d/summary", w.taskB)); strings.Contains(body, "login-link") || strings.Contains(body, "/login/secret") {
		t.Fatalf("the platform manager sees the login link:\n%s", body)
	}
	// A running task's page follows its log.
	task := claimUntil(t, w.store, w.taskBQueued)
	must(t, w.store.AppendTaskLog(t.Context(), task.ID, aegir.LogEntry{Level: aegir.LevelInfo, Message: "step <one>"}))
	_, body, _ = admin.get(fmt.Sprintf("/tasks/%d", task.ID))
	for _, want := range []string{`data-live="1"`, `<progress id="progress"`, "step &lt;one&gt;", `data-seq="1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("running task page lacks %s", want)
		}
	}
	must(t, w.store.FinishTask(t.Context(), task.ID, aegir.StatusSuccess, nil))
	_, body, _ = admin.get(fmt.Sprintf("/tasks/%d/summary", task.ID))
	if !strings.Contains(body, `data-status="success"`) || strings.Contains(body, "<html") {
		t.Fatalf("summary fragment:\n%s", body)
	}
}

func TestMigrateFormShowsThePackageReportAndErrorsBlockIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ctx := t.Context()
	must(t, w.store.SetSitePackages(ctx, "b.example", []aegir.Package{
		{Name: "wordpress", Type: "core", Version: "6.1", Schema: 53496},
		{Name: "akismet", Type: "plugin", Version: "5.0"},
		{Name: "hello", Type: "plugin", Version: "1.7"},
	}))
	must(t, w.store.SetPlatformPackages(ctx, "platform_open", []aegir.Package{
		{Name: "wordpress", Type: "core", Version: "6.2", Schema: 53496}, {Name: "akismet", Type: "plugin", Version: "4.0"},
	}))
	w.do(t, "POST", "/api/platforms", map[string]any{"name": "platform_old", "root": "/var/aegir/platforms/old", "clients": []string{"beta"}}).want(t, 201)
	must(t, w.store.SetPlatformPackages(ctx, "platform_old", []aegir.Package{{Name: "wordpress", Type: "core", Version: "5.0", Schema: 44719}}))
	bob := w.login(t, "bob")

	_, body, _ := bob.get("/sites/b.example/migrate/report?platform=platform_open")
	for _, want := range []string{`pkg-upgrade`, `pkg-downgrade`, `pkg-missing`, "not on @platform_open"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %s:\n%s", want, body)
		}
	}
	_, body, _ = bob.get("/sites/b.example/migrate?platform=platform_old")
	if !strings.Contains(body, "pkg-error") || !strings.Contains(body, `id="report-blocked"`) {
		t.Fatalf("report of an older platform:\n%s", body)
	}
	status, body, _ := bob.post("/sites/b.example/migrate", url.Values{"platform": {"platform_old"}})
	if status != http.StatusConflict || !strings.Contains(body, "cannot move there") {
		t.Fatalf("blocked migrate: %d", status)
	}
	status, _, loc := bob.post("/sites/b.example/migrate", url.Values{"platform": {"platform_open"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/tasks/") {
		t.Fatalf("migrate: %d to %q", status, loc)
	}
	_, body, _ = bob.get(loc)
	if !strings.Contains(body, "migrate") || !strings.Contains(body, "platform_open") {
		t.Fatalf("migrate task page:\n%s", body)
	}
}

func TestDashboardCountsAndCharts(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	_, body, _ := w.login(t, "admin").get("/")
	for _, want := range []string{`id="sites-by-status"`, `<svg class="chart"`, `class="bar"`, `<polyline class="duration"`, `@server_master`, `id="failed-backups"`} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	ann := w.login(t, "ann")
	_, body, _ = ann.get("/")
	if strings.Contains(body, "server_master") {
		t.Errorf("ann's dashboard shows the servers")
	}
	// A site no statistics pass measured yet is not "0 B".
	if !strings.Contains(body, "not measured yet") || strings.Contains(body, "Your sites use") {
		t.Errorf("ann's dashboard before a measure:\n%s", body)
	}
	r, err := w.store.GetSite(t.Context(), "a.example")
	must(t, err)
	r.DiskFiles, r.DiskDB = 3<<20, 5<<20
	must(t, w.store.UpdateSite(t.Context(), r))
	if _, body, _ = ann.get("/"); !strings.Contains(body, "Your sites use <b>3.0 MiB</b> of files and <b>5.0 MiB</b>") {
		t.Errorf("ann's dashboard after a measure:\n%s", body)
	}
}

// BenchmarkSitesPage10000 renders the sites list, its last page and a
// search, with 10,000 sites in the SQLite store.
func BenchmarkSitesPage10000(b *testing.B) {
	store := benchStore(b)
	br, base := benchLogin(b, store)
	for _, path := range []string{"/sites", "/sites?page=200", "/sites?q=site-99", "/sites?status=enabled&page=100", "/"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				resp, err := br.Get(base + path)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", path, resp.StatusCode)
				}
			}
		})
	}
}

func benchStore(b *testing.B) aegir.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hosting.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.CreateServer(ctx, &aegir.ServerRecord{Name: "server_master", Server: aegir.Server{HTTPServiceType: "nginx", HTTPPort: 80, DBServiceType: "mysql", MasterDB: "mysql://root:x@127.0.0.1:3306"}}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateClient(ctx, &aegir.Client{Name: "acme"}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreatePlatform(ctx, &aegir.PlatformRecord{Name: "platform_wp", Platform: aegir.Platform{Root: "/var/aegir/platforms/wp", WebServer: "@server_master"}}); err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		name := fmt.Sprintf("site-%05d.example.com", i)
		r := &aegir.SiteRecord{Name: name, Client: "acme", Status: aegir.SiteEnabled, DiskFiles: int64(i) * 1000, DiskDB: 5000,
			Site: aegir.Site{URI: name, Platform: "@platform_wp", DBServer: "@server_master", Profile: "standard", Language: "en"}}
		if err := s.CreateSite(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func benchLogin(b *testing.B, store aegir.Store) (*http.Client, string) {
	b.Helper()
	svc := &hosting.Service{Store: store, Argon2: fastArgon2}
	srv := &Server{Service: svc, Store: store}
	h := httptest.NewServer(srv.Handler())
	b.Cleanup(h.Close)
	if _, err := svc.CreateUser(context.Background(), hosting.Actor{}, hosting.UserInput{Name: "admin", Role: ptr(aegir.RoleAdministrator), Password: ptr(testPassword)}); err != nil {
		b.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(h.URL+"/login", url.Values{"name": {"admin"}, "password": {testPassword}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	ck := sessionCookieOf(resp)
	if ck == nil {
		b.Fatalf("login: %d", resp.StatusCode)
	}
	jarless := &http.Client{Transport: cookieTransport{ck}}
	return jarless, h.URL
}

// cookieTransport adds a cookie to every request.
type cookieTransport struct{ c *http.Cookie }

func (t cookieTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.AddCookie(t.c)
	return http.DefaultTransport.RoundTrip(r)
}

// TestMigrateAndCloneOfferOnlyPlatformsOfTheSitesApp: a WordPress site is
// not offered a MediaWiki platform to move or copy to (the task would
// fail), and the API refuses it too.
func TestMigrateAndCloneOfferOnlyPlatformsOfTheSitesApp(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ctx := t.Context()
	setApp := func(name, app string) {
		p, err := w.store.GetPlatform(ctx, name)
		must(t, err)
		p.App, p.Version = app, "1"
		must(t, w.store.UpdatePlatform(ctx, p))
	}
	setApp("platform_b", "wordpress")
	setApp("platform_open", "wordpress")
	w.do(t, "POST", "/api/platforms", map[string]any{"name": "platform_wiki", "root": "/var/aegir/platforms/wiki"}).want(t, 201)
	setApp("platform_wiki", "mediawiki")
	bob := w.login(t, "bob")
	for _, form := range []string{"/sites/b.example/migrate", "/sites/b.example/clone"} {
		_, body, _ := bob.get(form)
		if !strings.Contains(body, `value="platform_open"`) || strings.Contains(body, "platform_wiki") {
			t.Errorf("%s offers:\n%s", form, body)
		}
	}
	w.as(t, "bob", "POST", "/api/sites/b.example/tasks", map[string]any{"type": "migrate", "args": map[string]string{"platform": "platform_wiki"}}).
		wantError(t, 400, "invalid", "args.platform")
}

// TestPlatformsAndServersShowWhatTheyRun: two platforms cannot share a
// root (on one web server); a platform with no web server set shows
// @server_master, not "@"; the servers list shows the master's web server
// and database with their defaults.
func TestPlatformsAndServersShowWhatTheyRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	w.do(t, "POST", "/api/platforms", map[string]any{"name": "platform_one", "root": "/var/aegir/platforms/one"}).want(t, 201)
	w.do(t, "POST", "/api/platforms", map[string]any{"name": "platform_two", "root": "/var/aegir/platforms/one"}).wantError(t, 409, "conflict", "root")
	w.do(t, "POST", "/api/platforms", map[string]any{"name": "platform_two", "root": "/var/aegir/platforms/two"}).want(t, 201)
	w.do(t, "PATCH", "/api/platforms/platform_two", map[string]any{"root": "/var/aegir/platforms/one"}).wantError(t, 409, "conflict", "root")
	admin := w.login(t, "admin")
	_, body, _ := admin.get("/platforms")
	if strings.Contains(body, "<td>@</td>") || !strings.Contains(body, "@server_master") {
		t.Errorf("platforms list:\n%s", body)
	}
	_, body, _ = admin.get("/servers")
	if !strings.Contains(body, "nginx :80") {
		t.Errorf("servers list does not show the master's web server:\n%s", body)
	}
}

// TestFaviconIsServed: every page links the icon, served as SVG from the
// static files; /favicon.ico, which browsers ask for on their own, leads
// there.
func TestFaviconIsServed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	br := w.browser(t)
	_, body, _ := br.get("/login")
	link := regexp.MustCompile(`<link rel="icon" href="(/static/favicon.svg\?v=[0-9a-f]+)" type="image/svg\+xml">`).FindStringSubmatch(body)
	if link == nil {
		t.Fatalf("the login page links no icon:\n%s", body)
	}
	resp, err := http.Get(w.http.URL + link[1])
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("the icon: %d %v", resp.StatusCode, resp.Header)
	}
	status, _, loc := br.get("/favicon.ico")
	if status != http.StatusMovedPermanently || loc != link[1] {
		t.Fatalf("/favicon.ico: %d to %q", status, loc)
	}
}
