package web

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// This file holds platforms: their collection in the API, their pages
// and forms (add, lock, migrate every site), and the platforms a form
// offers.

// platformsKind is the API's collection of platforms.
var platformsKind = &objectKind{
	plural: "platforms", singular: "platform", ctxType: aegir.PlatformContext,
	list: func(s *Server, r *http.Request, c caller, page, perPage int) ([]any, int, error) {
		scope, _ := hosting.ListScope(c.u, hosting.KindPlatform)
		list, total, err := s.Store.ListPlatforms(r.Context(), aegir.ListFilter{Query: r.FormValue("q"), Page: page, PerPage: perPage, Scope: scope})
		return showAll(list, s.platformShown(r.Context(), c.u)), total, err
	},
	get: func(s *Server, ctx context.Context, c caller, name string) (any, error) {
		rec, err := s.Store.GetPlatform(ctx, name)
		return showOne(rec, err, s.platformShown(ctx, c.u))
	},
	create: func(s *Server, ctx context.Context, c caller, b body) (any, *aegir.Task, error) {
		in, err := platformInput(b)
		if err != nil {
			return nil, nil, err
		}
		if err := s.checkPlatformInput(ctx, c.u, in); err != nil {
			return nil, nil, err
		}
		rec, t, err := s.Service.CreatePlatform(ctx, in, c.a.Name)
		return showTask(rec, t, err, s.platformShown(ctx, c.u))
	},
	update: func(s *Server, ctx context.Context, c caller, name string, b body) (any, *aegir.Task, error) {
		in, err := platformInput(b)
		if err != nil {
			return nil, nil, err
		}
		if err := s.checkPlatformInput(ctx, c.u, in); err != nil {
			return nil, nil, err
		}
		rec, t, err := s.Service.UpdatePlatform(ctx, name, in, c.a.Name)
		return showTask(rec, t, err, s.platformShown(ctx, c.u))
	},
	remove: func(s *Server, ctx context.Context, c caller, name string) (*aegir.Task, error) {
		return s.Service.DeletePlatform(ctx, name, c.a.Name)
	},
}

func platformInput(b body) (hosting.PlatformInput, error) {
	var in hosting.PlatformInput
	var err error
	if in.Name, _, err = b.takeString("name"); err != nil {
		return in, err
	}
	if in.Locked, err = b.takeBool("locked"); err != nil {
		return in, err
	}
	if in.Clients, err = b.takeStrings("clients"); err != nil {
		return in, err
	}
	in.Props, err = b.props("app", "version", "status", "created_at", "updated_at")
	return in, err
}

// platformShown returns how a platform is shown to u: a client user sees
// only their own clients among those it is limited to, and only those who
// may see servers see which server it is on and where its codebase is
// there (its root, and a source that is a path on the server).
func (s *Server) platformShown(ctx context.Context, u *aegir.User) func(*aegir.PlatformRecord) map[string]any {
	hide := s.hideServers(ctx, u)
	showPaths := hosting.ShowsMachines(u)
	return func(r *aegir.PlatformRecord) map[string]any {
		c := *r
		if u != nil && u.Role == aegir.RoleClient {
			c.Clients = nil
			for _, name := range r.Clients {
				if slices.Contains(u.Clients, name) {
					c.Clients = append(c.Clients, name)
				}
			}
		}
		m := hide(platformJSON(&c))
		if !showPaths {
			for _, name := range pathProps {
				delete(m, name)
			}
			m["makefile"] = fileNames(m["makefile"])
			m["composer"] = fileNames(m["composer"])
		}
		return m
	}
}

func platformJSON(r *aegir.PlatformRecord) map[string]any {
	m := hosting.PublicProps(r.Context())
	m["name"], m["status"], m["created_at"], m["updated_at"] = r.Name, r.Status, r.CreatedAt, r.UpdatedAt
	m["app"], m["version"], m["locked"] = r.App, r.Version, r.Locked
	m["clients"] = r.Clients
	if r.Clients == nil {
		m["clients"] = []string{}
	}
	return m
}

// --- pages ---

type platformsData struct {
	List      listPage
	Platforms []*aegir.PlatformRecord
	Q         map[string]string
	CanCreate bool
	// ShowServers shows the servers and the roots on them.
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
		Q: queryMap(r, "q"), CanCreate: s.can(r, u, hosting.ActCreate, "platforms"), ShowServers: hosting.ShowsMachines(u)})
}

type platformData struct {
	// ShowServers shows the server and the root on it.
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
	showServers := hosting.ShowsMachines(u)
	d := platformData{ShowServers: showServers, Platform: &shown, Props: propsOf(p.Context(), showServers), CanEdit: s.can(r, u, hosting.ActUpdate, hosting.KindPlatform+":"+name)}
	d.Buttons = s.buttons(r, u, hosting.KindPlatform, name, hosting.TaskTypes(aegir.PlatformContext))
	if p.Platform.SourceKind() != "" {
		// A platform built from a source can be built anew (from its lock).
		for _, b := range d.Buttons {
			if b.Type == aegir.TaskVerify {
				d.Buttons = append(d.Buttons, button{Type: aegir.TaskVerify, Label: "rebuild", Flag: "rebuild", Danger: true})
				break
			}
		}
	}
	scope, _ := hosting.ListScope(u, hosting.KindSite)
	if d.Sites, d.SiteTotal, err = s.Service.ListLiveSites(ctx, aegir.SiteFilter{Platform: name, PerPage: 20, Scope: scope}); err != nil {
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

// --- forms ---

var platformFields = []string{"name", "root", "makefile", "git_url", "git_ref", "composer", "update_url", "web_server", "clients", "locked"}

func (s *Server) platformForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "platforms"); err != nil {
		return err
	}
	servers, err := s.serverChoices(r.Context())
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["web_server"] = aegir.MasterServer
	return s.renderForm(w, r, u, http.StatusOK, "platformform", "Add a platform", formData{Form: f, Options: map[string][]option{"web_server": servers}})
}

// platformCreate adds a platform (on a root path, or built from a source)
// and queues its verify.
func (s *Server) platformCreate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "platforms"); err != nil {
		return err
	}
	servers, err := s.serverChoices(r.Context())
	if err != nil {
		return err
	}
	f := formOf(r, append(platformFields, "custom")...)
	d := formData{Form: f, Options: map[string][]option{"web_server": servers}}
	locked := r.PostFormValue("locked") != ""
	clients := splitList(f.Values["clients"])
	in := hosting.PlatformInput{Name: f.Values["name"], Props: formProps(f, "root", "makefile", "git_url", "git_ref", "composer", "update_url", "web_server"), Locked: &locked, Clients: &clients}
	custom, err := formCustom(f, nil)
	if err != nil {
		return s.formFailed(w, r, u, err, "platformform", "Add a platform", d)
	}
	maps.Copy(in.Props, custom)
	if err := s.checkPlatformInput(r.Context(), u, in); err != nil {
		return s.formFailed(w, r, u, err, "platformform", "Add a platform", d)
	}
	_, t, err := s.Service.CreatePlatform(r.Context(), in, u.Name)
	if err != nil {
		return s.formFailed(w, r, u, err, "platformform", "Add a platform", d)
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

// platformLock locks or unlocks a platform (locked=1 or 0).
func (s *Server) platformLock(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := objectName(r)
	if err := s.authorize(r.Context(), u, hosting.ActUpdate, hosting.KindPlatform+":"+name); err != nil {
		return err
	}
	locked := r.PostFormValue("locked") == "1"
	if _, _, err := s.Service.UpdatePlatform(r.Context(), name, hosting.PlatformInput{Locked: &locked}, u.Name); err != nil {
		if aegir.ErrorCode(err) == aegir.EINTERNAL {
			return err
		}
		s.flash(r, err.Error())
	} else if locked {
		s.flash(r, "The platform is locked: it takes no new sites.")
	} else {
		s.flash(r, "The platform is unlocked.")
	}
	return redirect(w, r, "/platforms/"+name)
}

// platformChoices lists the platforms the user may put sites on: open to
// their clients and not locked, but for except.
func (s *Server) platformChoices(ctx context.Context, u *aegir.User, except string) ([]option, error) {
	return s.platformChoicesFor(ctx, u, except, "")
}

// sameAppChoices are the platforms a site of platform from may move to:
// those running the same app (a WordPress site cannot go to a MediaWiki
// platform), other than from unless keepFrom.
func (s *Server) sameAppChoices(ctx context.Context, u *aegir.User, from string, keepFrom bool) ([]option, error) {
	p, err := s.Store.GetPlatform(ctx, aegir.ContextName(from))
	if err != nil {
		return nil, err
	}
	except := p.Name
	if keepFrom {
		except = ""
	}
	return s.platformChoicesFor(ctx, u, except, p.App)
}

// platformChoicesFor lists the unlocked platforms the user may use, but
// except, and only those running app when it is known.
func (s *Server) platformChoicesFor(ctx context.Context, u *aegir.User, except, app string) ([]option, error) {
	scope, _ := hosting.ListScope(u, hosting.KindPlatform)
	list, _, err := s.Store.ListPlatforms(ctx, aegir.ListFilter{PerPage: aegir.MaxPerPage, Scope: scope})
	if err != nil {
		return nil, err
	}
	var out []option
	for _, p := range list {
		if p.Locked || p.Name == except || (app != "" && p.App != app) {
			continue
		}
		label := "@" + p.Name
		if p.App != "" {
			label += " (" + strings.TrimSpace(p.App+" "+p.Version) + ")"
		}
		out = append(out, option{p.Name, label})
	}
	return out, nil
}

// batchMigrateForm asks where to move every site of a platform.
func (s *Server) batchMigrateForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name, d, err := s.batchMigrateData(r, u, newForm())
	if err != nil {
		return err
	}
	return s.renderForm(w, r, u, http.StatusOK, "batchmigrate", "Migrate the sites of @"+name, d)
}

func (s *Server) batchMigrateSubmit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name, d, err := s.batchMigrateData(r, u, formOf(r, "platform"))
	if err != nil {
		return err
	}
	t, err := s.Service.CreateTask(r.Context(), hosting.TaskRequest{ObjectType: aegir.PlatformContext, Object: name, Type: aegir.TaskMigratePlatform,
		Args: map[string]string{"platform": d.Form.Values["platform"]}}, u.Name)
	if err != nil {
		return s.formFailed(w, r, u, err, "batchmigrate", "Migrate the sites of @"+name, d)
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

// batchMigrateData checks that u may move every site of the platform the
// request names, and returns its name and the form's data: the platform
// and the platforms its sites may move to.
func (s *Server) batchMigrateData(r *http.Request, u *aegir.User, f *form) (string, formData, error) {
	name := objectName(r)
	if err := s.authorize(r.Context(), u, hosting.ActTask+aegir.TaskMigratePlatform, hosting.KindPlatform+":"+name); err != nil {
		return "", formData{}, err
	}
	p, err := s.Store.GetPlatform(r.Context(), name)
	if err != nil {
		return "", formData{}, err
	}
	targets, err := s.sameAppChoices(r.Context(), u, name, false)
	if err != nil {
		return "", formData{}, err
	}
	return name, formData{Form: f, Object: p, Options: map[string][]option{"platform": targets}}, nil
}
