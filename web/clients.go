package web

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// This file holds clients: their collection in the API, their pages, the
// form that adds one, and the clients a form offers.

// clientsKind is the API's collection of clients: they take no tasks,
// and a delete is done at once.
var clientsKind = &objectKind{
	plural: "clients", singular: "client",
	list: func(s *Server, r *http.Request, c caller, page, perPage int) ([]any, int, error) {
		scope, _ := hosting.ListScope(c.u, hosting.KindClient)
		list, total, err := s.Service.ListClients(r.Context(), aegir.ListFilter{Query: r.FormValue("q"), Page: page, PerPage: perPage, Scope: scope})
		return showAll(list, clientJSON), total, err
	},
	get: func(s *Server, ctx context.Context, _ caller, name string) (any, error) {
		c, err := s.Service.GetClient(ctx, name)
		return showOne(c, err, clientJSON)
	},
	create: func(s *Server, ctx context.Context, c caller, b body) (any, *aegir.Task, error) {
		in, err := clientInput(b)
		if err != nil {
			return nil, nil, err
		}
		cl, err := s.Service.CreateClientAs(ctx, c.a, in)
		return showTask(cl, nil, err, clientJSON)
	},
	update: func(s *Server, ctx context.Context, c caller, name string, b body) (any, *aegir.Task, error) {
		in, err := clientInput(b)
		if err != nil {
			return nil, nil, err
		}
		cl, err := s.Service.UpdateClientAs(ctx, c.a, name, in)
		return showTask(cl, nil, err, clientJSON)
	},
	remove: func(s *Server, ctx context.Context, c caller, name string) (*aegir.Task, error) {
		return nil, s.Service.DeleteClientAs(ctx, c.a, name)
	},
}

func clientInput(b body) (hosting.ClientInput, error) {
	var in hosting.ClientInput
	var err error
	if in.Name, _, err = b.takeString("name"); err != nil {
		return in, err
	}
	for _, f := range []struct {
		key string
		to  **string
	}{{"title", &in.Title}, {"email", &in.Email}} {
		if v, ok, err := b.takeString(f.key); err != nil {
			return in, err
		} else if ok {
			*f.to = &v
		}
	}
	if v, err := b.takeInt("quota_sites"); err != nil {
		return in, err
	} else if v != nil {
		if *v < 0 || *v > math.MaxInt32 {
			return in, aegir.FieldErrorf("quota_sites", "%d is not a number of sites (0 is no limit)", *v)
		}
		n := int(*v)
		in.QuotaSites = &n
	}
	if in.QuotaDisk, err = b.takeInt("quota_disk"); err != nil {
		return in, err
	}
	for k := range b {
		if k == "created_at" {
			return in, aegir.FieldErrorf(k, "is set by aegir and cannot be changed")
		}
		return in, aegir.FieldErrorf(k, "is not a field of a client (name, title, email, quota_sites, quota_disk)")
	}
	return in, nil
}

func clientJSON(c *aegir.Client) map[string]any {
	return map[string]any{"name": c.Name, "title": c.Title, "email": c.Email, "quota_sites": c.QuotaSites, "quota_disk": c.QuotaDisk,
		"created_at": c.CreatedAt}
}

// --- pages ---

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

type clientData struct {
	Client    *aegir.Client
	Usage     hosting.ClientUsage
	Sites     []*aegir.SiteRecord
	SiteTotal int
	Users     []*aegir.User
	ShowUsers bool
	// The actions the user may take on the client: change it, add a site
	// of it, add a user acting for it.
	CanEdit, CanAddSite, CanAddUser bool
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
	d := clientData{Client: c, ShowUsers: s.can(r, u, hosting.ActList, "users"),
		CanEdit:    s.can(r, u, hosting.ActUpdate, hosting.KindClient+":"+name),
		CanAddSite: s.can(r, u, hosting.ActCreate, "sites") && s.can(r, u, hosting.ActUse, hosting.KindClient+":"+name),
		CanAddUser: s.can(r, u, hosting.ActCreate, "users") && s.can(r, u, hosting.ActGrant, hosting.KindRole+":"+aegir.RoleClient)}
	if d.Sites, d.SiteTotal, err = s.Service.ListLiveSites(ctx, aegir.SiteFilter{Client: name, PerPage: 20}); err != nil {
		return err
	}
	if d.Usage, err = s.Service.Usage(ctx, name); err != nil {
		return err
	}
	if d.ShowUsers {
		if d.Users, _, err = s.Service.ListUsers(ctx, aegir.ListFilter{PerPage: 100, Scope: aegir.Scope{Limited: true, Clients: []string{name}}}); err != nil {
			return err
		}
	}
	return s.render(w, r, u, http.StatusOK, "client", c.Name, d)
}

// --- forms ---

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
	f := formOf(r, "name", "title", "email", "quota_sites", "quota_disk")
	title, email := f.Values["title"], f.Values["email"]
	in := hosting.ClientInput{Name: f.Values["name"], Title: &title, Email: &email}
	err := quotasOf(f, u, &in)
	var c *aegir.Client
	if err == nil {
		c, err = s.Service.CreateClientAs(r.Context(), hosting.ActorOf(u, clientAddress(r)), in)
	}
	if err != nil {
		return s.formFailed(w, r, u, err, "clientform", "Add a client", formData{Form: f})
	}
	s.flash(r, "Client "+c.Name+" is added.")
	return redirect(w, r, "/clients/"+c.Name)
}

// clientFor reads a client the user may change.
func (s *Server) clientFor(r *http.Request, u *aegir.User) (*aegir.Client, error) {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActUpdate, hosting.KindClient+":"+name); err != nil {
		return nil, err
	}
	return s.Service.GetClient(r.Context(), name)
}

// clientEditForm changes a client's title and email (its name stays).
func (s *Server) clientEditForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	c, err := s.clientFor(r, u)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["name"], f.Values["title"], f.Values["email"] = c.Name, c.Title, c.Email
	f.Values["quota_sites"], f.Values["quota_disk"] = strconv.Itoa(c.QuotaSites), strconv.FormatInt(c.QuotaDisk, 10)
	return s.renderForm(w, r, u, http.StatusOK, "clientform", "Edit client "+c.Name, formData{Form: f, Object: c})
}

func (s *Server) clientEditSubmit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	c, err := s.clientFor(r, u)
	if err != nil {
		return err
	}
	f := formOf(r, "title", "email", "quota_sites", "quota_disk")
	f.Values["name"] = c.Name
	title, email := f.Values["title"], f.Values["email"]
	in := hosting.ClientInput{Title: &title, Email: &email}
	err = quotasOf(f, u, &in)
	if err == nil {
		_, err = s.Service.UpdateClientAs(r.Context(), hosting.ActorOf(u, clientAddress(r)), c.Name, in)
	}
	if err != nil {
		return s.formFailed(w, r, u, err, "clientform", "Edit client "+c.Name, formData{Form: f, Object: c})
	}
	s.flash(r, "Client "+c.Name+" is saved.")
	return redirect(w, r, "/clients/"+c.Name)
}

// quotasOf reads the quota fields of a client form, which only
// administrators see (and hosting only takes from them): empty is 0, no
// limit.
func quotasOf(f *form, u *aegir.User, in *hosting.ClientInput) error {
	if u.Role != aegir.RoleAdministrator {
		return nil
	}
	sites, disk := 0, int64(0)
	var err error
	if v := f.Values["quota_sites"]; v != "" {
		if sites, err = strconv.Atoi(v); err != nil {
			return aegir.FieldErrorf("quota_sites", "%q is not a number of sites", v)
		}
	}
	if v := f.Values["quota_disk"]; v != "" {
		if disk, err = strconv.ParseInt(v, 10, 64); err != nil {
			return aegir.FieldErrorf("quota_disk", "%q is not a number of bytes", v)
		}
	}
	in.QuotaSites, in.QuotaDisk = &sites, &disk
	return nil
}

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
