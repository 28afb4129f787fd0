package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// This file holds the forms. Each shows field errors next to the field
// and keeps what was typed; a change that queues a task goes on to the
// task's page.

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

// propsOf returns the non-empty values of the named fields as context
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

// --- servers ---

var serverFields = []string{"name", "remote_host", "http_service_type", "http_port", "web_group", "php_fpm_socket",
	"http_test_cmd", "http_restart_cmd", "http_conf_link", "db_service_type", "master_db", "db_grant_all_hosts"}

func serverOptions() map[string][]option {
	return map[string][]option{
		"http_service_type": {{aegir.ServiceNginx, "nginx"}, {aegir.ServiceApache, "apache"}, {"null", "none"}},
		"db_service_type":   {{aegir.ServiceMySQL, "mysql"}, {"pgsql", "pgsql"}, {"null", "none"}},
	}
}

func (s *Server) serverForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "servers"); err != nil {
		return err
	}
	f := newForm()
	f.Values["http_service_type"], f.Values["db_service_type"], f.Values["http_port"] = aegir.ServiceNginx, aegir.ServiceMySQL, "80"
	return s.renderForm(w, r, u, http.StatusOK, "serverform", "Add a server", formData{Form: f, Options: serverOptions()})
}

// serverCreate adds a server with its services and queues its verify.
func (s *Server) serverCreate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "servers"); err != nil {
		return err
	}
	f := formOf(r, serverFields...)
	if r.PostFormValue("db_grant_all_hosts") != "" {
		f.Values["db_grant_all_hosts"] = "true"
	}
	d := formData{Form: f, Options: serverOptions()}
	_, t, err := s.Service.CreateServer(r.Context(), hosting.ServerInput{Name: f.Values["name"], Props: formProps(f, serverFields[1:]...)}, hosting.ActorOf(u, clientAddress(r)))
	if err != nil {
		return s.formFailed(w, r, u, err, "serverform", "Add a server", d)
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

// --- platforms ---

var platformFields = []string{"name", "root", "makefile", "web_server", "clients", "locked"}

// serverOptions lists the servers a platform can be on (up to a thousand:
// a front end has few servers).
func (s *Server) serverChoices(ctx context.Context) ([]option, error) {
	list, _, err := s.Store.ListServers(ctx, aegir.ListFilter{PerPage: aegir.MaxPerPage})
	if err != nil {
		return nil, err
	}
	out := make([]option, 0, len(list))
	for _, srv := range list {
		out = append(out, option{srv.Name, "@" + srv.Name})
	}
	return out, nil
}

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

// splitList reads a comma or space separated list.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
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
	f := formOf(r, platformFields...)
	d := formData{Form: f, Options: map[string][]option{"web_server": servers}}
	locked := r.PostFormValue("locked") != ""
	clients := splitList(f.Values["clients"])
	in := hosting.PlatformInput{Name: f.Values["name"], Props: formProps(f, "root", "makefile", "web_server"), Locked: &locked, Clients: &clients}
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

// --- sites ---

var siteFields = []string{"uri", "platform", "profile", "language", "client", "aliases", "redirection"}

// clientChoices lists the clients a user may give a site: their own, or
// (for those who see every client) the first thousand.
func (s *Server) clientChoices(ctx context.Context, u *aegir.User) ([]option, error) {
	scope, _ := hosting.ListScope(u, hosting.KindClient)
	list, _, err := s.Service.ListClients(ctx, aegir.ListFilter{PerPage: aegir.MaxPerPage, Scope: scope})
	if err != nil {
		return nil, err
	}
	out := make([]option, 0, len(list))
	if u.Role != aegir.RoleClient {
		out = append(out, option{"", "(none)"})
	}
	for _, c := range list {
		label := c.Name
		if c.Title != "" {
			label += " – " + c.Title
		}
		out = append(out, option{c.Name, label})
	}
	return out, nil
}

// profileChoices lists the install profiles of a platform (its packages of
// type profile), or "standard" when it has none.
func (s *Server) profileChoices(ctx context.Context, platform string) ([]option, error) {
	var out []option
	if platform != "" {
		pkgs, err := s.Store.PlatformPackages(ctx, aegir.ContextName(platform))
		if err != nil {
			return nil, err
		}
		for _, p := range pkgs {
			if p.Type == "profile" {
				out = append(out, option{p.Name, p.Name})
			}
		}
	}
	if len(out) == 0 {
		out = append(out, option{"standard", "standard"})
	}
	return out, nil
}

// siteFormData fills in the choices of the add site form.
func (s *Server) siteFormData(ctx context.Context, u *aegir.User, f *form) (formData, error) {
	platforms, err := s.platformChoices(ctx, u, "")
	if err != nil {
		return formData{}, err
	}
	if f.Values["platform"] == "" && len(platforms) > 0 {
		f.Values["platform"] = platforms[0].Value
	}
	profiles, err := s.profileChoices(ctx, f.Values["platform"])
	if err != nil {
		return formData{}, err
	}
	clients, err := s.clientChoices(ctx, u)
	if err != nil {
		return formData{}, err
	}
	return formData{Form: f, Options: map[string][]option{"platform": platforms, "profile": profiles, "client": clients}}, nil
}

// siteForm asks for a new site: the platforms offered are the unlocked
// ones open to the user's clients, the profiles those of the chosen
// platform (reloaded by htmx when the platform changes).
func (s *Server) siteForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "sites"); err != nil {
		return err
	}
	f := newForm()
	f.Values["language"] = "en"
	f.Values["platform"] = aegir.ContextName(r.FormValue("platform"))
	d, err := s.siteFormData(r.Context(), u, f)
	if err != nil {
		return err
	}
	return s.renderForm(w, r, u, http.StatusOK, "siteform", "Add a site", d)
}

// siteProfiles renders the profile select of a platform, for htmx.
func (s *Server) siteProfiles(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "sites"); err != nil {
		return err
	}
	platform := aegir.ContextName(r.FormValue("platform"))
	if err := s.Service.CheckUse(r.Context(), u, hosting.KindPlatform, platform, "platform"); err != nil {
		platform = ""
	}
	profiles, err := s.profileChoices(r.Context(), platform)
	if err != nil {
		return err
	}
	f := newForm()
	return s.render(w, r, u, http.StatusOK, "profiles", "", formData{Form: f, Options: map[string][]option{"profile": profiles}})
}

// siteCreate adds a site and queues its install; the user goes on to
// watch the install's log.
func (s *Server) siteCreate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "sites"); err != nil {
		return err
	}
	f := formOf(r, siteFields...)
	d, err := s.siteFormData(r.Context(), u, f)
	if err != nil {
		return err
	}
	in := hosting.SiteInput{URI: f.Values["uri"], Props: formProps(f, "platform", "profile", "language", "aliases", "redirection")}
	if f.Values["client"] != "" || u.Role == aegir.RoleClient {
		c := f.Values["client"]
		in.Client = &c
	}
	if err := s.checkSiteInput(r.Context(), u, &in, nil); err != nil {
		return s.formFailed(w, r, u, err, "siteform", "Add a site", d)
	}
	_, t, err := s.Service.CreateSite(r.Context(), in, u.Name)
	if err != nil {
		// A name taken by another object is the address's problem.
		var e *aegir.Error
		if errors.As(err, &e) && e.Code == aegir.ECONFLICT && e.Field == "" && strings.Contains(e.Message, "@"+aegir.ContextName(in.URI)+" ") {
			err = &aegir.Error{Code: e.Code, Field: "uri", Message: e.Message}
		}
		return s.formFailed(w, r, u, err, "siteform", "Add a site", d)
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

// siteFor reads a site the user may do action on.
func (s *Server) siteFor(r *http.Request, u *aegir.User, action string) (*aegir.SiteRecord, error) {
	name := objectName(r)
	if err := s.authorize(r.Context(), u, action, hosting.KindSite+":"+name); err != nil {
		return nil, err
	}
	return s.Store.GetSite(r.Context(), name)
}

var siteEditFields = []string{"aliases", "redirection", "client"}

func (s *Server) siteEditData(ctx context.Context, u *aegir.User, site *aegir.SiteRecord, f *form) (formData, error) {
	clients, err := s.clientChoices(ctx, u)
	if err != nil {
		return formData{}, err
	}
	return formData{Form: f, Object: site, Options: map[string][]option{"client": clients}}, nil
}

// siteEditForm changes a site's aliases, redirection and client.
func (s *Server) siteEditForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActUpdate)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["aliases"] = strings.Join(site.Site.Aliases, ", ")
	f.Values["redirection"] = site.Site.Redirection
	f.Values["client"] = site.Client
	d, err := s.siteEditData(r.Context(), u, site, f)
	if err != nil {
		return err
	}
	return s.renderForm(w, r, u, http.StatusOK, "siteedit", "Edit "+site.Name, d)
}

func (s *Server) siteEditSubmit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActUpdate)
	if err != nil {
		return err
	}
	f := formOf(r, siteEditFields...)
	d, err := s.siteEditData(r.Context(), u, site, f)
	if err != nil {
		return err
	}
	props := map[string]string{"aliases": "null", "redirection": "null"}
	for k, v := range formProps(f, "aliases", "redirection") {
		props[k] = v
	}
	in := hosting.SiteInput{Props: props}
	if c := f.Values["client"]; c != site.Client {
		in.Client = &c
	}
	if err := s.checkSiteInput(r.Context(), u, &in, site); err != nil {
		return s.formFailed(w, r, u, err, "siteedit", "Edit "+site.Name, d)
	}
	_, t, err := s.Service.UpdateSite(r.Context(), site.Name, in, u.Name)
	if err != nil {
		return s.formFailed(w, r, u, err, "siteedit", "Edit "+site.Name, d)
	}
	if t != nil {
		return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
	}
	s.flash(r, "The site is saved.")
	return redirect(w, r, "/sites/"+site.Name)
}

// packageReport is what migrating a site to a platform does to each of
// its packages; errors block the migrate.
type packageReport struct {
	Target  string
	Reports []aegir.PackageReport
	Errors  int
	Missing int
}

// packageReportFor compares the site's packages with the target
// platform's, from the store.
func (s *Server) packageReportFor(ctx context.Context, site *aegir.SiteRecord, target string) (*packageReport, error) {
	target = aegir.ContextName(target)
	if target == "" {
		return nil, nil
	}
	sitePkgs, err := s.Store.SitePackages(ctx, site.Name)
	if err != nil {
		return nil, err
	}
	targetPkgs, err := s.Store.PlatformPackages(ctx, target)
	if err != nil {
		return nil, err
	}
	rep := &packageReport{Target: target, Reports: aegir.ComparePackages(sitePkgs, targetPkgs)}
	for _, p := range rep.Reports {
		switch p.Status {
		case aegir.PackageError:
			rep.Errors++
		case aegir.PackageMissing:
			rep.Missing++
		}
	}
	return rep, nil
}

var migrateFields = []string{"platform", "new_uri"}

func (s *Server) migrateData(r *http.Request, u *aegir.User, site *aegir.SiteRecord, f *form) (formData, error) {
	targets, err := s.sameAppChoices(r.Context(), u, site.Site.Platform, false)
	if err != nil {
		return formData{}, err
	}
	var report *packageReport
	if f.Values["platform"] != "" && s.Service.CheckUse(r.Context(), u, hosting.KindPlatform, f.Values["platform"], "platform") == nil {
		if report, err = s.packageReportFor(r.Context(), site, f.Values["platform"]); err != nil {
			return formData{}, err
		}
	}
	return formData{Form: f, Object: site, Options: map[string][]option{"platform": targets}, Extra: report}, nil
}

// migrateForm asks for the target platform and shows the package report
// of the one chosen (htmx reloads it when the choice changes).
func (s *Server) migrateForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActTask+aegir.TaskMigrate)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["platform"] = aegir.ContextName(r.FormValue("platform"))
	d, err := s.migrateData(r, u, site, f)
	if err != nil {
		return err
	}
	return s.renderForm(w, r, u, http.StatusOK, "migrate", "Migrate "+site.Name, d)
}

// migrateReport renders the package report alone, for htmx.
func (s *Server) migrateReport(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActTask+aegir.TaskMigrate)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["platform"] = aegir.ContextName(r.FormValue("platform"))
	d, err := s.migrateData(r, u, site, f)
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "report", "", d)
}

// migrateSubmit queues the migrate unless the package report has errors
// (a target with an older schema than the site's database).
func (s *Server) migrateSubmit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActTask+aegir.TaskMigrate)
	if err != nil {
		return err
	}
	f := formOf(r, migrateFields...)
	d, err := s.migrateData(r, u, site, f)
	if err != nil {
		return err
	}
	if rep, _ := d.Extra.(*packageReport); rep != nil && rep.Errors > 0 {
		f.Errors["platform"] = fmt.Sprintf("@%s is older than the site in %d packages (see the report): the site cannot move there", rep.Target, rep.Errors)
		return s.renderForm(w, r, u, http.StatusConflict, "migrate", "Migrate "+site.Name, d)
	}
	args := formProps(f, migrateFields...)
	if err := s.checkTaskArgs(r.Context(), u, args); err != nil {
		return s.formFailed(w, r, u, err, "migrate", "Migrate "+site.Name, d)
	}
	t, err := s.Service.CreateTask(r.Context(), hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: site.Name, Type: aegir.TaskMigrate, Args: args}, u.Name)
	if err != nil {
		return s.formFailed(w, r, u, err, "migrate", "Migrate "+site.Name, d)
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

var cloneFields = []string{"new_uri", "platform"}

func (s *Server) cloneData(r *http.Request, u *aegir.User, site *aegir.SiteRecord, f *form) (formData, error) {
	targets, err := s.sameAppChoices(r.Context(), u, site.Site.Platform, true)
	if err != nil {
		return formData{}, err
	}
	return formData{Form: f, Object: site, Options: map[string][]option{"platform": targets}}, nil
}

// cloneForm asks for the new site's uri and, optionally, its platform.
func (s *Server) cloneForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActTask+aegir.TaskClone)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["platform"] = aegir.ContextName(site.Site.Platform)
	d, err := s.cloneData(r, u, site, f)
	if err != nil {
		return err
	}
	return s.renderForm(w, r, u, http.StatusOK, "clone", "Clone "+site.Name, d)
}

func (s *Server) cloneSubmit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActTask+aegir.TaskClone)
	if err != nil {
		return err
	}
	f := formOf(r, cloneFields...)
	d, err := s.cloneData(r, u, site, f)
	if err != nil {
		return err
	}
	args := formProps(f, cloneFields...)
	if args["platform"] == aegir.ContextName(site.Site.Platform) {
		delete(args, "platform")
	}
	if err := s.checkTaskArgs(r.Context(), u, args); err != nil {
		return s.formFailed(w, r, u, err, "clone", "Clone "+site.Name, d)
	}
	t, err := s.Service.CreateTask(r.Context(), hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: site.Name, Type: aegir.TaskClone, Args: args}, u.Name)
	if err != nil {
		return s.formFailed(w, r, u, err, "clone", "Clone "+site.Name, d)
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

// restoreForm offers the site's backups to restore.
func (s *Server) restoreForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActTask+aegir.TaskRestore)
	if err != nil {
		return err
	}
	backups, err := s.Store.ListBackups(r.Context(), site.Name)
	if err != nil {
		return err
	}
	f := newForm()
	if len(backups) > 0 {
		f.Values["file"] = backups[0].File
	}
	return s.renderForm(w, r, u, http.StatusOK, "restore", "Restore "+site.Name, formData{Form: f, Object: site, Extra: backups})
}

func (s *Server) restoreSubmit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	site, err := s.siteFor(r, u, hosting.ActTask+aegir.TaskRestore)
	if err != nil {
		return err
	}
	backups, err := s.Store.ListBackups(r.Context(), site.Name)
	if err != nil {
		return err
	}
	f := formOf(r, "file")
	d := formData{Form: f, Object: site, Extra: backups}
	t, err := s.Service.CreateTask(r.Context(), hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: site.Name, Type: aegir.TaskRestore,
		Args: map[string]string{"file": f.Values["file"]}}, u.Name)
	if err != nil {
		return s.formFailed(w, r, u, err, "restore", "Restore "+site.Name, d)
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

// --- clients ---

func (s *Server) clientForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "clients"); err != nil {
		return err
	}
	return s.renderForm(w, r, u, http.StatusOK, "clientform", "Add a client", formData{Form: newForm()})
}

func (s *Server) clientCreate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "clients"); err != nil {
		return err
	}
	f := formOf(r, "name", "title", "email")
	title, email := f.Values["title"], f.Values["email"]
	c, err := s.Service.CreateClientAs(r.Context(), hosting.ActorOf(u, clientAddress(r)), hosting.ClientInput{Name: f.Values["name"], Title: &title, Email: &email})
	if err != nil {
		return s.formFailed(w, r, u, err, "clientform", "Add a client", formData{Form: f})
	}
	s.flash(r, "Client "+c.Name+" is added.")
	return redirect(w, r, "/clients/"+c.Name)
}

// --- users ---

// roleChoices lists the roles the user may give.
func (s *Server) roleChoices(r *http.Request, u *aegir.User) []option {
	var out []option
	for _, role := range hosting.Roles {
		if s.can(r, u, hosting.ActGrant, hosting.KindRole+":"+role) {
			out = append(out, option{role, strings.ReplaceAll(role, "_", " ")})
		}
	}
	return out
}

var userFields = []string{"name", "email", "role", "clients", "password"}

func (s *Server) userForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "users"); err != nil {
		return err
	}
	f := newForm()
	f.Values["role"] = aegir.RoleClient
	return s.renderForm(w, r, u, http.StatusOK, "userform", "Add a user", formData{Form: f, Options: map[string][]option{"role": s.roleChoices(r, u)}})
}

// userCreate adds a user; without a password, the page offers a login
// link to pass on (or mails it).
func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "users"); err != nil {
		return err
	}
	f := formOf(r, userFields...)
	password := r.PostFormValue("password")
	f.Values["password"] = ""
	d := formData{Form: f, Options: map[string][]option{"role": s.roleChoices(r, u)}}
	role, email, clients := f.Values["role"], f.Values["email"], splitList(f.Values["clients"])
	in := hosting.UserInput{Name: f.Values["name"], Email: &email, Role: &role, Clients: &clients}
	if password != "" {
		in.Password = &password
	}
	if err := s.checkUserInput(r.Context(), u, in, nil); err != nil {
		return s.formFailed(w, r, u, err, "userform", "Add a user", d)
	}
	created, err := s.Service.CreateUser(r.Context(), hosting.ActorOf(u, clientAddress(r)), in)
	if err != nil {
		return s.formFailed(w, r, u, err, "userform", "Add a user", d)
	}
	s.flash(r, "User "+created.Name+" is added.")
	return redirect(w, r, "/users/"+created.Name)
}

type userPageData struct {
	Account    *aegir.User
	Form       *form
	Options    map[string][]option
	CanEdit    bool
	CanLink    bool
	Tokens     []*aegir.Token
	Self       bool
	HasClients bool
}

func (s *Server) userPageData(r *http.Request, u *aegir.User, target *aegir.User, f *form) (userPageData, error) {
	d := userPageData{Account: target, Form: f, Options: map[string][]option{"role": s.roleChoices(r, u)}, Self: target.ID == u.ID}
	d.CanEdit = s.can(r, u, hosting.ActUpdate, hosting.KindUser+":"+target.Name) && s.can(r, u, hosting.ActGrant, hosting.KindRole+":"+target.Role)
	d.CanLink = d.CanEdit && !target.Disabled
	if u.Role == aegir.RoleAdministrator {
		var err error
		if d.Tokens, err = s.Store.ListTokens(r.Context(), target.ID); err != nil {
			return d, err
		}
	}
	if !slices.ContainsFunc(d.Options["role"], func(o option) bool { return o.Value == target.Role }) {
		d.Options["role"] = append(d.Options["role"], option{target.Role, strings.ReplaceAll(target.Role, "_", " ")})
	}
	return d, nil
}

// userPage shows a user and, to those who manage them, a form to change
// their email, role, clients and state, and a login link button.
func (s *Server) userPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindUser+":"+name); err != nil {
		return err
	}
	target, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["email"], f.Values["role"], f.Values["clients"] = target.Email, target.Role, strings.Join(target.Clients, ", ")
	if target.Disabled {
		f.Values["disabled"] = "1"
	}
	d, err := s.userPageData(r, u, target, f)
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "user", "User "+target.Name, d)
}

func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActUpdate, hosting.KindUser+":"+name); err != nil {
		return err
	}
	target, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	f := formOf(r, "email", "role", "clients", "disabled")
	d, err := s.userPageData(r, u, target, f)
	if err != nil {
		return err
	}
	email, role, clients := f.Values["email"], f.Values["role"], splitList(f.Values["clients"])
	disabled := f.Values["disabled"] != ""
	in := hosting.UserInput{Email: &email}
	if role != target.Role {
		in.Role = &role
	}
	if !slices.Equal(clients, target.Clients) {
		in.Clients = &clients
	}
	if disabled != target.Disabled {
		in.Disabled = &disabled
	}
	if err := s.checkUserInput(r.Context(), u, in, target); err != nil {
		status, err := f.fail(err)
		if err != nil {
			return err
		}
		return s.render(w, r, u, status, "user", "User "+target.Name, d)
	}
	if _, err := s.Service.UpdateUser(r.Context(), hosting.ActorOf(u, clientAddress(r)), name, in); err != nil {
		status, err := f.fail(err)
		if err != nil {
			return err
		}
		return s.render(w, r, u, status, "user", "User "+target.Name, d)
	}
	s.flash(r, "User "+name+" is saved.")
	return redirect(w, r, "/users/"+name)
}
