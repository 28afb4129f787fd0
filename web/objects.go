package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// body is a request's JSON object, key by key; handlers take the keys
// they know and refuse the rest.
type body map[string]json.RawMessage

// readBody reads the request's JSON object.
func readBody(w http.ResponseWriter, r *http.Request) (body, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	var b body
	if err := dec.Decode(&b); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, aegir.Errorf(aegir.EINVALID, "the request body is larger than %d bytes", maxBody)
		}
		if errors.Is(err, io.EOF) {
			return nil, aegir.Errorf(aegir.EINVALID, "the request body must be a JSON object")
		}
		return nil, aegir.Errorf(aegir.EINVALID, "the request body is not a JSON object: %v", err)
	}
	if b == nil {
		return nil, aegir.Errorf(aegir.EINVALID, "the request body must be a JSON object, not null")
	}
	if dec.More() {
		return nil, aegir.Errorf(aegir.EINVALID, "the request body holds more than one JSON value")
	}
	return b, nil
}

// isNull reports whether a JSON value is null.
func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// takeString removes key from the body and returns its string value; null
// reads as "".
func (b body) takeString(key string) (string, bool, error) {
	raw, ok := b[key]
	if !ok {
		return "", false, nil
	}
	delete(b, key)
	var v string
	if isNull(raw) {
		return "", true, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", true, aegir.FieldErrorf(key, "must be a string")
	}
	return v, true, nil
}

// takeBool removes key from the body and returns its boolean value.
func (b body) takeBool(key string) (*bool, error) {
	raw, ok := b[key]
	if !ok {
		return nil, nil
	}
	delete(b, key)
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, aegir.FieldErrorf(key, "must be true or false")
	}
	return &v, nil
}

// takeStrings removes key from the body and returns its list of strings;
// null reads as an empty list.
func (b body) takeStrings(key string) (*[]string, error) {
	raw, ok := b[key]
	if !ok {
		return nil, nil
	}
	delete(b, key)
	v := []string{}
	if isNull(raw) {
		return &v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, aegir.FieldErrorf(key, "must be a list of strings")
	}
	return &v, nil
}

// props returns the rest of the body as context properties in their
// command-line string form, which hosting applies as `aegir save` does:
// a string as it is, a number or boolean as its text, a list as its JSON
// text, null as "null" (which resets the property; for the service types
// it names the null service, as on the command line). readOnly keys are
// refused with a message saying so.
func (b body) props(readOnly ...string) (map[string]string, error) {
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]string, len(b))
	for _, k := range keys {
		if slices.Contains(readOnly, k) {
			return nil, aegir.FieldErrorf(k, "is set by aegir and cannot be changed")
		}
		v, err := stringForm(k, b[k])
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// stringForm turns a JSON value into the string form of a property or a
// task argument.
func stringForm(key string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", aegir.FieldErrorf(key, "has no value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", aegir.FieldErrorf(key, "is not a valid string")
		}
		return s, nil
	case '[':
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return "", aegir.FieldErrorf(key, "must be a list of strings")
		}
		b, _ := json.Marshal(list)
		return string(b), nil
	case '{':
		return "", aegir.FieldErrorf(key, "must be a string, number, boolean, list of strings or null")
	}
	return string(raw), nil // null, true, false or a number
}

// objectKind is one collection of the API and how its objects are read,
// written and shown.
type objectKind struct {
	plural, singular string
	// ctxType is the context type of the objects; "" for clients, which
	// take no tasks.
	ctxType aegir.ContextType
	list    func(s *Server, r *http.Request, c caller, page, perPage int) ([]any, int, error)
	get     func(s *Server, ctx context.Context, c caller, name string) (any, error)
	create  func(s *Server, ctx context.Context, c caller, b body) (any, *aegir.Task, error)
	update  func(s *Server, ctx context.Context, c caller, name string, b body) (any, *aegir.Task, error)
	// remove queues the delete task, or (for clients) deletes at once
	// and returns no task.
	remove func(s *Server, ctx context.Context, c caller, name string) (*aegir.Task, error)
}

// caller is who makes a request: the user, and the actor the audit log
// records.
type caller struct {
	u *aegir.User
	a hosting.Actor
}

// callerOf returns the caller of an authenticated request.
func callerOf(r *http.Request, u *aegir.User) caller {
	return caller{u: u, a: hosting.ActorOf(u, clientAddress(r))}
}

var objectKinds = map[string]*objectKind{
	"servers": {
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
	},
	"platforms": {
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
	},
	"sites": {
		plural: "sites", singular: "site", ctxType: aegir.SiteContext,
		list: func(s *Server, r *http.Request, c caller, page, perPage int) ([]any, int, error) {
			scope, _ := hosting.ListScope(c.u, hosting.KindSite)
			f := aegir.SiteFilter{Query: r.FormValue("q"), Platform: aegir.ContextName(r.FormValue("platform")),
				Client: r.FormValue("client"), Status: r.FormValue("status"), Page: page, PerPage: perPage, Scope: scope}
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
	},
	"clients": {
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
	},
}

func showAll[T any](list []*T, show func(*T) map[string]any) []any {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = show(v)
	}
	return out
}

func showOne[T any](v *T, err error, show func(*T) map[string]any) (any, error) {
	if err != nil {
		return nil, err
	}
	return show(v), nil
}

func showTask[T any](v *T, t *aegir.Task, err error, show func(*T) map[string]any) (any, *aegir.Task, error) {
	if err != nil {
		return nil, nil, err
	}
	return show(v), t, nil
}

// --- input ---

func serverInput(b body) (hosting.ServerInput, error) {
	var in hosting.ServerInput
	var err error
	if in.Name, _, err = b.takeString("name"); err != nil {
		return in, err
	}
	in.Props, err = b.props("status", "created_at", "updated_at")
	return in, err
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
	in.Props, err = b.props("status", "last_cron", "last_backup", "disk_files", "disk_db", "created_at", "updated_at")
	return in, err
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
	for k := range b {
		if k == "created_at" {
			return in, aegir.FieldErrorf(k, "is set by aegir and cannot be changed")
		}
		return in, aegir.FieldErrorf(k, "is not a field of a client (name, title, email)")
	}
	return in, nil
}

// --- output ---

func serverJSON(r *aegir.ServerRecord) map[string]any {
	m := hosting.PublicProps(r.Context())
	m["name"], m["status"], m["created_at"], m["updated_at"] = r.Name, r.Status, r.CreatedAt, r.UpdatedAt
	return m
}

// platformShown returns how a platform is shown to u: a client user sees
// only their own clients among those it is limited to, and only those who
// may see servers see which server it is on.
func (s *Server) platformShown(ctx context.Context, u *aegir.User) func(*aegir.PlatformRecord) map[string]any {
	hide := s.hideServers(ctx, u)
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
		return hide(platformJSON(&c))
	}
}

// siteShown returns how a site is shown to u: only those who may see
// servers see which servers it is on.
func (s *Server) siteShown(ctx context.Context, u *aegir.User) func(*aegir.SiteRecord) map[string]any {
	hide := s.hideServers(ctx, u)
	return func(r *aegir.SiteRecord) map[string]any { return hide(siteJSON(r)) }
}

// hideServers returns what takes the server properties out of an object
// shown to u, when u may not list servers: a client learns nothing of the
// machines behind its sites (as on its pages, see serverProps).
func (s *Server) hideServers(ctx context.Context, u *aegir.User) func(map[string]any) map[string]any {
	if s.authorize(ctx, u, hosting.ActList, "servers") == nil {
		return func(m map[string]any) map[string]any { return m }
	}
	return func(m map[string]any) map[string]any {
		for _, name := range serverProps {
			delete(m, name)
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

// siteJSON shows a site; its "status" is the front end's (installing,
// enabled, disabled, failed, deleted or "" when not installed), which
// stands for the context's own status property.
func siteJSON(r *aegir.SiteRecord) map[string]any {
	m := hosting.PublicProps(r.Context())
	m["name"], m["status"], m["created_at"], m["updated_at"] = r.Name, r.Status, r.CreatedAt, r.UpdatedAt
	m["client"], m["last_cron"], m["last_backup"] = r.Client, r.LastCron, r.LastBackup
	m["disk_files"], m["disk_db"] = r.DiskFiles, r.DiskDB
	return m
}

func clientJSON(c *aegir.Client) map[string]any {
	return map[string]any{"name": c.Name, "title": c.Title, "email": c.Email, "created_at": c.CreatedAt}
}

// --- handlers ---

// pageParams reads page and per_page, and returns the page size the
// store applies.
func pageParams(r *http.Request) (page, perPage int, err error) {
	for _, p := range []struct {
		name string
		to   *int
	}{{"page", &page}, {"per_page", &perPage}} {
		v := r.FormValue(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, aegir.FieldErrorf(p.name, "%q is not a whole number of at least 1", v)
		}
		*p.to = n
	}
	perPage, _ = aegir.Paginate(page, perPage)
	return max(page, 1), perPage, nil
}

// objectName reads the {name} of the path; a leading "@" is accepted.
func objectName(r *http.Request) string {
	return aegir.ContextName(r.PathValue("name"))
}

func (s *Server) listObjects(o *objectKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
		if err := s.authorize(r.Context(), u, hosting.ActList, o.plural); err != nil {
			return err
		}
		page, perPage, err := pageParams(r)
		if err != nil {
			return err
		}
		list, total, err := o.list(s, r, callerOf(r, u), page, perPage)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{o.plural: list, "total": total, "page": page, "per_page": perPage})
		return nil
	}
}

func (s *Server) getObject(o *objectKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
		name := objectName(r)
		if err := s.authorize(r.Context(), u, hosting.ActRead, o.singular+":"+name); err != nil {
			return err
		}
		v, err := o.get(s, r.Context(), callerOf(r, u), name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{o.singular: v})
		return nil
	}
}

// answer is the JSON of a change: the object and the task it queued
// (null when it queued none; absent for clients).
func (o *objectKind) answer(v any, t *aegir.Task) map[string]any {
	m := map[string]any{o.singular: v}
	if o.ctxType != "" {
		m["task"] = taskJSON(t)
	}
	return m
}

func (s *Server) createObject(o *objectKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
		if err := s.authorize(r.Context(), u, hosting.ActCreate, o.plural); err != nil {
			return err
		}
		b, err := readBody(w, r)
		if err != nil {
			return err
		}
		v, t, err := o.create(s, r.Context(), callerOf(r, u), b)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, o.answer(v, t))
		return nil
	}
}

func (s *Server) updateObject(o *objectKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
		name := objectName(r)
		if err := s.authorize(r.Context(), u, hosting.ActUpdate, o.singular+":"+name); err != nil {
			return err
		}
		b, err := readBody(w, r)
		if err != nil {
			return err
		}
		v, t, err := o.update(s, r.Context(), callerOf(r, u), name, b)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, o.answer(v, t))
		return nil
	}
}

// deleteObject queues the delete of a server, platform or site (202 with
// the task) or deletes a client (204).
func (s *Server) deleteObject(o *objectKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
		name := objectName(r)
		if err := s.authorize(r.Context(), u, hosting.ActDelete, o.singular+":"+name); err != nil {
			return err
		}
		t, err := o.remove(s, r.Context(), callerOf(r, u), name)
		if err != nil {
			return err
		}
		if t == nil {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"task": taskJSON(t)})
		return nil
	}
}

// createTask queues a task on an object: {"type": "backup", "args": {...}}.
// An argument may be a string, a number, a boolean or a list of strings
// (joined with spaces, as for backup-delete's files).
func (s *Server) createTask(o *objectKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
		name := objectName(r)
		b, err := readBody(w, r)
		if err != nil {
			return err
		}
		typ, _, err := b.takeString("type")
		if err != nil {
			return err
		}
		if typ == "" {
			return aegir.FieldErrorf("type", "is required")
		}
		if err := s.authorize(r.Context(), u, hosting.ActTask+typ, o.singular+":"+name); err != nil {
			return err
		}
		args := map[string]string{}
		if raw, ok := b["args"]; ok && !isNull(raw) {
			var in map[string]json.RawMessage
			if err := json.Unmarshal(raw, &in); err != nil {
				return aegir.FieldErrorf("args", "must be an object")
			}
			for k, v := range in {
				if args[k], err = argString("args."+k, v); err != nil {
					return err
				}
			}
		}
		delete(b, "args")
		for k := range b {
			return aegir.FieldErrorf(k, "is not a field of a task request (type, args)")
		}
		if err := s.checkTaskArgs(r.Context(), u, args); err != nil {
			return err
		}
		t, err := s.Service.CreateTask(r.Context(), hosting.TaskRequest{ObjectType: o.ctxType, Object: name, Type: typ, Args: args}, u.Name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, map[string]any{"task": taskJSON(t)})
		return nil
	}
}

// argString is stringForm for a task argument, where a list is joined
// with spaces.
func argString(key string, raw json.RawMessage) (string, error) {
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && raw[0] == '[' {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return "", aegir.FieldErrorf(key, "must be a list of strings")
		}
		for _, v := range list {
			if strings.ContainsAny(v, " \t\r\n") {
				return "", aegir.FieldErrorf(key, "%q holds white space", v)
			}
		}
		return strings.Join(list, " "), nil
	}
	if isNull(raw) {
		return "", nil
	}
	return stringForm(key, raw)
}
