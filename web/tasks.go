package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// keepAlive is how often an idle log stream sends a comment, so that
// proxies keep it open.
const keepAlive = 15 * time.Second

// secretData are keys of a task's result data that are never shown.
var secretData = []string{"db_passwd", "password", "master_db"}

// loginLinkData is the key of a one-time login link in a task's result,
// shown only to those who may ask for one (see taskShown).
const loginLinkData = "login_link"

// taskJSON returns a task as the API shows it to those who see the
// machines (nil for none), with secret result data masked and no login
// link.
func taskJSON(t *aegir.Task) any {
	return taskData(t, false, true)
}

// taskFor returns a task as the API shows it to u (nil for none): as
// taskJSON, and without paths or the dispatcher's name for those who may
// not see the machines.
func taskFor(u *aegir.User, t *aegir.Task) any {
	if t == nil {
		return nil
	}
	return taskData(t, false, hosting.ShowsMachines(u))
}

// taskData returns a task as shown, with its login link when showLink,
// and, unless showMachines, with the paths on servers in its arguments and
// result cut to their file names and no name of the dispatcher (a host's)
// that runs it.
func taskData(t *aegir.Task, showLink, showMachines bool) *aegir.Task {
	if t == nil {
		return nil
	}
	c := *t
	if len(t.Data) > 0 {
		c.Data = make(map[string]any, len(t.Data))
		for k, v := range t.Data {
			if slices.Contains(secretData, k) || (k == loginLinkData && !showLink) {
				v = hosting.Masked
			} else if !showMachines {
				v = fileNames(v)
			}
			c.Data[k] = v
		}
	}
	if !showMachines {
		c.Worker = ""
	}
	if len(t.Args) > 0 && !showMachines {
		c.Args = make(map[string]string, len(t.Args))
		for k, v := range t.Args {
			c.Args[k] = fileNames(v).(string)
		}
	}
	return &c
}

// taskShown returns a task as u may see it: the one-time login link of an
// install or login-reset only for those who may ask for a new one, and
// paths only for those who see the machines.
func (s *Server) taskShown(ctx context.Context, u *aegir.User, t *aegir.Task) *aegir.Task {
	show := false
	if t != nil && t.ObjectType == aegir.SiteContext && t.Data[loginLinkData] != nil {
		show = s.Service.ShowLoginLink(ctx, u, t.Object)
	}
	return taskData(t, show, hosting.ShowsMachines(u))
}

// logShown returns a task's log as u may see it: paths on servers cut to
// "…/" and their file names for those who may not see the machines.
func logShown(u *aegir.User, log []aegir.TaskLogEntry) []aegir.TaskLogEntry {
	if hosting.ShowsMachines(u) {
		return log
	}
	out := make([]aegir.TaskLogEntry, len(log))
	for i, e := range log {
		e.Message = hidePathsIn(e.Message)
		out[i] = e
	}
	return out
}

// taskID reads the {id} of the path.
func taskID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, aegir.Errorf(aegir.ENOTFOUND, "task %q does not exist", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "tasks"); err != nil {
		return err
	}
	page, perPage, err := pageParams(r)
	if err != nil {
		return err
	}
	status := r.FormValue("status")
	if status != "" && !slices.Contains(hosting.TaskStatuses, status) {
		return aegir.FieldErrorf("status", "%q is not one of %s", status, strings.Join(hosting.TaskStatuses, ", "))
	}
	scope, types := hosting.ListScope(u, hosting.KindTask)
	f := aegir.TaskFilter{Status: status, Object: aegir.ContextName(r.FormValue("object")), Type: r.FormValue("type"), Page: page, PerPage: perPage,
		Scope: scope, ObjectTypes: types}
	list, total, err := s.Store.ListTasks(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]any, len(list))
	for i, t := range list {
		out[i] = taskFor(u, t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": out, "total": total, "page": page, "per_page": perPage})
	return nil
}

// getTask shows a task with its log so far.
func (s *Server) getTask(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActRead, fmt.Sprintf("task:%d", id)); err != nil {
		return err
	}
	t, err := s.Store.GetTask(r.Context(), id)
	if err != nil {
		return err
	}
	log, err := s.Store.TaskLog(r.Context(), id, 0)
	if err != nil {
		return err
	}
	if log == nil {
		log = []aegir.TaskLogEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"task": s.taskShown(r.Context(), u, t), "log": logShown(u, log)})
	return nil
}

func (s *Server) cancelTask(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActCancel, fmt.Sprintf("task:%d", id)); err != nil {
		return err
	}
	if err := s.Service.CancelTask(r.Context(), id); err != nil {
		return err
	}
	t, err := s.Store.GetTask(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"task": taskFor(u, t)})
	return nil
}

// retryTask queues a copy of a failed task: 201 with the new task.
func (s *Server) retryTask(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActRetry, fmt.Sprintf("task:%d", id)); err != nil {
		return err
	}
	t, err := s.Service.RetryTask(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"task": taskFor(u, t)})
	return nil
}

// finished reports whether a task status is final.
func finished(status string) bool {
	return status != aegir.StatusQueued && status != aegir.StatusProcessing
}

// streamLog streams a task's log as server-sent events: each line as a
// "log" event whose id is its seq (a client that reconnects with
// Last-Event-ID, or asks ?after=SEQ, gets only later lines), then one
// "end" event carrying the task with its final status, and the stream
// ends. It polls the store every LogPollInterval: reading the status
// before the lines means the lines read after a final status are all of
// them.
func (s *Server) streamLog(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActRead, fmt.Sprintf("task:%d", id)); err != nil {
		return err
	}
	after := int64(0)
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.FormValue("after")} {
		if v == "" {
			continue
		}
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return aegir.FieldErrorf("after", "%q is not a log line number", v)
		}
	}
	ctx := r.Context()
	if _, err := s.Store.GetTask(ctx, id); err != nil {
		return err
	}

	rc := http.NewResponseController(w)
	// A stream outlives the server's write timeout.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx in front must not buffer it
	w.WriteHeader(http.StatusOK)

	poll := time.NewTicker(s.LogPollInterval)
	defer poll.Stop()
	lastWrite := time.Now()
	for {
		t, err := s.Store.GetTask(ctx, id)
		var lines []aegir.TaskLogEntry
		if err == nil {
			lines, err = s.Store.TaskLog(ctx, id, after)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.streamError(w, r, err)
			rc.Flush()
			return nil
		}
		for _, e := range logShown(u, lines) {
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: log\ndata: %s\n\n", e.Seq, data)
			after = e.Seq
		}
		if finished(t.Status) {
			data, _ := json.Marshal(map[string]any{"status": t.Status, "task": s.taskShown(ctx, u, t)})
			fmt.Fprintf(w, "event: end\ndata: %s\n\n", data)
			rc.Flush()
			return nil
		}
		if len(lines) > 0 {
			lastWrite = time.Now()
		} else if time.Since(lastWrite) >= keepAlive {
			fmt.Fprint(w, ": keep-alive\n\n")
			lastWrite = time.Now()
		}
		if err := rc.Flush(); err != nil {
			return nil // the client is gone
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-poll.C:
		}
	}
}

// streamError ends a stream with an "error" event holding the error's
// JSON; internal errors are logged and not shown.
func (s *Server) streamError(w http.ResponseWriter, r *http.Request, err error) {
	body := errorBody{Error: aegir.ErrorCode(err), Message: err.Error()}
	if body.Error == aegir.EINTERNAL {
		s.Logger.Error("internal error in log stream", "path", logPath(r), "err", err)
		body.Message = "internal error: the details are in the server's log"
	}
	data, _ := json.Marshal(body)
	fmt.Fprintf(w, "event: error\ndata: %s\n\n", data)
}

// --- pages ---

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

type taskPageData struct {
	Task      *aegir.Task
	Log       []aegir.TaskLogEntry
	Live      bool
	Expected  float64 // seconds a task of this type usually takes, 0 if unknown
	Link      string  // a login link the user may see
	ObjectURL string
	Buttons   []string // cancel, retry
	// Holder is the dispatcher running the task, and Slot its slot there,
	// shown to those who may see dispatchers.
	Holder *dispatcher
	Slot   string
	// Waiting is what a queued task waits for; nil for a task that is not
	// queued.
	Waiting *waiting
}

// waiting is what holds a queued task back: an earlier task on the same
// object or platform (see hosting.Service.WaitingFor), or none, when it
// waits for a free worker.
type waiting struct {
	Task  *aegir.Task // nil: a free worker
	Where string      // where Task runs, seen from the waiting task: "on this site"
	Link  bool        // the user may open Task
}

// Text says what the task waits for, in a sentence's words.
func (w *waiting) Text() string {
	if w.Task == nil {
		return "waiting for a free worker"
	}
	return fmt.Sprintf("waiting for task #%d (%s, %s) %s", w.Task.ID, w.Task.Type, w.Task.Status, w.Where)
}

// waitingFor finds what the queued task t waits for.
func (s *Server) waitingFor(r *http.Request, u *aegir.User, t *aegir.Task) (*waiting, error) {
	o, err := s.Service.WaitingFor(r.Context(), t)
	if err != nil || o == nil {
		return &waiting{}, err
	}
	w := &waiting{Task: o, Link: s.can(r, u, hosting.ActRead, fmt.Sprintf("task:%d", o.ID))}
	switch {
	case o.Object == t.Object:
		w.Where = "on this " + string(t.ObjectType)
	case o.ObjectType == aegir.PlatformContext:
		w.Where = "on platform @" + o.Object + ", which holds every site of the platform while it runs"
	default:
		w.Where = fmt.Sprintf("on %s %s of this platform", o.ObjectType, o.Object)
	}
	return w, nil
}

// taskPageData reads a task the user may see, with what its page shows.
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
	if d.Holder, d.Slot, err = s.taskHolder(r, u, t); err != nil {
		return nil, err
	}
	if t.Status == aegir.StatusQueued {
		if d.Waiting, err = s.waitingFor(r, u, t); err != nil {
			return nil, err
		}
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
	d.Log = logShown(u, d.Log)
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

// confirmData is a page that asks before a change: the question, and a
// form posting back with confirmed=1.
type confirmData struct {
	Question, Action, Yes, No, Back string
}

// taskCancel cancels a queued task once confirmed: the button's script asks
// first and says so with confirmed=1; without it (no JavaScript) the
// answer is a page that asks. A task no longer queued is not asked about:
// the refusal says why.
func (s *Server) taskCancel(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActCancel, fmt.Sprintf("task:%d", id)); err != nil {
		return err
	}
	t, err := s.Store.GetTask(r.Context(), id)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirmed") != "1" && t.Status == aegir.StatusQueued {
		on := t.Object
		if t.ObjectType != aegir.SiteContext {
			on = "@" + on
		}
		return s.render(w, r, u, http.StatusOK, "confirm", fmt.Sprintf("Cancel task %d?", id), confirmData{
			Question: fmt.Sprintf("Task %d, %s on %s, is %s. Cancelled, it will not run.", id, t.Type, on, t.Status),
			Action:   fmt.Sprintf("/tasks/%d/cancel", id), Yes: "Cancel the task", No: "Keep it", Back: fmt.Sprintf("/tasks/%d", id)})
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

// --- buttons on object pages ---

// button is a task a page offers: a plain button that queues it, or a
// link to the form that asks for its arguments.
type button struct {
	Type, Label, Form string
	Danger            bool
	// Flag is a boolean argument of the task the button sets (verify's
	// rebuild).
	Flag string
}

// buttons returns the buttons of the tasks an object allows in its state
// that the user may queue: the two rule sets, hosting's state rules and
// the role rules, in one list. backup-delete has its buttons beside each
// backup.
func (s *Server) buttons(r *http.Request, u *aegir.User, kind, name string, allowed []string) []button {
	var out []button
	for _, t := range allowed {
		// deploy-code and sync take a ref and a target: the project's page
		// asks for them.
		if t == aegir.TaskBackupDelete || t == aegir.TaskNoop || t == aegir.TaskImport && kind != hosting.KindSite ||
			t == aegir.TaskDeployCode || t == aegir.TaskSync {
			continue
		}
		if !s.can(r, u, hosting.ActTask+t, kind+":"+name) {
			continue
		}
		row, _ := aegir.LookupTask(t)
		b := button{Type: t, Label: strings.ReplaceAll(t, "-", " "), Danger: row.Danger}
		if row.Form != "" {
			b.Form = "/" + kind + "s/" + name + "/" + row.Form
		}
		out = append(out, b)
	}
	return out
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
		if row, ok := aegir.LookupTask(typ); ok {
			for _, a := range row.Args {
				if a.Kind == aegir.ArgBool && !a.CLIOnly && r.PostFormValue(a.Name) == "1" {
					args[a.Name] = "1"
				}
			}
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
