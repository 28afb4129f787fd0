package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path"
	"regexp"
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

// takeInt removes key from the body and returns its whole-number value.
func (b body) takeInt(key string) (*int64, error) {
	raw, ok := b[key]
	if !ok {
		return nil, nil
	}
	delete(b, key)
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, aegir.FieldErrorf(key, "must be a whole number")
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
		if k == "custom" {
			if err := customProps(b[k], out); err != nil {
				return nil, err
			}
			continue
		}
		v, err := stringForm(k, b[k])
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// customProps adds the custom properties of a body's "custom" object to
// props as custom.NAME keys; a null or empty value removes the property,
// as --custom.NAME= does on the command line.
func customProps(raw json.RawMessage, props map[string]string) error {
	if isNull(raw) {
		return nil
	}
	var custom map[string]*string
	if err := json.Unmarshal(raw, &custom); err != nil {
		return aegir.FieldErrorf("custom", "must be an object of strings (null removes one)")
	}
	if len(custom) > aegir.MaxCustom {
		return aegir.FieldErrorf("custom", "has %d properties; at most %d are allowed", len(custom), aegir.MaxCustom)
	}
	for name, v := range custom {
		value := ""
		if v != nil {
			value = *v
		}
		props[aegir.CustomPrefix+name] = value
	}
	return nil
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

// objectKinds are the collections of the API, by their path; each kind's
// file holds its entry.
var objectKinds = map[string]*objectKind{
	"servers":   serversKind,
	"platforms": platformsKind,
	"sites":     sitesKind,
	"clients":   clientsKind,
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

// pathPattern matches an absolute path in a text (a log line): a "/" at
// the start or after a space, a quote, a bracket, "=" or ",", and not the
// "//" of a URL.
var pathPattern = regexp.MustCompile(`(^|[\s"'(\[=,])(/[A-Za-z0-9._@+~-][^\s"'()\[\],;]*)`)

// hidePathsIn replaces the absolute paths in a text with "…/" and their
// file names, for those who may not see the machines (see
// hosting.ShowsMachines): "written to /var/aegir/backups/a.tar.gz" reads
// "written to …/a.tar.gz".
func hidePathsIn(text string) string {
	return pathPattern.ReplaceAllStringFunc(text, func(m string) string {
		i := strings.IndexByte(m, '/')
		return m[:i] + "…/" + path.Base(m[i:])
	})
}

// fileNames returns a value of a task's arguments or result with every
// absolute path cut to its file name (a backup file, a list of them, the
// directory a task worked in); other values as they are.
func fileNames(v any) any {
	switch v := v.(type) {
	case string:
		fields := strings.Fields(v)
		changed := false
		for i, f := range fields {
			if strings.HasPrefix(f, "/") && !strings.HasPrefix(f, "//") {
				fields[i], changed = path.Base(f), true
			}
		}
		if changed {
			return strings.Join(fields, " ")
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = fileNames(e)
		}
		return out
	case []string:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = fileNames(e).(string)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = fileNames(e)
		}
		return out
	}
	return v
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
// (null when it queued none; absent for clients), as u sees them.
func (o *objectKind) answer(u *aegir.User, v any, t *aegir.Task) map[string]any {
	m := map[string]any{o.singular: v}
	if o.ctxType != "" {
		m["task"] = taskFor(u, t)
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
		writeJSON(w, http.StatusCreated, o.answer(u, v, t))
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
		writeJSON(w, http.StatusOK, o.answer(u, v, t))
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
		writeJSON(w, http.StatusAccepted, map[string]any{"task": taskFor(u, t)})
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
		writeJSON(w, http.StatusCreated, map[string]any{"task": taskFor(u, t)})
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
