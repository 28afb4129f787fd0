package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// --- the dashboard ---

// statusCount is how many objects are in one status.
type statusCount struct {
	Status string
	Count  int
}

// taskBox is the first tasks of a status and how many there are.
type taskBox struct {
	Tasks []*aegir.Task
	Total int
}

type dashboardData struct {
	Sites         []statusCount
	SitesTotal    int
	Processing    taskBox
	Queued        taskBox
	Failed        taskBox
	FailedBackups []*aegir.Task
	Disk          []aegir.DiskUsage
	DiskTotal     aegir.DiskUsage
	ShowServers   bool
	Chart         chart
}

// dashboardPage counts with a bounded number of indexed queries, all in
// the user's scope: it stays fast with any number of sites and tasks.
func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	ctx := r.Context()
	d := dashboardData{ShowServers: s.can(r, u, hosting.ActList, "servers")}
	if s.can(r, u, hosting.ActList, "sites") {
		scope, _ := hosting.ListScope(u, hosting.KindSite)
		_, total, err := s.Store.ListSites(ctx, aegir.SiteFilter{PerPage: 1, Scope: scope})
		if err != nil {
			return err
		}
		rest := total
		for _, status := range []string{aegir.SiteEnabled, aegir.SiteDisabled, aegir.SiteInstalling, aegir.SiteFailed, aegir.SiteDeleted} {
			_, n, err := s.Store.ListSites(ctx, aegir.SiteFilter{Status: status, PerPage: 1, Scope: scope})
			if err != nil {
				return err
			}
			rest -= n
			if status != aegir.SiteDeleted {
				d.SitesTotal += n
				d.Sites = append(d.Sites, statusCount{status, n})
			}
		}
		d.Sites = append(d.Sites, statusCount{"other", rest})
		d.SitesTotal += rest
	}
	scope, types := hosting.ListScope(u, hosting.KindTask)
	box := func(f aegir.TaskFilter) (taskBox, error) {
		f.Scope, f.ObjectTypes, f.PerPage = scope, types, 8
		list, total, err := s.Store.ListTasks(ctx, f)
		return taskBox{list, total}, err
	}
	var err error
	if d.Processing, err = box(aegir.TaskFilter{Status: aegir.StatusProcessing}); err != nil {
		return err
	}
	if d.Queued, err = box(aegir.TaskFilter{Status: aegir.StatusQueued}); err != nil {
		return err
	}
	if d.Failed, err = box(aegir.TaskFilter{Status: aegir.StatusFailed}); err != nil {
		return err
	}
	backups, err := box(aegir.TaskFilter{Status: aegir.StatusFailed, Type: aegir.TaskBackup})
	if err != nil {
		return err
	}
	d.FailedBackups = backups.Tasks
	siteScope, _ := hosting.ListScope(u, hosting.KindSite)
	if d.Disk, err = s.Store.DiskUsage(ctx, siteScope); err != nil {
		return err
	}
	for _, du := range d.Disk {
		d.DiskTotal.Files += du.Files
		d.DiskTotal.DB += du.DB
	}
	since := time.Now().Add(-23 * time.Hour).Truncate(time.Hour)
	hours, err := s.Store.TaskHistory(ctx, since, aegir.TaskFilter{Scope: scope, ObjectTypes: types})
	if err != nil {
		return err
	}
	d.Chart = newChart(since, hours)
	return s.render(w, r, u, http.StatusOK, "dashboard", "Dashboard", d)
}

// chart is the inline SVG of task throughput (bars: tasks finished per
// hour, failed ones on top in red) and durations (a line: the average
// duration in that hour) over the last day.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Line          string // polyline points of the average durations
	Dots          []chartDot
	Labels        []chartLabel
	MaxCount      int
	MaxSeconds    float64
	Finished      int
	Failed        int
	Empty         bool
}

type chartBar struct {
	X, Width         float64
	Y, Height        float64 // the whole bar
	FailY, FailH     float64 // its failed part
	Title            string
	Finished, Failed int
}

type chartDot struct {
	X, Y  float64
	Title string
}

type chartLabel struct {
	X    float64
	Text string
}

const (
	chartW, chartH = 720, 160
	chartTop       = 10
	chartBottom    = 20 // room for the hour labels
)

func newChart(since time.Time, hours []aegir.TaskHour) chart {
	c := chart{Width: chartW, Height: chartH}
	byHour := map[int64]aegir.TaskHour{}
	for _, h := range hours {
		byHour[h.Hour.Unix()] = h
		c.MaxCount = max(c.MaxCount, h.Finished)
		c.MaxSeconds = max(c.MaxSeconds, h.AvgSeconds)
		c.Finished += h.Finished
		c.Failed += h.Failed
	}
	c.Empty = c.Finished == 0
	slot := float64(chartW) / 24
	plot := float64(chartH - chartTop - chartBottom)
	var points []string
	for i := range 24 {
		start := since.Add(time.Duration(i) * time.Hour)
		h := byHour[start.UTC().Unix()]
		x := float64(i) * slot
		b := chartBar{X: x + 2, Width: slot - 4, Finished: h.Finished, Failed: h.Failed}
		if c.MaxCount > 0 {
			b.Height = plot * float64(h.Finished) / float64(c.MaxCount)
			b.FailH = plot * float64(h.Failed) / float64(c.MaxCount)
		}
		b.Y = chartTop + plot - b.Height
		b.FailY = b.Y
		b.Title = fmt.Sprintf("%s: %d tasks finished, %d failed, %.1f s on average", start.Local().Format("15:04"), h.Finished, h.Failed, h.AvgSeconds)
		c.Bars = append(c.Bars, b)
		if h.Finished > 0 && c.MaxSeconds > 0 {
			y := chartTop + plot - plot*h.AvgSeconds/c.MaxSeconds
			points = append(points, fmt.Sprintf("%.1f,%.1f", x+slot/2, y))
			c.Dots = append(c.Dots, chartDot{X: x + slot/2, Y: y, Title: fmt.Sprintf("%s: %.1f s on average, %.1f s at most", start.Local().Format("15:04"), h.AvgSeconds, h.MaxSeconds)})
		}
		if i%4 == 0 {
			c.Labels = append(c.Labels, chartLabel{X: x + 2, Text: start.Local().Format("15:04")})
		}
	}
	c.Line = strings.Join(points, " ")
	return c
}

// --- lists ---

type sitesData struct {
	List      listPage
	Sites     []*aegir.SiteRecord
	Statuses  []string
	Q         map[string]string
	CanCreate bool
}

// sitesPage lists one page of sites with search and filters; the store
// counts and pages, so it takes the same time with 10 or 10,000 sites.
func (s *Server) sitesPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "sites"); err != nil {
		return err
	}
	scope, _ := hosting.ListScope(u, hosting.KindSite)
	f := aegir.SiteFilter{Query: strings.TrimSpace(r.FormValue("q")), Platform: aegir.ContextName(strings.TrimSpace(r.FormValue("platform"))),
		Client: strings.TrimSpace(r.FormValue("client")), Status: r.FormValue("status"), Page: pageNumber(r), PerPage: uiPerPage, Scope: scope}
	if f.Status == "not_installed" {
		f.Status = ""
	}
	list, total, err := s.Store.ListSites(r.Context(), f)
	if err != nil {
		return err
	}
	d := sitesData{List: newListPage(r, total, uiPerPage, "q", "status", "platform", "client"), Sites: list,
		Statuses: []string{aegir.SiteEnabled, aegir.SiteDisabled, aegir.SiteInstalling, aegir.SiteFailed, aegir.SiteDeleted},
		Q:        queryMap(r, "q", "status", "platform", "client"), CanCreate: s.can(r, u, hosting.ActCreate, "sites")}
	return s.render(w, r, u, http.StatusOK, "sites", "Sites", d)
}

// queryMap returns the named query parameters, trimmed.
func queryMap(r *http.Request, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		out[n] = strings.TrimSpace(r.FormValue(n))
	}
	return out
}

type serversData struct {
	List      listPage
	Servers   []*aegir.ServerRecord
	Q         map[string]string
	CanCreate bool
}

func (s *Server) serversPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "servers"); err != nil {
		return err
	}
	list, total, err := s.Store.ListServers(r.Context(), aegir.ListFilter{Query: strings.TrimSpace(r.FormValue("q")), Page: pageNumber(r), PerPage: uiPerPage})
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "servers", "Servers", serversData{List: newListPage(r, total, uiPerPage, "q"), Servers: list,
		Q: queryMap(r, "q"), CanCreate: s.can(r, u, hosting.ActCreate, "servers")})
}

type platformsData struct {
	List        listPage
	Platforms   []*aegir.PlatformRecord
	Q           map[string]string
	CanCreate   bool
	ShowServers bool
}

func (s *Server) platformsPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "platforms"); err != nil {
		return err
	}
	scope, _ := hosting.ListScope(u, hosting.KindPlatform)
	list, total, err := s.Store.ListPlatforms(r.Context(), aegir.ListFilter{Query: strings.TrimSpace(r.FormValue("q")), Page: pageNumber(r), PerPage: uiPerPage, Scope: scope})
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "platforms", "Platforms", platformsData{List: newListPage(r, total, uiPerPage, "q"), Platforms: list,
		Q: queryMap(r, "q"), CanCreate: s.can(r, u, hosting.ActCreate, "platforms"), ShowServers: s.can(r, u, hosting.ActList, "servers")})
}

type clientsData struct {
	List      listPage
	Clients   []*aegir.Client
	Q         map[string]string
	CanCreate bool
}

func (s *Server) clientsPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "clients"); err != nil {
		return err
	}
	scope, _ := hosting.ListScope(u, hosting.KindClient)
	list, total, err := s.Service.ListClients(r.Context(), aegir.ListFilter{Query: strings.TrimSpace(r.FormValue("q")), Page: pageNumber(r), PerPage: uiPerPage, Scope: scope})
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "clients", "Clients", clientsData{List: newListPage(r, total, uiPerPage, "q"), Clients: list,
		Q: queryMap(r, "q"), CanCreate: s.can(r, u, hosting.ActCreate, "clients")})
}

type usersData struct {
	List      listPage
	Users     []*aegir.User
	Q         map[string]string
	CanCreate bool
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "users"); err != nil {
		return err
	}
	scope, _ := hosting.ListScope(u, hosting.KindUser)
	list, total, err := s.Service.ListUsers(r.Context(), aegir.ListFilter{Query: strings.TrimSpace(r.FormValue("q")), Page: pageNumber(r), PerPage: uiPerPage, Scope: scope})
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "users", "Users", usersData{List: newListPage(r, total, uiPerPage, "q"), Users: list,
		Q: queryMap(r, "q"), CanCreate: s.can(r, u, hosting.ActCreate, "users")})
}

type tasksData struct {
	List     listPage
	Tasks    []*aegir.Task
	Q        map[string]string
	Statuses []string
	Types    []string
}

func (s *Server) tasksPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "tasks"); err != nil {
		return err
	}
	scope, types := hosting.ListScope(u, hosting.KindTask)
	q := queryMap(r, "status", "type", "object")
	if q["status"] != "" && !slices.Contains(hosting.TaskStatuses, q["status"]) {
		q["status"] = ""
	}
	f := aegir.TaskFilter{Status: q["status"], Type: q["type"], Object: aegir.ContextName(q["object"]), Page: pageNumber(r), PerPage: uiPerPage,
		Scope: scope, ObjectTypes: types}
	list, total, err := s.Store.ListTasks(r.Context(), f)
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "tasks", "Tasks", tasksData{List: newListPage(r, total, uiPerPage, "status", "type", "object"),
		Tasks: list, Q: q, Statuses: hosting.TaskStatuses, Types: hosting.TaskTypes("")})
}

type auditData struct {
	List    listPage
	Entries []*aegir.AuditEntry
	Q       map[string]string
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindAudit); err != nil {
		return err
	}
	q := queryMap(r, "actor", "object")
	list, total, err := s.Service.ListAudit(r.Context(), aegir.AuditFilter{Actor: q["actor"], Object: q["object"], Page: pageNumber(r), PerPage: uiPerPage})
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "audit", "Audit log", auditData{List: newListPage(r, total, uiPerPage, "actor", "object"), Entries: list, Q: q})
}

// --- object pages ---

// prop is one property as a page shows it.
type prop struct {
	Name, Value string
}

// serverProps are the properties that name servers, which only those
// who may see servers see.
var serverProps = []string{"web_server", "db_server"}

// propsOf returns the properties of a context in declaration order, with
// secrets masked, and without the servers unless showServers.
func propsOf(c *aegir.Context, showServers bool) []prop {
	public := hosting.PublicProps(c)
	var out []prop
	for _, p := range aegir.Properties(c.Type) {
		if !showServers && slices.Contains(serverProps, p.Name) {
			continue
		}
		v := public[p.Name]
		var text string
		switch v := v.(type) {
		case []string:
			text = strings.Join(v, ", ")
		case string:
			text = v
		case int:
			if v != 0 {
				text = strconv.Itoa(v)
			}
		default:
			text = fmt.Sprint(v)
		}
		out = append(out, prop{p.Name, text})
	}
	return out
}

// button is a task a page offers: a plain button that queues it, or a
// link to the form that asks for its arguments.
type button struct {
	Type, Label, Form string
	Danger            bool
}

// taskForms are the tasks that need a form for their arguments.
var taskForms = map[string]string{aegir.TaskMigrate: "migrate", aegir.TaskClone: "clone", aegir.TaskRestore: "restore",
	aegir.TaskMigratePlatform: "migrate"}

// buttons returns the buttons of the tasks an object allows in its state
// that the user may queue: the two rule sets, hosting's state rules and
// the role rules, in one list. backup-delete has its buttons beside each
// backup.
func (s *Server) buttons(r *http.Request, u *aegir.User, kind, name string, allowed []string) []button {
	var out []button
	for _, t := range allowed {
		if t == aegir.TaskBackupDelete || t == aegir.TaskNoop || t == aegir.TaskImport && kind != hosting.KindSite {
			continue
		}
		if !s.can(r, u, hosting.ActTask+t, kind+":"+name) {
			continue
		}
		b := button{Type: t, Label: strings.ReplaceAll(t, "-", " "), Danger: t == aegir.TaskDelete || t == aegir.TaskDisable}
		if f, ok := taskForms[t]; ok {
			b.Form = "/" + kind + "s/" + name + "/" + f
		}
		out = append(out, b)
	}
	return out
}

type siteData struct {
	Site      *aegir.SiteRecord
	Props     []prop
	Platform  *aegir.PlatformRecord
	URL       string
	Buttons   []button
	Backups   []*aegir.Backup
	Tasks     []*aegir.Task
	Packages  []aegir.Package
	CanEdit   bool
	CanBackup bool // may delete backups
}

// siteURL is where a site answers: its uri on the port of its platform's
// web server.
func (s *Server) siteURL(r *http.Request, site *aegir.SiteRecord, p *aegir.PlatformRecord) string {
	port := 0
	if p != nil {
		if srv, err := s.Store.GetServer(r.Context(), aegir.ContextName(p.Platform.WebServer)); err == nil {
			port = srv.Server.HTTPPort
		}
	}
	if port == 0 || port == 80 {
		return "http://" + site.Name + "/"
	}
	return fmt.Sprintf("http://%s:%d/", site.Name, port)
}

func (s *Server) sitePage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	ctx := r.Context()
	name := objectName(r)
	if err := s.authorize(ctx, u, hosting.ActRead, hosting.KindSite+":"+name); err != nil {
		return err
	}
	site, err := s.Store.GetSite(ctx, name)
	if err != nil {
		return err
	}
	d := siteData{Site: site, Props: propsOf(site.Context(), s.can(r, u, hosting.ActList, "servers")), CanEdit: site.Status != aegir.SiteDeleted && s.can(r, u, hosting.ActUpdate, hosting.KindSite+":"+name)}
	if p, err := s.Store.GetPlatform(ctx, aegir.ContextName(site.Site.Platform)); err == nil {
		d.Platform = p
	} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return err
	}
	d.URL = s.siteURL(r, site, d.Platform)
	d.Buttons = s.buttons(r, u, hosting.KindSite, name, s.Service.AllowedTasks(site))
	d.CanBackup = slices.Contains(s.Service.AllowedTasks(site), aegir.TaskBackupDelete) && s.can(r, u, hosting.ActTask+aegir.TaskBackupDelete, hosting.KindSite+":"+name)
	if d.Backups, err = s.Store.ListBackups(ctx, name); err != nil {
		return err
	}
	if d.Tasks, _, err = s.Store.ListTasks(ctx, aegir.TaskFilter{Object: name, ObjectTypes: []aegir.ContextType{aegir.SiteContext}, PerPage: 10}); err != nil {
		return err
	}
	if d.Packages, err = s.Store.SitePackages(ctx, name); err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "site", site.Name, d)
}

type platformData struct {
	ShowServers bool
	Platform    *aegir.PlatformRecord
	Props       []prop
	Buttons     []button
	Sites       []*aegir.SiteRecord
	SiteTotal   int
	Tasks       []*aegir.Task
	Packages    []aegir.Package
	CanEdit     bool
}

func (s *Server) platformPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	ctx := r.Context()
	name := objectName(r)
	if err := s.authorize(ctx, u, hosting.ActRead, hosting.KindPlatform+":"+name); err != nil {
		return err
	}
	p, err := s.Store.GetPlatform(ctx, name)
	if err != nil {
		return err
	}
	shown := *p
	if u.Role == aegir.RoleClient {
		shown.Clients = slices.DeleteFunc(slices.Clone(p.Clients), func(c string) bool { return !slices.Contains(u.Clients, c) })
	}
	showServers := s.can(r, u, hosting.ActList, "servers")
	d := platformData{ShowServers: showServers, Platform: &shown, Props: propsOf(p.Context(), showServers), CanEdit: s.can(r, u, hosting.ActUpdate, hosting.KindPlatform+":"+name)}
	d.Buttons = s.buttons(r, u, hosting.KindPlatform, name, hosting.TaskTypes(aegir.PlatformContext))
	scope, _ := hosting.ListScope(u, hosting.KindSite)
	if d.Sites, d.SiteTotal, err = s.Store.ListSites(ctx, aegir.SiteFilter{Platform: name, PerPage: 20, Scope: scope}); err != nil {
		return err
	}
	if u.Role != aegir.RoleClient { // client users see the tasks of their sites only
		if d.Tasks, _, err = s.Store.ListTasks(ctx, aegir.TaskFilter{Object: name, ObjectTypes: []aegir.ContextType{aegir.PlatformContext}, PerPage: 10}); err != nil {
			return err
		}
	}
	if d.Packages, err = s.Store.PlatformPackages(ctx, name); err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "platform", "@"+p.Name, d)
}

type serverData struct {
	Server  *aegir.ServerRecord
	Props   []prop
	Buttons []button
	Tasks   []*aegir.Task
}

func (s *Server) serverPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	ctx := r.Context()
	name := objectName(r)
	if err := s.authorize(ctx, u, hosting.ActRead, hosting.KindServer+":"+name); err != nil {
		return err
	}
	srv, err := s.Store.GetServer(ctx, name)
	if err != nil {
		return err
	}
	d := serverData{Server: srv, Props: propsOf(srv.Context(), true)}
	d.Buttons = s.buttons(r, u, hosting.KindServer, name, []string{aegir.TaskVerify, aegir.TaskDelete})
	if d.Tasks, _, err = s.Store.ListTasks(ctx, aegir.TaskFilter{Object: name, ObjectTypes: []aegir.ContextType{aegir.ServerContext}, PerPage: 10}); err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "server", "@"+srv.Name, d)
}

type clientData struct {
	Client    *aegir.Client
	Sites     []*aegir.SiteRecord
	SiteTotal int
	Users     []*aegir.User
	ShowUsers bool
}

func (s *Server) clientPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	ctx := r.Context()
	name := r.PathValue("name")
	if err := s.authorize(ctx, u, hosting.ActRead, hosting.KindClient+":"+name); err != nil {
		return err
	}
	c, err := s.Service.GetClient(ctx, name)
	if err != nil {
		return err
	}
	d := clientData{Client: c, ShowUsers: s.can(r, u, hosting.ActList, "users")}
	if d.Sites, d.SiteTotal, err = s.Store.ListSites(ctx, aegir.SiteFilter{Client: name, PerPage: 20}); err != nil {
		return err
	}
	if d.ShowUsers {
		if d.Users, _, err = s.Service.ListUsers(ctx, aegir.ListFilter{PerPage: 100, Scope: aegir.Scope{Limited: true, Clients: []string{name}}}); err != nil {
			return err
		}
	}
	return s.render(w, r, u, http.StatusOK, "client", c.Name, d)
}

// --- tasks ---

type taskPageData struct {
	Task      *aegir.Task
	Log       []aegir.TaskLogEntry
	Live      bool
	Expected  float64 // seconds a task of this type usually takes, 0 if unknown
	Link      string  // a login link the user may see
	ObjectURL string
	Buttons   []string // cancel, retry
}

// taskData reads a task the user may see, with what its page shows.
func (s *Server) taskPageData(r *http.Request, u *aegir.User) (*taskPageData, error) {
	ctx := r.Context()
	id, err := taskID(r)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, u, hosting.ActRead, fmt.Sprintf("task:%d", id)); err != nil {
		return nil, err
	}
	t, err := s.Store.GetTask(ctx, id)
	if err != nil {
		return nil, err
	}
	shown := s.taskShown(ctx, u, t)
	d := &taskPageData{Task: shown, Live: !finished(t.Status), ObjectURL: "/" + string(t.ObjectType) + "s/" + t.Object}
	if link, ok := shown.Data[loginLinkData].(string); ok && link != hosting.Masked {
		d.Link = link
	}
	if t.Status == aegir.StatusQueued && s.can(r, u, hosting.ActCancel, fmt.Sprintf("task:%d", id)) {
		d.Buttons = append(d.Buttons, "cancel")
	}
	if t.Status == aegir.StatusFailed && s.can(r, u, hosting.ActRetry, fmt.Sprintf("task:%d", id)) {
		d.Buttons = append(d.Buttons, "retry")
	}
	return d, nil
}

// taskPage shows a task and its log; while it runs, the page follows the
// log live (server-sent events from /api/tasks/ID/log) with a progress
// bar measured against how long the last tasks of its type took.
func (s *Server) taskPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	d, err := s.taskPageData(r, u)
	if err != nil {
		return err
	}
	if d.Log, err = s.Store.TaskLog(r.Context(), d.Task.ID, 0); err != nil {
		return err
	}
	if d.Live {
		recent, _, err := s.Store.ListTasks(r.Context(), aegir.TaskFilter{Type: d.Task.Type, Status: aegir.StatusSuccess, PerPage: 20})
		if err != nil {
			return err
		}
		var sum float64
		var n int
		for _, t := range recent {
			if t.StartedAt != nil && t.FinishedAt != nil {
				sum += t.FinishedAt.Sub(*t.StartedAt).Seconds()
				n++
			}
		}
		if n > 0 {
			d.Expected = sum / float64(n)
		}
	}
	return s.render(w, r, u, http.StatusOK, "task", fmt.Sprintf("Task %d: %s %s", d.Task.ID, d.Task.Type, d.Task.Object), d)
}

// taskSummary renders the task's status panel alone: the page fetches it
// when the live log ends, to show the final status without a reload.
func (s *Server) taskSummary(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	d, err := s.taskPageData(r, u)
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "tasksummary", "", d)
}

func (s *Server) taskCancel(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActCancel, fmt.Sprintf("task:%d", id)); err != nil {
		return err
	}
	if err := s.Service.CancelTask(r.Context(), id); err != nil {
		if aegir.ErrorCode(err) == aegir.EINTERNAL {
			return err
		}
		s.flash(r, err.Error())
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", id))
}

func (s *Server) taskRetry(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActRetry, fmt.Sprintf("task:%d", id)); err != nil {
		return err
	}
	t, err := s.Service.RetryTask(r.Context(), id)
	if err != nil {
		if aegir.ErrorCode(err) == aegir.EINTERNAL {
			return err
		}
		s.flash(r, err.Error())
		return redirect(w, r, fmt.Sprintf("/tasks/%d", id))
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

// taskButton queues a task from a button on an object's page (type, and
// files for backup-delete) and goes to the task's page; a refusal goes
// back to the object's page with the reason.
func (s *Server) taskButton(objType aegir.ContextType) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
		name := objectName(r)
		typ := r.PostFormValue("type")
		if err := s.authorize(r.Context(), u, hosting.ActTask+typ, string(objType)+":"+name); err != nil {
			return err
		}
		args := map[string]string{}
		if files := r.PostFormValue("files"); files != "" {
			args["files"] = files
		}
		t, err := s.Service.CreateTask(r.Context(), hosting.TaskRequest{ObjectType: objType, Object: name, Type: typ, Args: args}, u.Name)
		if err != nil {
			if aegir.ErrorCode(err) == aegir.EINTERNAL {
				return err
			}
			s.flash(r, "The "+typ+" task was not queued: "+err.Error())
			return redirect(w, r, "/"+string(objType)+"s/"+name)
		}
		return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
	}
}
