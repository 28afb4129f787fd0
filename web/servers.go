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

// This file holds servers: their collection in the API, their pages and
// the form that adds one.

// serversKind is the API's collection of servers.
var serversKind = &objectKind{
	plural: "servers", singular: "server", ctxType: aegir.ServerContext,
	list: func(s *Server, r *http.Request, _ caller, page, perPage int) ([]any, int, error) {
		list, total, err := s.Store.ListServers(r.Context(), aegir.ListFilter{Query: r.FormValue("q"), Page: page, PerPage: perPage})
		return showAll(list, serverJSON), total, err
	},
	get: func(s *Server, ctx context.Context, _ caller, name string) (any, error) {
		rec, err := s.Store.GetServer(ctx, name)
		return showOne(rec, err, serverJSON)
	},
	create: func(s *Server, ctx context.Context, c caller, b body) (any, *aegir.Task, error) {
		in, err := serverInput(b)
		if err != nil {
			return nil, nil, err
		}
		rec, t, err := s.Service.CreateServer(ctx, in, c.a)
		return showTask(rec, t, err, serverJSON)
	},
	update: func(s *Server, ctx context.Context, c caller, name string, b body) (any, *aegir.Task, error) {
		in, err := serverInput(b)
		if err != nil {
			return nil, nil, err
		}
		rec, t, err := s.Service.UpdateServer(ctx, name, in, c.a)
		return showTask(rec, t, err, serverJSON)
	},
	remove: func(s *Server, ctx context.Context, c caller, name string) (*aegir.Task, error) {
		return s.Service.DeleteServer(ctx, name, c.a.Name)
	},
}

func serverInput(b body) (hosting.ServerInput, error) {
	var in hosting.ServerInput
	var err error
	if in.Name, _, err = b.takeString("name"); err != nil {
		return in, err
	}
	in.Props, err = b.props("status", "created_at", "updated_at")
	return in, err
}

func serverJSON(r *aegir.ServerRecord) map[string]any {
	m := hosting.PublicProps(r.Context())
	m["name"], m["status"], m["created_at"], m["updated_at"] = r.Name, r.Status, r.CreatedAt, r.UpdatedAt
	return m
}

// --- pages ---

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

// --- forms ---

var serverFields = []string{"name", "remote_host", "ssh_port", "ssh_user", "http_service_type", "cluster_web_servers", "http_port", "web_group", "php_fpm_socket",
	"http_test_cmd", "http_restart_cmd", "http_conf_link", "php_fpm_pools", "php_fpm_test_cmd", "php_fpm_reload_cmd",
	"db_service_type", "master_db", "db_grant_all_hosts"}

// serverFormAccess says which fields of the server form its user sees:
// the commands and paths (hosting.AdminServerProps) only administrators
// set, so the form does not offer them to others.
type serverFormAccess struct{ Admin bool }

// serverFormFields are the fields of the server form u may set.
func serverFormFields(u *aegir.User) []string {
	if u.Role == aegir.RoleAdministrator {
		return serverFields
	}
	return slices.DeleteFunc(slices.Clone(serverFields), func(f string) bool { return slices.Contains(hosting.AdminServerProps, f) })
}

func serverOptions() map[string][]option {
	return map[string][]option{
		"http_service_type": {{aegir.ServiceNginx, "nginx"}, {aegir.ServiceApache, "apache"}, {aegir.ServiceCluster, "cluster of web servers"}, {"null", "none"}},
		"db_service_type":   {{aegir.ServiceMySQL, "mysql"}, {"pgsql", "pgsql"}, {"null", "none"}},
	}
}

func (s *Server) serverForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "servers"); err != nil {
		return err
	}
	f := newForm()
	f.Values["http_service_type"], f.Values["db_service_type"], f.Values["http_port"] = aegir.ServiceNginx, aegir.ServiceMySQL, "80"
	return s.renderForm(w, r, u, http.StatusOK, "serverform", "Add a server",
		formData{Form: f, Options: serverOptions(), Extra: serverFormAccess{Admin: u.Role == aegir.RoleAdministrator}})
}

// serverCreate adds a server with its services and queues its verify.
func (s *Server) serverCreate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "servers"); err != nil {
		return err
	}
	fields := serverFormFields(u)
	f := formOf(r, append(fields, "custom")...)
	for _, check := range []string{"db_grant_all_hosts", "php_fpm_pools"} {
		if f.Values[check] != "" {
			f.Values[check] = "true"
		}
	}
	d := formData{Form: f, Options: serverOptions(), Extra: serverFormAccess{Admin: u.Role == aegir.RoleAdministrator}}
	in := hosting.ServerInput{Name: f.Values["name"], Props: formProps(f, fields[1:]...)}
	custom, err := formCustom(f, nil)
	if err != nil {
		return s.formFailed(w, r, u, err, "serverform", "Add a server", d)
	}
	maps.Copy(in.Props, custom)
	_, t, err := s.Service.CreateServer(r.Context(), in, hosting.ActorOf(u, clientAddress(r)))
	if err != nil {
		return s.formFailed(w, r, u, err, "serverform", "Add a server", d)
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}

// serverChoices lists the servers a platform can be on (up to a thousand:
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
