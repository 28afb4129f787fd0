package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// fastArgon2 keeps the tests' password hashes cheap; the format and the
// code are those of production.
var fastArgon2 = hosting.Argon2Params{Time: 1, Memory: 8 * 1024, Threads: 1}

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// world is a front end with two clients, each with a site on a platform
// reserved to it, a platform open to all, and a user of each role:
// admin, pm (platform manager), am (account manager), ann (client user of
// acme) and bob (client user of beta).
type world struct {
	*bundle
	tokens map[string]string // role user → API token
	// Tasks on beta's site b.example: finished, failed and queued; and a
	// finished one on the server.
	taskB, taskBFailed, taskBQueued, taskServer int64
	// adminToken is the id of the admin's token; bobSpare that of a token
	// of bob's that no request uses, for revoking.
	adminToken, bobSpare int64
}

// roles are the users of the world, in the order the tables list them.
var roles = []string{"admin", "pm", "am", "ann", "bob"}

func newWorld(t *testing.T, b *bundle) *world {
	t.Helper()
	ctx := t.Context()
	b.svc.Argon2 = fastArgon2
	w := &world{bundle: b, tokens: map[string]string{"admin": b.token}}
	b.do(t, "POST", "/api/servers", map[string]any{"name": "server_master", "http_port": 8080}).want(t, 201)
	for _, c := range []string{"acme", "beta"} {
		b.do(t, "POST", "/api/clients", map[string]any{"name": c, "title": strings.ToUpper(c)}).want(t, 201)
	}
	for name, clients := range map[string][]string{"platform_open": nil, "platform_a": {"acme"}, "platform_b": {"beta"}} {
		b.do(t, "POST", "/api/platforms", map[string]any{"name": name, "root": "/var/aegir/platforms/" + name, "clients": clients}).want(t, 201)
	}
	b.do(t, "POST", "/api/sites", map[string]any{"uri": "a.example", "platform": "platform_a", "client": "acme"}).want(t, 201)
	b.do(t, "POST", "/api/sites", map[string]any{"uri": "b.example", "platform": "platform_b", "client": "beta"}).want(t, 201)
	// Every task so far ran; the sites are enabled.
	for {
		task, err := b.store.ClaimTask(ctx, "test/0")
		must(t, err)
		if task == nil {
			break
		}
		must(t, b.store.FinishTask(ctx, task.ID, aegir.StatusSuccess, map[string]any{"login_link": "http://" + task.Object + "/login/secret"}))
		switch {
		case task.Object == "b.example" && task.Type == aegir.TaskInstall:
			w.taskB = task.ID
		case task.ObjectType == aegir.ServerContext:
			w.taskServer = task.ID
		}
	}
	for _, s := range []string{"a.example", "b.example"} {
		b.setStatus(t, s, aegir.SiteEnabled)
		must(t, b.store.AddBackup(ctx, &aegir.Backup{Site: s, File: "/var/aegir/backups/" + s + "-20250101.000000.tar.gz", Size: 1000}))
	}
	failed := &aegir.Task{Type: aegir.TaskBackup, ObjectType: aegir.SiteContext, Object: "b.example", Platform: "platform_b"}
	must(t, b.store.EnqueueTask(ctx, failed))
	claimUntil(t, b.store, failed.ID)
	must(t, b.store.FinishTask(ctx, failed.ID, aegir.StatusFailed, nil))
	queued := &aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.SiteContext, Object: "b.example", Platform: "platform_b"}
	must(t, b.store.EnqueueTask(ctx, queued))
	w.taskBFailed, w.taskBQueued = failed.ID, queued.ID

	admin := hosting.Actor{Name: "admin"}
	for _, u := range []hosting.UserInput{
		{Name: "pm", Role: ptr(aegir.RolePlatformManager)},
		{Name: "am", Role: ptr(aegir.RoleAccountManager)},
		{Name: "ann", Role: ptr(aegir.RoleClient), Clients: &[]string{"acme"}},
		{Name: "bob", Role: ptr(aegir.RoleClient), Clients: &[]string{"beta"}},
	} {
		u.Password = ptr(testPassword)
		_, err := b.svc.CreateUser(ctx, admin, u)
		must(t, err)
		_, secret, err := b.svc.CreateToken(ctx, u.Name, "test")
		must(t, err)
		w.tokens[u.Name] = secret
	}
	spare, _, err := b.svc.CreateToken(ctx, "bob", "spare")
	must(t, err)
	w.bobSpare = spare.ID
	adminTokens, err := b.svc.ListTokens(ctx, "admin")
	must(t, err)
	w.adminToken = adminTokens[len(adminTokens)-1].ID
	adminUser, err := b.svc.GetUser(ctx, "admin")
	must(t, err)
	_, err = b.svc.UpdateUser(ctx, admin, "admin", hosting.UserInput{Password: ptr(testPassword), Email: &adminUser.Email})
	must(t, err)
	return w
}

func ptr[T any](v T) *T { return &v }

// as sends an API request as one of the world's users.
func (w *world) as(t *testing.T, user, method, path string, body any) answer {
	t.Helper()
	return w.doWith(t, method, path, body, map[string]string{"Authorization": "Bearer " + w.tokens[user]})
}

// browser is a cookie-keeping client that does not follow redirects, as a
// browser's session sees the UI.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (w *world) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	must(t, err)
	return &browser{t: t, base: w.http.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login logs a browser in as user and fails unless it works.
func (w *world) login(t *testing.T, user string) *browser {
	t.Helper()
	br := w.browser(t)
	status, _, loc := br.post("/login", url.Values{"name": {user}, "password": {testPassword}})
	if status != http.StatusSeeOther || loc != "/" {
		t.Fatalf("login as %s: %d to %q", user, status, loc)
	}
	return br
}

// get fetches a page: status, body, and Location of a redirect.
func (br *browser) get(path string) (int, string, string) {
	br.t.Helper()
	return br.do("GET", path, nil)
}

// post posts a form as a same-origin browser does.
func (br *browser) post(path string, form url.Values) (int, string, string) {
	br.t.Helper()
	return br.do("POST", path, form)
}

func (br *browser) do(method, path string, form url.Values) (int, string, string) {
	br.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(br.t.Context(), method, br.base+path, body)
	must(br.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := br.c.Do(req)
	must(br.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	must(br.t, err)
	return resp.StatusCode, string(data), resp.Header.Get("Location")
}

// Expected outcomes of a request in the permission tables.
const (
	allow = 0 // anything but 401, 403 and 404: the role may; the request may still be invalid
	deny  = http.StatusForbidden
	hide  = http.StatusNotFound
)

// rule is the expected outcome of one route for each role.
type rule struct {
	path   string // the concrete path requested
	body   any    // JSON body (API) or url.Values (pages)
	expect [5]int // by roles: admin, pm, am, ann, bob
	public int    // for public routes: the status without a session
	ids    func(*world) []any
}

// everyone allows every role.
var everyone = [5]int{allow, allow, allow, allow, allow}

// concrete fills in the task ids of a rule's path.
func (r rule) concrete(w *world) string {
	if r.ids == nil {
		return r.path
	}
	return fmt.Sprintf(r.path, r.ids(w)...)
}

func taskB(w *world) []any      { return []any{w.taskB} }
func taskQueued(w *world) []any { return []any{w.taskBQueued} }
func taskFailed(w *world) []any { return []any{w.taskBFailed} }
func taskServer(w *world) []any { return []any{w.taskServer} }
func adminToken(w *world) []any { return []any{w.adminToken} }
func bobSpare(w *world) []any   { return []any{w.bobSpare} }

// apiRules is the permission table of the API: one rule per route. A
// client user (ann of acme) asking for anything of beta gets 404, as if
// it did not exist; an action the role may not do at all is 403.
var apiRules = map[string]rule{
	"GET /api/openapi.json": {path: "/api/openapi.json", public: 200},
	"GET /metrics":          {path: "/metrics", public: 200},
	"GET /api/me":           {path: "/api/me", expect: everyone},
	// Alerts and notifications are every user's own, in their scope.
	"GET /api/me/alerts":     {path: "/api/me/alerts", expect: everyone},
	"PUT /api/me/alerts":     {path: "/api/me/alerts", body: map[string]any{"events": []string{"site_down"}}, expect: everyone},
	"GET /api/notifications": {path: "/api/notifications", expect: everyone},
	"GET /api/audit":         {path: "/api/audit", expect: [5]int{allow, deny, deny, deny, deny}},
	"GET /api/dispatchers":   {path: "/api/dispatchers", expect: [5]int{allow, deny, deny, deny, deny}},
	// Projects: the world has none (TestProjectWebhookQueuesTheBranchsDeploy
	// checks who sees one): every user lists, and none finds one.
	"GET /api/projects":                 {path: "/api/projects", expect: everyone},
	"POST /api/projects":                {path: "/api/projects", body: map[string]any{"name": "Not A Name"}, expect: [5]int{allow, deny, deny, deny, deny}},
	"GET /api/projects/{name}":          {path: "/api/projects/shop", expect: [5]int{hide, hide, hide, hide, hide}},
	"POST /api/projects/{name}/webhook": {path: "/api/projects/shop/webhook", body: map[string]any{"ref": "refs/heads/main"}, public: 404},

	"GET /api/tasks":              {path: "/api/tasks", expect: everyone},
	"GET /api/tasks/{id}":         {path: "/api/tasks/%d", ids: taskB, expect: [5]int{allow, allow, allow, hide, allow}},
	"GET /api/tasks/{id}/log":     {path: "/api/tasks/%d/log", ids: taskServer, expect: [5]int{allow, allow, hide, hide, hide}},
	"POST /api/tasks/{id}/cancel": {path: "/api/tasks/%d/cancel", ids: taskQueued, expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /api/tasks/{id}/retry":  {path: "/api/tasks/%d/retry", ids: taskFailed, expect: [5]int{allow, deny, deny, hide, allow}},

	"GET /api/users":                    {path: "/api/users", expect: [5]int{allow, deny, allow, deny, deny}},
	"POST /api/users":                   {path: "/api/users", body: map[string]any{"name": "Not A Name", "role": "client"}, expect: [5]int{allow, deny, allow, deny, deny}},
	"GET /api/users/{name}":             {path: "/api/users/bob", expect: [5]int{allow, deny, allow, hide, allow}},
	"PATCH /api/users/{name}":           {path: "/api/users/bob", body: map[string]any{"email": "not-an-email"}, expect: [5]int{allow, deny, allow, hide, allow}},
	"DELETE /api/users/{name}":          {path: "/api/users/admin", expect: [5]int{allow, deny, deny, deny, deny}},
	"POST /api/users/{name}/login-link": {path: "/api/users/bob/login-link", expect: [5]int{allow, deny, allow, hide, deny}},
	// bob's tokens: his own and the administrators' to manage; ann does
	// not see bob, an account manager sees him but not his tokens.
	"GET /api/users/{name}/tokens":            {path: "/api/users/bob/tokens", expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /api/users/{name}/tokens":           {path: "/api/users/bob/tokens", body: map[string]any{"name": ""}, expect: [5]int{allow, deny, deny, hide, allow}},
	"DELETE /api/users/{name}/tokens/{id}":    {path: "/api/users/bob/tokens/%d", ids: bobSpare, expect: [5]int{allow, deny, deny, hide, allow}},
	"GET /api/sites/{name}/backups":           {path: "/api/sites/b.example/backups", expect: [5]int{allow, allow, allow, hide, allow}},
	"GET /api/sites/{name}/offsite-snapshots": {path: "/api/sites/b.example/offsite-snapshots", expect: [5]int{allow, allow, allow, hide, allow}},

	"GET /api/servers":                 {path: "/api/servers", expect: [5]int{allow, allow, deny, deny, deny}},
	"POST /api/servers":                {path: "/api/servers", body: map[string]any{"name": "Not A Name"}, expect: [5]int{allow, allow, deny, deny, deny}},
	"GET /api/servers/{name}":          {path: "/api/servers/server_master", expect: [5]int{allow, allow, deny, deny, deny}},
	"PATCH /api/servers/{name}":        {path: "/api/servers/server_master", body: map[string]any{"http_port": "many"}, expect: [5]int{allow, allow, deny, deny, deny}},
	"DELETE /api/servers/{name}":       {path: "/api/servers/server_master", expect: [5]int{allow, allow, deny, deny, deny}},
	"POST /api/servers/{name}/tasks":   {path: "/api/servers/server_master/tasks", body: map[string]any{"type": "noop"}, expect: [5]int{allow, allow, deny, deny, deny}},
	"GET /api/platforms":               {path: "/api/platforms", expect: everyone},
	"POST /api/platforms":              {path: "/api/platforms", body: map[string]any{"name": "Not A Name"}, expect: [5]int{allow, allow, deny, deny, deny}},
	"GET /api/platforms/{name}":        {path: "/api/platforms/platform_b", expect: [5]int{allow, allow, allow, hide, allow}},
	"PATCH /api/platforms/{name}":      {path: "/api/platforms/platform_b", body: map[string]any{"root": "relative"}, expect: [5]int{allow, allow, deny, deny, deny}},
	"DELETE /api/platforms/{name}":     {path: "/api/platforms/platform_b", expect: [5]int{allow, allow, deny, deny, deny}},
	"POST /api/platforms/{name}/tasks": {path: "/api/platforms/platform_b/tasks", body: map[string]any{"type": "migrate-platform"}, expect: [5]int{allow, allow, deny, deny, deny}},
	"GET /api/sites":                   {path: "/api/sites", expect: everyone},
	"POST /api/sites":                  {path: "/api/sites", body: map[string]any{"uri": "Not A Name"}, expect: [5]int{allow, deny, deny, allow, allow}},
	"GET /api/sites/{name}":            {path: "/api/sites/b.example", expect: [5]int{allow, allow, allow, hide, allow}},
	"PATCH /api/sites/{name}":          {path: "/api/sites/b.example", body: map[string]any{"aliases": []string{"Not A Name"}}, expect: [5]int{allow, deny, deny, hide, allow}},
	"DELETE /api/sites/{name}":         {path: "/api/sites/b.example", expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /api/sites/{name}/tasks":     {path: "/api/sites/b.example/tasks", body: map[string]any{"type": "backup-delete"}, expect: [5]int{allow, deny, deny, hide, allow}},
	"GET /api/clients":                 {path: "/api/clients", expect: everyone},
	"POST /api/clients":                {path: "/api/clients", body: map[string]any{"name": "Not A Name"}, expect: [5]int{allow, deny, allow, deny, deny}},
	"GET /api/clients/{name}":          {path: "/api/clients/beta", expect: [5]int{allow, allow, allow, hide, allow}},
	"PATCH /api/clients/{name}":        {path: "/api/clients/beta", body: map[string]any{"email": "not-an-email"}, expect: [5]int{allow, deny, allow, deny, deny}},
	"DELETE /api/clients/{name}":       {path: "/api/clients/beta", expect: [5]int{allow, deny, allow, deny, deny}},
}

// pageRules is the permission table of the UI, as apiRules.
var pageRules = map[string]rule{
	"GET /static/{file}":         {path: "/static/aegir.css", public: 200},
	"GET /favicon.ico":           {path: "/favicon.ico", public: 301},
	"GET /login":                 {path: "/login", public: 200},
	"POST /login":                {path: "/login", body: url.Values{"name": {"admin"}, "password": {"wrong password"}}, public: 401},
	"GET /login/link/{secret}":   {path: "/login/link/nosuchsecret", public: 200},
	"POST /login/link/{secret}":  {path: "/login/link/nosuchsecret", body: url.Values{}, public: 401},
	"POST /logout":               {path: "/logout", body: url.Values{}, public: 303},
	"GET /{$}":                   {path: "/", expect: everyone},
	"GET /account":               {path: "/account", expect: everyone},
	"GET /notifications":         {path: "/notifications", expect: everyone},
	"POST /notifications/alerts": {path: "/notifications/alerts", body: url.Values{"events": {"site_down"}}, expect: everyone},
	"POST /account":              {path: "/account", body: url.Values{"email": {"not-an-email"}}, expect: everyone},
	"POST /account/tokens":       {path: "/account/tokens", body: url.Values{"name": {""}}, expect: everyone},
	// The admin's token: every other user is told it does not exist.
	"POST /account/tokens/{id}/revoke": {path: "/account/tokens/%d/revoke", ids: adminToken, body: url.Values{}, expect: [5]int{allow, hide, hide, hide, hide}},
	"GET /audit":                       {path: "/audit", expect: [5]int{allow, deny, deny, deny, deny}},
	"GET /dispatchers":                 {path: "/dispatchers", expect: [5]int{allow, deny, deny, deny, deny}},
	"GET /projects/{name}":             {path: "/projects/shop", expect: [5]int{hide, hide, hide, hide, hide}},
	"POST /projects/{name}/deploy":     {path: "/projects/shop/deploy", body: url.Values{"environment": {"dev"}}, expect: [5]int{hide, hide, hide, hide, hide}},
	"POST /projects/{name}/sync":       {path: "/projects/shop/sync", body: url.Values{"from": {"live"}, "to": {"dev"}}, expect: [5]int{hide, hide, hide, hide, hide}},

	"GET /servers":               {path: "/servers", expect: [5]int{allow, allow, deny, deny, deny}},
	"GET /servers/new":           {path: "/servers/new", expect: [5]int{allow, allow, deny, deny, deny}},
	"POST /servers":              {path: "/servers", body: url.Values{"name": {"Not A Name"}}, expect: [5]int{allow, allow, deny, deny, deny}},
	"GET /servers/{name}":        {path: "/servers/server_master", expect: [5]int{allow, allow, deny, deny, deny}},
	"POST /servers/{name}/tasks": {path: "/servers/server_master/tasks", body: url.Values{"type": {"noop"}}, expect: [5]int{allow, allow, deny, deny, deny}},

	"GET /platforms":                 {path: "/platforms", expect: everyone},
	"GET /platforms/new":             {path: "/platforms/new", expect: [5]int{allow, allow, deny, deny, deny}},
	"POST /platforms":                {path: "/platforms", body: url.Values{"name": {"Not A Name"}}, expect: [5]int{allow, allow, deny, deny, deny}},
	"GET /platforms/{name}":          {path: "/platforms/platform_b", expect: [5]int{allow, allow, allow, hide, allow}},
	"POST /platforms/{name}/lock":    {path: "/platforms/platform_b/lock", body: url.Values{"locked": {"0"}}, expect: [5]int{allow, allow, deny, deny, deny}},
	"GET /platforms/{name}/migrate":  {path: "/platforms/platform_b/migrate", expect: [5]int{allow, allow, deny, deny, deny}},
	"POST /platforms/{name}/migrate": {path: "/platforms/platform_b/migrate", body: url.Values{"platform": {""}}, expect: [5]int{allow, allow, deny, deny, deny}},
	"POST /platforms/{name}/tasks":   {path: "/platforms/platform_b/tasks", body: url.Values{"type": {"import"}}, expect: [5]int{allow, allow, deny, deny, deny}},

	"GET /sites":                       {path: "/sites", expect: everyone},
	"GET /sites/new":                   {path: "/sites/new", expect: [5]int{allow, deny, deny, allow, allow}},
	"GET /sites/new/profiles":          {path: "/sites/new/profiles?platform=platform_b", expect: [5]int{allow, deny, deny, allow, allow}},
	"POST /sites":                      {path: "/sites", body: url.Values{"uri": {"Not A Name"}}, expect: [5]int{allow, deny, deny, allow, allow}},
	"GET /sites/{name}":                {path: "/sites/b.example", expect: [5]int{allow, allow, allow, hide, allow}},
	"GET /sites/{name}/edit":           {path: "/sites/b.example/edit", expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /sites/{name}/edit":          {path: "/sites/b.example/edit", body: url.Values{"aliases": {"Not A Name"}, "client": {"beta"}}, expect: [5]int{allow, deny, deny, hide, allow}},
	"GET /sites/{name}/migrate":        {path: "/sites/b.example/migrate", expect: [5]int{allow, deny, deny, hide, allow}},
	"GET /sites/{name}/migrate/report": {path: "/sites/b.example/migrate/report?platform=platform_open", expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /sites/{name}/migrate":       {path: "/sites/b.example/migrate", body: url.Values{"platform": {""}}, expect: [5]int{allow, deny, deny, hide, allow}},
	"GET /sites/{name}/clone":          {path: "/sites/b.example/clone", expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /sites/{name}/clone":         {path: "/sites/b.example/clone", body: url.Values{"new_uri": {"Not A Name"}}, expect: [5]int{allow, deny, deny, hide, allow}},
	"GET /sites/{name}/restore":        {path: "/sites/b.example/restore", expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /sites/{name}/restore":       {path: "/sites/b.example/restore", body: url.Values{"file": {"nosuchbackup.tar.gz"}}, expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /sites/{name}/tasks":         {path: "/sites/b.example/tasks", body: url.Values{"type": {"backup-delete"}}, expect: [5]int{allow, deny, deny, hide, allow}},

	"GET /clients":              {path: "/clients", expect: everyone},
	"GET /clients/new":          {path: "/clients/new", expect: [5]int{allow, deny, allow, deny, deny}},
	"POST /clients":             {path: "/clients", body: url.Values{"name": {"Not A Name"}}, expect: [5]int{allow, deny, allow, deny, deny}},
	"GET /clients/{name}":       {path: "/clients/beta", expect: [5]int{allow, allow, allow, hide, allow}},
	"GET /clients/{name}/edit":  {path: "/clients/beta/edit", expect: [5]int{allow, deny, allow, deny, deny}},
	"POST /clients/{name}/edit": {path: "/clients/beta/edit", body: url.Values{"email": {"not-an-email"}}, expect: [5]int{allow, deny, allow, deny, deny}},

	"GET /users":                    {path: "/users", expect: [5]int{allow, deny, allow, deny, deny}},
	"GET /users/new":                {path: "/users/new", expect: [5]int{allow, deny, allow, deny, deny}},
	"POST /users":                   {path: "/users", body: url.Values{"name": {"Not A Name"}, "role": {"client"}}, expect: [5]int{allow, deny, allow, deny, deny}},
	"GET /users/{name}":             {path: "/users/bob", expect: [5]int{allow, deny, allow, hide, allow}},
	"POST /users/{name}":            {path: "/users/bob", body: url.Values{"email": {"not-an-email"}, "role": {"client"}}, expect: [5]int{allow, deny, allow, hide, deny}},
	"POST /users/{name}/login-link": {path: "/users/bob/login-link", body: url.Values{}, expect: [5]int{allow, deny, allow, hide, deny}},

	"GET /tasks":              {path: "/tasks", expect: everyone},
	"GET /tasks/{id}":         {path: "/tasks/%d", ids: taskB, expect: [5]int{allow, allow, allow, hide, allow}},
	"GET /tasks/{id}/summary": {path: "/tasks/%d/summary", ids: taskB, expect: [5]int{allow, allow, allow, hide, allow}},
	"POST /tasks/{id}/cancel": {path: "/tasks/%d/cancel", ids: taskQueued, body: url.Values{}, expect: [5]int{allow, deny, deny, hide, allow}},
	"POST /tasks/{id}/retry":  {path: "/tasks/%d/retry", ids: taskFailed, body: url.Values{}, expect: [5]int{allow, deny, deny, hide, allow}},
}

// checkOutcome compares a status with a rule's expectation.
func checkOutcome(t *testing.T, who, method, path string, got, want int, body string) {
	t.Helper()
	switch {
	case want == allow && (got == 401 || got == 403 || got == 404):
		t.Errorf("%s: %s %s = %d, want it allowed: %.300s", who, method, path, got, body)
	case want != allow && got != want:
		t.Errorf("%s: %s %s = %d, want %d: %.300s", who, method, path, got, want, body)
	}
}

// TestEveryRouteHasAPermissionRule walks every route of the API and the
// UI: a route without a rule in the tables fails here, and every rule is
// checked for each role. Denials that hide another client's objects are
// 404, those of the role 403.
func TestEveryRouteHasAPermissionRule(t *testing.T) {
	t.Parallel()
	srv := &Server{}
	var missing []string
	seen := map[string]bool{}
	for _, rt := range srv.routes() {
		key := rt.method + " " + rt.path
		seen[key] = true
		if _, ok := apiRules[key]; !ok {
			missing = append(missing, "API "+key)
		}
		if _, hasRule := apiRules[key]; hasRule && rt.public != (apiRules[key].public != 0) {
			t.Errorf("API %s: public is %v in the routes but not in the rules", key, rt.public)
		}
	}
	for _, pr := range srv.pageRoutes() {
		key := pr.method + " " + pr.path
		seen[key] = true
		if _, ok := pageRules[key]; !ok {
			missing = append(missing, "page "+key)
		}
		if _, hasRule := pageRules[key]; hasRule && pr.public != (pageRules[key].public != 0) {
			t.Errorf("page %s: public is %v in the routes but not in the rules", key, pr.public)
		}
	}
	for _, rules := range []map[string]rule{apiRules, pageRules} {
		for key := range rules {
			if !seen[key] {
				t.Errorf("the rule for %s names no route", key)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("route %s has no permission rule: add one to apiRules or pageRules", m)
	}
	if t.Failed() {
		return
	}

	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		browsers := map[string]*browser{}
		for _, role := range roles {
			browsers[role] = w.login(t, role)
		}
		for _, key := range sortedKeys(apiRules) {
			r := apiRules[key]
			method, _, _ := strings.Cut(key, " ")
			path := r.concrete(w)
			if r.public != 0 {
				a := w.doWith(t, method, path, r.body, nil)
				checkOutcome(t, "anonymous", method, path, a.status, r.public, a.raw)
				continue
			}
			if a := w.doWith(t, method, path, r.body, nil); a.status != http.StatusUnauthorized {
				t.Errorf("anonymous: %s %s = %d, want 401", method, path, a.status)
			}
			for i, role := range roles {
				a := w.as(t, role, method, path, r.body)
				checkOutcome(t, role, method, path, a.status, r.expect[i], a.raw)
			}
		}
		for _, key := range sortedKeys(pageRules) {
			r := pageRules[key]
			method, _, _ := strings.Cut(key, " ")
			path := r.concrete(w)
			form, _ := r.body.(url.Values)
			if method == "POST" && form == nil {
				form = url.Values{}
			}
			if r.public != 0 {
				status, body, _ := w.browser(t).do(method, path, form)
				checkOutcome(t, "anonymous", method, path, status, r.public, body)
				continue
			}
			if status, _, loc := w.browser(t).do(method, path, form); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Errorf("anonymous: %s %s = %d to %q, want a redirect to the login page", method, path, status, loc)
			}
			for i, role := range roles {
				status, body, _ := browsers[role].do(method, path, form)
				checkOutcome(t, role, method, path, status, r.expect[i], body)
			}
		}
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
