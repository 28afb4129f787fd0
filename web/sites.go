package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// This file holds sites: their collection and backups in the API, their
// pages, and the forms that add, edit, migrate, clone and restore one.

// sitesKind is the API's collection of sites.
var sitesKind = &objectKind{
	plural: "sites", singular: "site", ctxType: aegir.SiteContext,
	list: func(s *Server, r *http.Request, c caller, page, perPage int) ([]any, int, error) {
		scope, _ := hosting.ListScope(c.u, hosting.KindSite)
		f := aegir.SiteFilter{Query: r.FormValue("q"), Platform: aegir.ContextName(r.FormValue("platform")),
			Client: r.FormValue("client"), Status: r.FormValue("status"), Health: r.FormValue("health"), Page: page, PerPage: perPage, Scope: scope}
		list, total, err := s.Store.ListSites(r.Context(), f)
		return showAll(list, s.siteShown(r.Context(), c.u)), total, err
	},
	get: func(s *Server, ctx context.Context, c caller, name string) (any, error) {
		rec, err := s.Store.GetSite(ctx, name)
		return showOne(rec, err, s.siteShown(ctx, c.u))
	},
	create: func(s *Server, ctx context.Context, c caller, b body) (any, *aegir.Task, error) {
		in, err := siteInput(b)
		if err != nil {
			return nil, nil, err
		}
		if err := s.checkSiteInput(ctx, c.u, &in, nil); err != nil {
			return nil, nil, err
		}
		rec, t, err := s.Service.CreateSite(ctx, in, c.a.Name)
		return showTask(rec, t, err, s.siteShown(ctx, c.u))
	},
	update: func(s *Server, ctx context.Context, c caller, name string, b body) (any, *aegir.Task, error) {
		in, err := siteInput(b)
		if err != nil {
			return nil, nil, err
		}
		old, err := s.Store.GetSite(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		if err := s.checkSiteInput(ctx, c.u, &in, old); err != nil {
			return nil, nil, err
		}
		rec, t, err := s.Service.UpdateSite(ctx, name, in, c.a.Name)
		return showTask(rec, t, err, s.siteShown(ctx, c.u))
	},
	remove: func(s *Server, ctx context.Context, c caller, name string) (*aegir.Task, error) {
		return s.Service.DeleteSite(ctx, name, c.a.Name)
	},
}

// siteShown returns how a site is shown to u: only those who may see
// servers see which servers it is on.
func (s *Server) siteShown(ctx context.Context, u *aegir.User) func(*aegir.SiteRecord) map[string]any {
	hide := s.hideServers(ctx, u)
	return func(r *aegir.SiteRecord) map[string]any { return hide(siteJSON(r)) }
}

// siteInput reads a site: "uri" (or "name") names it.
func siteInput(b body) (hosting.SiteInput, error) {
	var in hosting.SiteInput
	uri, _, err := b.takeString("uri")
	if err != nil {
		return in, err
	}
	name, _, err := b.takeString("name")
	if err != nil {
		return in, err
	}
	if uri != "" && name != "" && aegir.ContextName(uri) != aegir.ContextName(name) {
		return in, aegir.FieldErrorf("name", "%q differs from uri %q", name, uri)
	}
	in.URI = uri
	if in.URI == "" {
		in.URI = name
	}
	if client, ok, err := b.takeString("client"); err != nil {
		return in, err
	} else if ok {
		in.Client = &client
	}
	in.Props, err = b.props("status", "last_cron", "last_backup", "disk_files", "disk_db", "health", "created_at", "updated_at")
	return in, err
}

// siteJSON shows a site; its "status" is the front end's (installing,
// enabled, disabled, failed, deleted or "" when not installed), which
// stands for the context's own status property.
func siteJSON(r *aegir.SiteRecord) map[string]any {
	m := hosting.PublicProps(r.Context())
	m["name"], m["status"], m["created_at"], m["updated_at"] = r.Name, r.Status, r.CreatedAt, r.UpdatedAt
	m["client"], m["last_cron"], m["last_backup"] = r.Client, r.LastCron, r.LastBackup
	m["disk_files"], m["disk_db"] = r.DiskFiles, r.DiskDB
	m["health"] = r.Health
	return m
}

// listBackups lists a site's backups, newest first.
func (s *Server) listBackups(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := objectName(r)
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindSite+":"+name); err != nil {
		return err
	}
	if _, err := s.Store.GetSite(r.Context(), name); err != nil {
		return err
	}
	list, err := s.Store.ListBackups(r.Context(), name)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*aegir.Backup{}
	}
	if !hosting.ShowsMachines(u) {
		for i, b := range list {
			c := *b
			c.File = path.Base(b.File) // restore and backup-delete take it so
			list[i] = &c
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"backups": list})
	return nil
}

// listSnapshots lists the site's snapshots in the off-site target,
// oldest first: {"target": ..., "snapshots": [...]}, with no target and
// none when no target is configured. Each has the local backup it copied
// (its tag backup=); restore one with the restore task's from=offsite
// and snapshot args.
func (s *Server) listSnapshots(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := objectName(r)
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindSite+":"+name); err != nil {
		return err
	}
	if _, err := s.Store.GetSite(r.Context(), name); err != nil {
		return err
	}
	type snapshot struct {
		ID     string    `json:"id"`
		Time   time.Time `json:"time"`
		Backup string    `json:"backup,omitempty"`
	}
	out := map[string]any{"snapshots": []snapshot{}}
	var repo aegir.Offsite
	if s.Offsite != nil {
		var err error
		if repo, err = s.Offsite(); err != nil {
			return err
		}
	}
	if repo != nil {
		snaps, err := repo.Snapshots(r.Context(), []string{"kind=site", "site=" + name})
		if err != nil {
			return err
		}
		list := make([]snapshot, len(snaps))
		for i, sn := range snaps {
			list[i] = snapshot{ID: sn.ID, Time: sn.Time, Backup: sn.Tag("backup")}
		}
		out["snapshots"] = list
		if hosting.ShowsMachines(u) {
			out["target"] = repo.Target()
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// --- pages ---

type sitesData struct {
	List      listPage
	Sites     []*aegir.SiteRecord
	Statuses  []string
	Healths   []string
	Q         map[string]string
	CanCreate bool
}

// sitesPage lists one page of sites with search and filters; the store
// counts and pages, so it takes the same time with 10 or 10,000 sites.
// Deleted sites (tombstones) are left out unless the status filter asks
// for them ("deleted", or "all").
func (s *Server) sitesPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "sites"); err != nil {
		return err
	}
	scope, _ := hosting.ListScope(u, hosting.KindSite)
	f := aegir.SiteFilter{Query: strings.TrimSpace(r.FormValue("q")), Platform: aegir.ContextName(strings.TrimSpace(r.FormValue("platform"))),
		Client: strings.TrimSpace(r.FormValue("client")), Status: r.FormValue("status"), Health: r.FormValue("health"),
		Page: pageNumber(r), PerPage: uiPerPage, Scope: scope}
	list := s.Service.ListLiveSites
	switch f.Status {
	case "not_installed":
		f.Status = ""
	case allSites:
		f.Status, list = "", s.Store.ListSites
	}
	sites, total, err := list(r.Context(), f)
	if err != nil {
		return err
	}
	d := sitesData{List: newListPage(r, total, uiPerPage, "q", "status", "health", "platform", "client"), Sites: sites,
		Statuses: []string{aegir.SiteEnabled, aegir.SiteDisabled, aegir.SiteInstalling, aegir.SiteFailed, aegir.SiteDeleted},
		Healths:  []string{aegir.HealthDown, aegir.HealthUp},
		Q:        queryMap(r, "q", "status", "health", "platform", "client"), CanCreate: s.can(r, u, hosting.ActCreate, "sites")}
	return s.render(w, r, u, http.StatusOK, "sites", "Sites", d)
}

// allSites is the sites list's status filter that keeps deleted sites
// too.
const allSites = "all"

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
	// DeleteHint says why there is no delete button when the user may
	// delete the site but its state does not allow it yet (an enabled
	// site is disabled first), in the words of hosting's state rules.
	DeleteHint string
	// ShowPaths is set for those who see the paths on servers; others
	// see backups by their file names.
	ShowPaths bool
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
	d := siteData{Site: site, Props: propsOf(site.Context(), hosting.ShowsMachines(u)), CanEdit: site.Status != aegir.SiteDeleted && s.can(r, u, hosting.ActUpdate, hosting.KindSite+":"+name)}
	if p, err := s.Store.GetPlatform(ctx, aegir.ContextName(site.Site.Platform)); err == nil {
		d.Platform = p
	} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return err
	}
	d.URL = s.siteURL(r, site, d.Platform)
	allowed := s.Service.AllowedTasks(site)
	d.Buttons = s.buttons(r, u, hosting.KindSite, name, allowed)
	d.CanBackup = slices.Contains(allowed, aegir.TaskBackupDelete) && s.can(r, u, hosting.ActTask+aegir.TaskBackupDelete, hosting.KindSite+":"+name)
	if site.Status != aegir.SiteDeleted && !slices.Contains(allowed, aegir.TaskDelete) && s.can(r, u, hosting.ActTask+aegir.TaskDelete, hosting.KindSite+":"+name) {
		var e *aegir.Error
		if err := s.Service.SiteTaskRefusal(site, aegir.TaskDelete); errors.As(err, &e) {
			d.DeleteHint = e.Message
		}
	}
	d.ShowPaths = hosting.ShowsMachines(u)
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

// --- forms ---

var siteFields = []string{"uri", "platform", "profile", "language", "client", "aliases", "redirection", "ssl_enabled", "ssl_provider", "hsts", "custom"}

// sslChoices are the choices of a site form's HTTPS fields.
var sslChoices = map[string][]option{
	"ssl_enabled": {{"0", "off: plain HTTP only"}, {"1", "on: HTTP and HTTPS"}, {"2", "required: HTTPS, and HTTP redirects to it"}},
	"ssl_provider": {{aegir.SSLSelfSigned, "self-signed (browsers warn about it)"},
		{aegir.SSLACME, "Let's Encrypt (ACME): the site's names must reach this server"}},
}

// sslProps returns the HTTPS properties a site form sets: ssl_enabled as
// chosen, the certificate's provider when HTTPS is on (else it is left as
// it is), and hsts, which is false unless checked. A post without the
// HTTPS fields (no ssl_enabled) sets none of them.
func sslProps(f *form) map[string]string {
	if f.Values["ssl_enabled"] == "" {
		return nil
	}
	props := map[string]string{"ssl_enabled": f.Values["ssl_enabled"], "hsts": "false"}
	if f.Values["ssl_enabled"] != "0" && f.Values["ssl_provider"] != "" {
		props["ssl_provider"] = f.Values["ssl_provider"]
	}
	if f.Values["hsts"] != "" {
		props["hsts"] = "true"
	}
	return props
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
	return formData{Form: f, Options: map[string][]option{"platform": platforms, "profile": profiles, "client": clients,
		"ssl_enabled": sslChoices["ssl_enabled"], "ssl_provider": sslChoices["ssl_provider"]}}, nil
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
	f.Values["client"] = r.FormValue("client") // from a client's page; the choices hold only the user's
	f.Values["ssl_enabled"] = "0"
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
	maps.Copy(in.Props, sslProps(f))
	custom, err := formCustom(f, nil)
	if err != nil {
		return s.formFailed(w, r, u, err, "siteform", "Add a site", d)
	}
	maps.Copy(in.Props, custom)
	if in.Props["hsts"] == "false" {
		delete(in.Props, "hsts") // a new site has no HSTS unless asked
	}
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

var siteEditFields = []string{"aliases", "redirection", "client", "ssl_enabled", "ssl_provider", "hsts", "custom"}

func (s *Server) siteEditData(ctx context.Context, u *aegir.User, site *aegir.SiteRecord, f *form) (formData, error) {
	clients, err := s.clientChoices(ctx, u)
	if err != nil {
		return formData{}, err
	}
	return formData{Form: f, Object: site, Options: map[string][]option{"client": clients,
		"ssl_enabled": sslChoices["ssl_enabled"], "ssl_provider": sslChoices["ssl_provider"]}}, nil
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
	f.Values["ssl_enabled"] = strconv.Itoa(site.Site.SSLEnabled)
	f.Values["ssl_provider"] = cmp.Or(site.Site.SSLProvider, aegir.SSLSelfSigned)
	if site.Site.HSTS {
		f.Values["hsts"] = "1"
	}
	f.Values["custom"] = customText(site.Site.Custom)
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
	maps.Copy(props, formProps(f, "aliases", "redirection"))
	maps.Copy(props, sslProps(f))
	custom, err := formCustom(f, site.Site.Custom)
	if err != nil {
		return s.formFailed(w, r, u, err, "siteedit", "Edit "+site.Name, d)
	}
	maps.Copy(props, custom)
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
		f.Values["file"] = path.Base(backups[0].File) // the task takes a backup's file name
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
