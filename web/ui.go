package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// templateFS holds the pages: layout.html (the frame of every page),
// parts.html (shared pieces) and one file per page.
//
//go:embed templates/*.html
var templateFS embed.FS

// staticFS holds the stylesheet, the script and htmx (vendored from npm,
// see static/README).
//
//go:embed static
var staticFS embed.FS

// staticVersions are the content hashes the pages add to static URLs, so
// that browsers may cache them for long.
var staticVersions = func() map[string]string {
	out := map[string]string{}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:4])
		return nil
	})
	return out
}()

// pageFunc handles a page for a logged-in user (nil on a public page); an
// error it returns becomes an error page.
type pageFunc func(w http.ResponseWriter, r *http.Request, u *aegir.User) error

// pageRoute is one route of the UI.
type pageRoute struct {
	method, path string
	public       bool
	handler      pageFunc
}

// pageRoutes lists every route of the UI; the permission test walks them.
func (s *Server) pageRoutes() []pageRoute {
	return []pageRoute{
		{method: "GET", path: "/static/{file}", public: true, handler: s.static},
		{method: "GET", path: "/favicon.ico", public: true, handler: s.favicon},
		{method: "GET", path: "/login", public: true, handler: s.loginPage},
		{method: "POST", path: "/login", public: true, handler: s.loginSubmit},
		{method: "GET", path: "/login/link/{secret}", public: true, handler: s.loginLinkPage},
		{method: "POST", path: "/login/link/{secret}", public: true, handler: s.loginLinkSubmit},
		{method: "POST", path: "/logout", public: true, handler: s.logout},
		{method: "GET", path: "/{$}", handler: s.dashboardPage},
		{method: "GET", path: "/account", handler: s.accountPage},
		{method: "GET", path: "/notifications", handler: s.notificationsPage},
		{method: "POST", path: "/notifications/alerts", handler: s.alertsSubmit},
		{method: "POST", path: "/account", handler: s.accountSubmit},
		{method: "POST", path: "/account/tokens", handler: s.accountTokenCreate},
		{method: "POST", path: "/account/tokens/{id}/revoke", handler: s.accountTokenRevoke},

		{method: "GET", path: "/servers", handler: s.serversPage},
		{method: "GET", path: "/servers/new", handler: s.serverForm},
		{method: "POST", path: "/servers", handler: s.serverCreate},
		{method: "GET", path: "/servers/{name}", handler: s.serverPage},
		{method: "POST", path: "/servers/{name}/tasks", handler: s.taskButton(aegir.ServerContext)},

		{method: "GET", path: "/platforms", handler: s.platformsPage},
		{method: "GET", path: "/platforms/new", handler: s.platformForm},
		{method: "POST", path: "/platforms", handler: s.platformCreate},
		{method: "GET", path: "/platforms/{name}", handler: s.platformPage},
		{method: "POST", path: "/platforms/{name}/lock", handler: s.platformLock},
		{method: "GET", path: "/platforms/{name}/migrate", handler: s.batchMigrateForm},
		{method: "POST", path: "/platforms/{name}/migrate", handler: s.batchMigrateSubmit},
		{method: "POST", path: "/platforms/{name}/tasks", handler: s.taskButton(aegir.PlatformContext)},

		{method: "GET", path: "/sites", handler: s.sitesPage},
		{method: "GET", path: "/sites/new", handler: s.siteForm},
		{method: "GET", path: "/sites/new/profiles", handler: s.siteProfiles},
		{method: "POST", path: "/sites", handler: s.siteCreate},
		{method: "GET", path: "/sites/{name}", handler: s.sitePage},
		{method: "GET", path: "/sites/{name}/edit", handler: s.siteEditForm},
		{method: "POST", path: "/sites/{name}/edit", handler: s.siteEditSubmit},
		{method: "GET", path: "/sites/{name}/migrate", handler: s.migrateForm},
		{method: "GET", path: "/sites/{name}/migrate/report", handler: s.migrateReport},
		{method: "POST", path: "/sites/{name}/migrate", handler: s.migrateSubmit},
		{method: "GET", path: "/sites/{name}/clone", handler: s.cloneForm},
		{method: "POST", path: "/sites/{name}/clone", handler: s.cloneSubmit},
		{method: "GET", path: "/sites/{name}/restore", handler: s.restoreForm},
		{method: "POST", path: "/sites/{name}/restore", handler: s.restoreSubmit},
		{method: "POST", path: "/sites/{name}/tasks", handler: s.taskButton(aegir.SiteContext)},

		{method: "GET", path: "/projects/{name}", handler: s.projectPage},
		{method: "POST", path: "/projects/{name}/deploy", handler: s.projectDeploy},
		{method: "POST", path: "/projects/{name}/sync", handler: s.projectSync},

		{method: "GET", path: "/clients", handler: s.clientsPage},
		{method: "GET", path: "/clients/new", handler: s.clientForm},
		{method: "POST", path: "/clients", handler: s.clientCreate},
		{method: "GET", path: "/clients/{name}", handler: s.clientPage},
		{method: "GET", path: "/clients/{name}/edit", handler: s.clientEditForm},
		{method: "POST", path: "/clients/{name}/edit", handler: s.clientEditSubmit},

		{method: "GET", path: "/users", handler: s.usersPage},
		{method: "GET", path: "/users/new", handler: s.userForm},
		{method: "POST", path: "/users", handler: s.userCreate},
		{method: "GET", path: "/users/{name}", handler: s.userPage},
		{method: "POST", path: "/users/{name}", handler: s.userUpdate},
		{method: "POST", path: "/users/{name}/login-link", handler: s.userLoginLink},

		{method: "GET", path: "/tasks", handler: s.tasksPage},
		{method: "GET", path: "/tasks/{id}", handler: s.taskPage},
		{method: "GET", path: "/tasks/{id}/summary", handler: s.taskSummary},
		{method: "POST", path: "/tasks/{id}/cancel", handler: s.taskCancel},
		{method: "POST", path: "/tasks/{id}/retry", handler: s.taskRetry},
		{method: "GET", path: "/audit", handler: s.auditPage},
		{method: "GET", path: "/dispatchers", handler: s.dispatchersPage},
	}
}

// page wraps a pageFunc: it finds the user of the session (sending those
// without one to the login page) and renders the error a handler returns.
func (s *Server) page(pr pageRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u *aegir.User
		if !pr.public {
			var err error
			if u, err = s.sessionUser(r); err != nil {
				s.pageError(w, r, nil, err)
				return
			}
			if u == nil {
				s.toLogin(w, r)
				return
			}
		}
		if err := pr.handler(w, r, u); err != nil {
			s.pageError(w, r, u, err)
		}
	})
}

// toLogin sends a visitor without a session to the login page, back to
// the page they asked for after it.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// localPath returns next when it is a path on this site (not "//host" or
// a URL), else "/": a login never redirects elsewhere.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// securityHeaders sets the headers every answer carries: a content
// security policy that allows only this site's own scripts and styles
// (the pages have no inline script), no framing, no MIME sniffing.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// static serves the embedded stylesheet, script and htmx.
func (s *Server) static(w http.ResponseWriter, r *http.Request, _ *aegir.User) error {
	name := r.PathValue("file")
	data, err := staticFS.ReadFile("static/" + name)
	if err != nil || name == "README" {
		return aegir.Errorf(aegir.ENOTFOUND, "no such file")
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	if r.FormValue("v") == staticVersions[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	_, err = w.Write(data)
	return err
}

// favicon sends the browsers that ask for /favicon.ico (for pages without
// the layout's icon link, such as the API's JSON) to the icon.
func (s *Server) favicon(w http.ResponseWriter, r *http.Request, _ *aegir.User) error {
	http.Redirect(w, r, "/static/favicon.svg?v="+staticVersions["favicon.svg"], http.StatusMovedPermanently)
	return nil
}

// --- rendering ---

// view is what every page template gets.
type view struct {
	User  *aegir.User
	Title string
	Nav   string // the menu entry to highlight
	Flash string
	Menu  []menuItem
	// Status is the answer's HTTP status, for error pages.
	Status int
	Data   any
}

// menuItem is one entry of the menu, shown only to those who may list it.
type menuItem struct {
	Name, Path, Label string
}

var menu = []menuItem{
	{"dashboard", "/", "Dashboard"},
	{"sites", "/sites", "Sites"},
	{"platforms", "/platforms", "Platforms"},
	{"servers", "/servers", "Servers"},
	{"clients", "/clients", "Clients"},
	{"users", "/users", "Users"},
	{"tasks", "/tasks", "Tasks"},
	{"dispatchers", "/dispatchers", "Dispatchers"},
	{"audit", "/audit", "Audit log"},
	{"notifications", "/notifications", "Notifications"},
}

// can reports whether u may do action on object, for showing links and
// buttons; the handlers they lead to check again.
func (s *Server) can(r *http.Request, u *aegir.User, action, object string) bool {
	return s.authorize(r.Context(), u, action, object) == nil
}

// fragments are the templates that render a piece of a page for htmx or
// the live log, not a page: they show no menu and leave the flash message
// for the next page.
var fragments = map[string]bool{"tasksummary": true, "profiles": true, "report": true}

// render writes a page. It renders into a buffer first, so that a
// template error is a clean 500 and not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, u *aegir.User, status int, name, title string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	v := view{User: u, Title: title, Nav: strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0], Status: status, Data: data}
	if v.Nav == "" {
		v.Nav = "dashboard"
	}
	if u != nil && !fragments[name] {
		v.Flash = s.sessions.PopString(r.Context(), keyFlash)
		for _, m := range menu {
			object := m.Name
			action := hosting.ActList
			if m.Name == "dashboard" || m.Name == "notifications" {
				v.Menu = append(v.Menu, m)
				continue
			}
			if m.Name == "audit" {
				action = hosting.ActRead
			}
			if s.can(r, u, action, object) {
				v.Menu = append(v.Menu, m)
			}
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// errorPage is the data of an error page.
type errorPage struct {
	Message string
}

// pageError renders an error as a page: the status from the one table,
// the message of a domain error, and for an internal error a generic
// message (the details go to the log, never to the browser).
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, u *aegir.User, err error) {
	code := aegir.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = aegir.EINTERNAL, http.StatusInternalServerError
	}
	msg := err.Error()
	title := http.StatusText(status)
	switch code {
	case aegir.EINTERNAL:
		s.Logger.Error("internal error", "method", r.Method, "path", logPath(r), "err", err)
		msg = "Something went wrong on our side. The details are in the server's log."
	case aegir.ENOTFOUND:
		title = "Not found"
	case eForbidden:
		title = "Not allowed"
	case aegir.EUNAUTHORIZED:
		s.toLogin(w, r)
		return
	}
	if rerr := s.render(w, r, u, status, "error", title, errorPage{Message: msg}); rerr != nil {
		s.Logger.Error("rendering an error page", "err", rerr, "for", err)
		http.Error(w, http.StatusText(status), status)
	}
}

// --- templates ---

// mustParsePages parses every page with the layout and the shared parts.
// The templates are embedded, so an error is a bug: it panics at start.
func mustParsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html"))
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
	}
	return pages
}

var templateFuncs = template.FuncMap{
	"static": func(name string) string {
		return "/static/" + name + "?v=" + staticVersions[name]
	},
	"datetime": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			if t.IsZero() {
				return "–"
			}
			return t.Local().Format("2006-01-02 15:04:05")
		case *time.Time:
			if t == nil || t.IsZero() {
				return "–"
			}
			return t.Local().Format("2006-01-02 15:04:05")
		}
		return "–"
	},
	"ago":      ago,
	"duration": taskDuration,
	// withDefaults is a server as its tasks see it (nginx on port 80 when
	// nothing is set), for lists that show what a server runs.
	"withDefaults": func(sv aegir.Server) aegir.Server { sv.Defaults(); return sv },
	"bytes":        humanBytes,
	"measured":     measured,
	"wrap":         wrapName,
	"at":           func(name string) string { return "@" + aegir.ContextName(name) },
	"bare":         aegir.ContextName,
	"base":         path.Base,
	"join":         strings.Join,
	"title":        func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"has":          func(list []string, v string) bool { return slices.Contains(list, v) },
	"add":          func(a, b int) int { return a + b },
	"statusClass": func(status string) string {
		switch status {
		case aegir.StatusSuccess, aegir.SiteEnabled, "verified", aegir.HealthUp:
			return "ok"
		case aegir.StatusWarning, aegir.SiteDisabled, aegir.StatusQueued:
			return "warn"
		case aegir.StatusFailed, aegir.HealthDown:
			return "bad"
		case aegir.StatusProcessing, aegir.SiteInstalling:
			return "busy"
		}
		return "none"
	},
	"statusText": func(status string) string {
		if status == "" {
			return "not installed"
		}
		return status
	},
	"field": func(f *form, name, label string) formField {
		return formField{Name: name, Label: label, Value: f.Values[name], Error: f.Errors[name]}
	},
	"value": func(f *form, name string) string { return f.Values[name] },
	"choices": func(opts []option, selected string) choiceList {
		return choiceList{Options: opts, Selected: selected}
	},
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict takes pairs")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, errors.New("dict keys are strings")
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"fmtnum": func(n int) string {
		s := strconv.Itoa(n)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	},
	"seconds": func(f float64) string {
		switch {
		case f < 1:
			return fmt.Sprintf("%.0f ms", f*1000)
		case f < 90:
			return fmt.Sprintf("%.1f s", f)
		}
		return fmt.Sprintf("%.0f min", f/60)
	},
}

// ago says how long ago t was, roughly.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case t.IsZero():
		return "–"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// taskDuration says how long a task ran (or has been running).
func taskDuration(t *aegir.Task) string {
	if t == nil || t.StartedAt == nil {
		return "–"
	}
	end := time.Now()
	if t.FinishedAt != nil {
		end = *t.FinishedAt
	}
	d := end.Sub(*t.StartedAt)
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return d.Round(100 * time.Millisecond).String()
}

// wrapName writes a long name (a site's address, a platform, a path) with
// a line-break opportunity after each ".", "_" and "/", so that a narrow
// column breaks it there rather than anywhere.
func wrapName(name string) template.HTML {
	return template.HTML(wrapPoints.Replace(template.HTMLEscapeString(name)))
}

var wrapPoints = strings.NewReplacer(".", ".<wbr>", "_", "_<wbr>", "/", "/<wbr>")

// measured reports whether a site's disk use was measured: the statistics
// pass sets both sizes, and a site on disk has at least its settings file,
// so two zeros mean no pass has measured it yet (a new site), not 0 B.
func measured(files, db int64) bool { return files != 0 || db != 0 }

// humanBytes writes a size in B, KiB, MiB...
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	exp := min(int(math.Log(float64(n))/math.Log(1024)), 5)
	return fmt.Sprintf("%.1f %ciB", float64(n)/math.Pow(1024, float64(exp)), "KMGTP"[exp-1])
}

// --- forms ---

// form is what a form shows: the values typed and the errors by field.
type form struct {
	Values map[string]string
	Errors map[string]string
	// Error is a message not tied to a field.
	Error string
}

// choiceList is a select's options and the chosen value.
type choiceList struct {
	Options  []option
	Selected string
}

// formField is one field as the "field" part renders it.
type formField struct {
	Name, Label, Value, Error string
}

func newForm() *form {
	return &form{Values: map[string]string{}, Errors: map[string]string{}}
}

// formOf returns a form holding the posted values of the named fields,
// trimmed.
func formOf(r *http.Request, names ...string) *form {
	f := newForm()
	for _, n := range names {
		f.Values[n] = strings.TrimSpace(r.PostFormValue(n))
	}
	return f
}

// fail records err on the form: a field error next to its field (fields
// named "args.X" or "X" by the API map to the form's X), anything else at
// the top. It returns the status to answer with, or the error itself when
// it is internal (an error page, not a form, shows it).
func (f *form) fail(err error) (int, error) {
	code := aegir.ErrorCode(err)
	if code == aegir.EINTERNAL || code == aegir.EUNAUTHORIZED {
		return 0, err
	}
	var e *aegir.Error
	if errors.As(err, &e) && e.Field != "" {
		name := strings.TrimPrefix(e.Field, "args.")
		if strings.HasPrefix(name, aegir.CustomPrefix) {
			name = "custom" // one field holds them all
		}
		if _, ok := f.Values[name]; ok {
			f.Errors[name] = e.Message
			return statusOf[code], nil
		}
	}
	f.Error = err.Error()
	if s, ok := statusOf[code]; ok {
		return s, nil
	}
	return http.StatusBadRequest, nil
}

// redirect answers a form post with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// Each form shows field errors next to the field and keeps what was
// typed; a change that queues a task goes on to the task's page.

// option is one choice of a select.
type option struct {
	Value, Label string
}

// formData is what a form page gets: the form, the choices of its
// selects, and the object it is about.
type formData struct {
	Form    *form
	Options map[string][]option
	Object  any
	Extra   any
}

// formProps returns the non-empty values of the named fields as context
// properties.
func formProps(f *form, names ...string) map[string]string {
	props := map[string]string{}
	for _, n := range names {
		if v := f.Values[n]; v != "" {
			props[n] = v
		}
	}
	return props
}

// renderForm renders a form page with the status of its outcome.
func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, u *aegir.User, status int, page, title string, d formData) error {
	return s.render(w, r, u, status, page, title, d)
}

// formFailed renders a form again after err, with the error next to its
// field; an internal error becomes an error page.
func (s *Server) formFailed(w http.ResponseWriter, r *http.Request, u *aegir.User, err error, page, title string, d formData) error {
	status, err := d.Form.fail(err)
	if err != nil {
		return err
	}
	return s.renderForm(w, r, u, status, page, title, d)
}

// splitList reads a comma or space separated list.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

// --- lists ---

// listPage is a page of a list with its filters.
type listPage struct {
	Query   url.Values // the filters, without the page
	Page    int
	PerPage int
	Total   int
	From    int
	To      int
	Prev    string // URL of the previous page, "" on the first
	Next    string
}

// newListPage reads the page number and fills in the paging links.
func newListPage(r *http.Request, total, perPage int, filters ...string) listPage {
	page, _ := strconv.Atoi(r.FormValue("page"))
	page = max(page, 1)
	q := url.Values{}
	for _, f := range filters {
		if v := strings.TrimSpace(r.FormValue(f)); v != "" {
			q.Set(f, v)
		}
	}
	lp := listPage{Query: q, Page: page, PerPage: perPage, Total: total}
	if total > 0 {
		lp.From = min((page-1)*perPage+1, total)
		lp.To = min(page*perPage, total)
	}
	link := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		return r.URL.Path + "?" + v.Encode()
	}
	if page > 1 {
		lp.Prev = link(page - 1)
	}
	if page*perPage < total {
		lp.Next = link(page + 1)
	}
	return lp
}

// pageNumber reads ?page=N (1 when missing or bad).
func pageNumber(r *http.Request) int {
	page, _ := strconv.Atoi(r.FormValue("page"))
	return max(page, 1)
}

// uiPerPage is the size of a list page in the UI.
const uiPerPage = 50

// queryMap returns the named query parameters, trimmed.
func queryMap(r *http.Request, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		out[n] = strings.TrimSpace(r.FormValue(n))
	}
	return out
}

// --- object pages ---

// prop is one property as a page shows it.
type prop struct {
	Name, Value string
}

// serverProps are the properties that name servers, which only those
// who may see servers see.
var serverProps = []string{"web_server", "db_server"}

// pathProps are the properties that are paths on a server, which only
// those who see the machines see (hosting.ShowsMachines).
var pathProps = []string{"root"}

// propsOf returns the properties of a context in declaration order, with
// secrets masked, and without the servers and paths on them unless
// showMachines.
func propsOf(c *aegir.Context, showMachines bool) []prop {
	public := hosting.PublicProps(c)
	var out []prop
	for _, p := range aegir.Properties(c.Type) {
		if !showMachines && (slices.Contains(serverProps, p.Name) || slices.Contains(pathProps, p.Name)) {
			continue
		}
		v := public[p.Name]
		if !showMachines {
			v = fileNames(v)
		}
		var text string
		switch v := v.(type) {
		case []string:
			text = strings.Join(v, ", ")
		case aegir.Custom:
			text = strings.ReplaceAll(strings.TrimSpace(customText(v)), "\n", ", ")
		case string:
			text = v
		case int:
			if v != 0 {
				text = strconv.Itoa(v)
			}
		case bool:
			if v {
				text = "true" // false is the default: not shown, as a zero
			}
		default:
			text = fmt.Sprint(v)
		}
		out = append(out, prop{p.Name, text})
	}
	return out
}

// customText is a context's custom properties as the custom field of a
// form shows them: one NAME=value a line, by name.
func customText(c aegir.Custom) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(c)) {
		fmt.Fprintf(&b, "%s=%s\n", name, c[name])
	}
	return b.String()
}

// formCustom returns the custom field of a form (one NAME=value a line;
// blank lines are skipped) as custom.NAME properties, which hosting
// validates as the API's; a name of old the field no longer holds is
// removed.
func formCustom(f *form, old aegir.Custom) (map[string]string, error) {
	props := map[string]string{}
	for name := range old {
		props[aegir.CustomPrefix+name] = ""
	}
	for i, line := range strings.Split(f.Values["custom"], "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, aegir.FieldErrorf("custom", "line %d is not NAME=value", i+1)
		}
		props[aegir.CustomPrefix+strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return props, nil
}
