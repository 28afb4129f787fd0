package hosting

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// argSpec says what arguments the front end takes for a task.
type argSpec struct {
	required []string
	optional []string
}

// TaskTypes returns the task types the front end queues on an object type
// (the catalog's Queued), sorted; all of them when objType is empty.
func TaskTypes(objType aegir.ContextType) []string {
	var list []string
	for _, t := range aegir.Tasks() {
		if len(t.Queued) > 0 && (objType == "" || t.QueuedOn(objType)) {
			list = append(list, t.Name)
		}
	}
	return list
}

// TaskArgs returns the required and optional arguments the front end takes
// for a task type.
func TaskArgs(typ string) (required, optional []string) {
	t, _ := aegir.LookupTask(typ)
	return t.FrontEndArgs()
}

// SiteTaskAllowed reports whether a task of type typ may be queued on a
// site in the given status, following Aegir: a deleted site takes no
// task; a disabled one only enable and delete; one that is not installed
// (or failed to install) only install, import and delete; an enabled one
// everything but enable, install and import, and delete only when
// deleteEnabled is set (Aegir asks for a disable first). The error is an
// ECONFLICT saying why.
func SiteTaskAllowed(status, typ string, deleteEnabled bool) error {
	var allowed []string
	var state string
	switch status {
	case aegir.SiteDeleted:
		return aegir.Errorf(aegir.ECONFLICT, "the site is deleted: it takes no tasks")
	case aegir.SiteDisabled:
		allowed, state = []string{aegir.TaskEnable, aegir.TaskDelete}, "disabled"
	case aegir.SiteEnabled:
		for _, t := range TaskTypes(aegir.SiteContext) {
			if t != aegir.TaskEnable && t != aegir.TaskInstall && t != aegir.TaskImport && (t != aegir.TaskDelete || deleteEnabled) {
				allowed = append(allowed, t)
			}
		}
		if typ == aegir.TaskDelete && !deleteEnabled {
			return aegir.Errorf(aegir.ECONFLICT, "the site is enabled: disable it before deleting it")
		}
		state = "enabled"
	default: // not installed, installing, failed
		allowed, state = []string{aegir.TaskInstall, aegir.TaskImport, aegir.TaskDelete}, "not installed"
		if status == aegir.SiteFailed {
			state = "failed to install"
		}
	}
	if !slices.Contains(allowed, typ) {
		return aegir.Errorf(aegir.ECONFLICT, "the site is %s: it takes only %s, not %s", state, orList(allowed), typ)
	}
	return nil
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// AllowedTasks returns the task types a site in the given record's state
// takes, for a UI to offer.
func (s *Service) AllowedTasks(r *aegir.SiteRecord) []string {
	var list []string
	for _, t := range TaskTypes(aegir.SiteContext) {
		if s.siteRule(r, t) == nil {
			list = append(list, t)
		}
	}
	return list
}

// siteRule applies the state rules and the own-site rule.
func (s *Service) siteRule(r *aegir.SiteRecord, typ string) error {
	if s.OwnSite != "" && r.Name == aegir.ContextName(s.OwnSite) && (typ == aegir.TaskDisable || typ == aegir.TaskDelete) {
		return aegir.Errorf(aegir.ECONFLICT, "site @%s serves this front end: it cannot be disabled or deleted", r.Name)
	}
	if err := SiteTaskAllowed(r.Status, typ, s.AllowDeleteEnabled); err != nil {
		return aegir.Errorf(aegir.ECONFLICT, "site @%s %s", r.Name, strings.TrimPrefix(err.Error(), "the site "))
	}
	return nil
}

// SiteTaskRefusal returns why a site in the record's state takes no task
// of type typ (an ECONFLICT saying what to do first, such as "disable it
// before deleting it"), or nil when it takes one: the state rules a UI
// explains when it offers no button.
func (s *Service) SiteTaskRefusal(r *aegir.SiteRecord, typ string) error {
	return s.siteRule(r, typ)
}

// TaskRequest asks for a task on an object. Args are the task's arguments
// in string form; a leading "@" is accepted on references.
type TaskRequest struct {
	ObjectType aegir.ContextType
	Object     string
	Type       string
	Args       map[string]string
}

// CreateTask checks a task against the rules and queues it: the type
// applies to the object's type, the object exists (ENOTFOUND), its state
// allows the task (a server or platform in use is not deleted) and no
// task of that type is queued or running on it (ECONFLICT), and the
// arguments are the task's and valid (EINVALID naming "args.NAME").
func (s *Service) CreateTask(ctx context.Context, req TaskRequest, creator string) (*aegir.Task, error) {
	tt, ok := aegir.LookupTask(req.Type)
	if !ok || len(tt.Queued) == 0 {
		return nil, aegir.FieldErrorf("type", "%q is not a task (have %s)", req.Type, strings.Join(TaskTypes(""), ", "))
	}
	if !tt.QueuedOn(req.ObjectType) {
		return nil, aegir.FieldErrorf("type", "%s is not a task of a %s (a %s takes %s)", req.Type, req.ObjectType,
			req.ObjectType, strings.Join(TaskTypes(req.ObjectType), ", "))
	}
	name := aegir.ContextName(req.Object)
	t := &aegir.Task{Type: req.Type, ObjectType: req.ObjectType, Object: name, Creator: creator}
	var site *aegir.SiteRecord
	switch req.ObjectType {
	case aegir.ServerContext:
		if _, err := s.Store.GetServer(ctx, name); err != nil {
			return nil, err
		}
		if req.Type == aegir.TaskDelete {
			if err := s.serverUnused(ctx, name); err != nil {
				return nil, err
			}
		}
	case aegir.PlatformContext:
		if _, err := s.Store.GetPlatform(ctx, name); err != nil {
			return nil, err
		}
		if req.Type == aegir.TaskDelete {
			if n, err := s.liveSites(ctx, name); err != nil {
				return nil, err
			} else if n > 0 {
				return nil, aegir.Errorf(aegir.ECONFLICT, "platform @%s still has %d sites: delete or migrate them first", name, n)
			}
		}
		t.Platform, t.Exclusive = name, true
	case aegir.SiteContext:
		var err error
		if site, err = s.Store.GetSite(ctx, name); err != nil {
			return nil, err
		}
		if err := s.siteRule(site, req.Type); err != nil {
			return nil, err
		}
		t.Platform = aegir.ContextName(site.Site.Platform)
	}
	required, optional := tt.FrontEndArgs()
	args, err := s.checkArgs(ctx, req.Type, argSpec{required, optional}, name, site, req.Args)
	if err != nil {
		return nil, err
	}
	t.Args = args
	if err := s.notOutstanding(ctx, t); err != nil {
		return nil, err
	}
	if err := s.Store.EnqueueTask(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// notOutstanding refuses a task whose like is queued or processing on the
// same object, as Aegir offers no task that is outstanding.
func (s *Service) notOutstanding(ctx context.Context, t *aegir.Task) error {
	for _, status := range []string{aegir.StatusQueued, aegir.StatusProcessing} {
		list, _, err := s.Store.ListTasks(ctx, aegir.TaskFilter{Object: t.Object, Type: t.Type, Status: status, PerPage: aegir.MaxPerPage})
		if err != nil {
			return err
		}
		for _, o := range list {
			if o.ObjectType == t.ObjectType {
				return aegir.Errorf(aegir.ECONFLICT, "a %s of @%s is %s already (task %d)", t.Type, t.Object, status, o.ID)
			}
		}
	}
	return nil
}

// checkArgs validates a task's arguments and returns them normalised:
// references with "@", backup files as full paths, booleans as "true"
// (false ones dropped).
func (s *Service) checkArgs(ctx context.Context, typ string, spec argSpec, object string, site *aegir.SiteRecord, in map[string]string) (map[string]string, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(spec.required, k) && !slices.Contains(spec.optional, k) {
			if len(spec.required)+len(spec.optional) == 0 {
				return nil, aegir.FieldErrorf("args."+k, "is not an argument of %s: it takes none", typ)
			}
			return nil, aegir.FieldErrorf("args."+k, "is not an argument of %s (it takes %s)", typ,
				strings.Join(append(slices.Clone(spec.required), spec.optional...), ", "))
		}
	}
	for _, k := range spec.required {
		if strings.TrimSpace(in[k]) == "" {
			return nil, aegir.FieldErrorf("args."+k, "is required by %s", typ)
		}
	}
	out := map[string]string{}
	for _, k := range keys {
		v := strings.TrimSpace(in[k])
		if v == "" {
			continue
		}
		field := "args." + k
		switch k {
		case "force":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, aegir.FieldErrorf(field, "%q is not a boolean", v)
			}
			if !b {
				continue
			}
			v = "true"
		case "from":
			if !slices.Contains([]string{"local", "offsite"}, v) {
				return nil, aegir.FieldErrorf(field, "%q is not local or offsite", v)
			}
		case "snapshot":
			if err := aegir.ValidateSnapshotID(field, v); err != nil {
				return nil, err
			}
		case "format":
			if !slices.Contains([]string{"gz", "zst"}, v) {
				return nil, aegir.FieldErrorf(field, "%q is not gz or zst", v)
			}
		case "platform":
			var err error
			if v, err = s.targetPlatform(ctx, typ, object, site, v, in["new_uri"], field); err != nil {
				return nil, err
			}
		case "new_uri":
			var err error
			if v, err = s.freeURI(ctx, v, field); err != nil {
				return nil, err
			}
		case "target":
			var err error
			if v, err = s.syncTarget(ctx, object, site, v, field); err != nil {
				return nil, err
			}
		case "file", "files":
			files, err := s.siteBackups(ctx, object, strings.Fields(v), field)
			if err != nil {
				return nil, err
			}
			if k == "file" && len(files) != 1 {
				return nil, aegir.FieldErrorf(field, "names one backup, not %d", len(files))
			}
			v = strings.Join(files, " ")
		case "disabled_url":
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(v, " \t\n\"'") {
				return nil, aegir.FieldErrorf(field, "%q is not an http or https URL", v)
			}
		}
		out[k] = v
	}
	if tt, ok := aegir.LookupTask(typ); ok {
		for _, a := range tt.Args {
			other, value, _ := strings.Cut(a.RequiredUnless, "=")
			if a.RequiredUnless != "" && out[a.Name] == "" && out[other] != value {
				return nil, aegir.FieldErrorf("args."+a.Name, "is required by %s unless %s is %s", typ, other, value)
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// targetPlatform checks the platform a migrate, clone or batch migrate
// goes to: it exists, is unlocked and open to the site's client, and is
// another platform unless the site also gets a new uri.
func (s *Service) targetPlatform(ctx context.Context, typ, object string, site *aegir.SiteRecord, ref, newURI, field string) (string, error) {
	var client, from string
	if site != nil {
		client, from = site.Client, aegir.ContextName(site.Site.Platform)
	} else {
		from = object
	}
	p, err := s.sitePlatform(ctx, ref, client, site != nil, field)
	if err != nil {
		var e *aegir.Error
		if errors.As(err, &e) && e.Field == "client" {
			return "", aegir.FieldErrorf(field, "%s", e.Message)
		}
		return "", err
	}
	if p.Name == from && (typ == aegir.TaskMigratePlatform || typ == aegir.TaskMigrate && newURI == "") {
		return "", aegir.FieldErrorf(field, "@%s is the platform of @%s already", p.Name, object)
	}
	// A site moves only to a codebase of its own app: the task would fail.
	if src, err := s.Store.GetPlatform(ctx, from); err == nil && src.App != "" && p.App != "" && src.App != p.App {
		return "", aegir.FieldErrorf(field, "@%s runs %s, not %s like @%s", p.Name, p.App, src.App, from)
	} else if err != nil && aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return "", err
	}
	return "@" + p.Name, nil
}

// syncTarget checks the site a sync writes into: an installed site other
// than the source, of the same client as the source (a sync would
// otherwise let one client's user overwrite another's data); reported as
// not found when it is another client's, as such sites are.
func (s *Service) syncTarget(ctx context.Context, object string, site *aegir.SiteRecord, ref, field string) (string, error) {
	uri := aegir.ContextName(ref)
	if err := aegir.ValidateURI(field, uri); err != nil {
		return "", err
	}
	if uri == aegir.ContextName(object) {
		return "", aegir.FieldErrorf(field, "@%s is the site copied from", uri)
	}
	t, err := s.Store.GetSite(ctx, uri)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND || err == nil && (site == nil || t.Client != site.Client) {
		return "", aegir.FieldErrorf(field, "no site @%s of the same client", uri)
	} else if err != nil {
		return "", err
	}
	if t.Status != aegir.SiteEnabled {
		return "", aegir.FieldErrorf(field, "@%s is %s, not an enabled site", uri, t.Status)
	}
	return uri, nil
}

// freeURI checks a new site name: valid and held by no other server,
// platform or site. Aliases of other sites are checked by the store when
// the task's result creates the record.
func (s *Service) freeURI(ctx context.Context, ref, field string) (string, error) {
	uri := aegir.ContextName(ref)
	if err := aegir.ValidateURI(field, uri); err != nil {
		return "", err
	}
	if r, err := s.Store.GetSite(ctx, uri); err == nil && r.Status != aegir.SiteDeleted {
		return "", &aegir.Error{Code: aegir.ECONFLICT, Field: field, Message: fmt.Sprintf("site @%s exists already", uri)}
	} else if err != nil && aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return "", err
	}
	if _, err := s.Store.GetServer(ctx, uri); err == nil {
		return "", &aegir.Error{Code: aegir.ECONFLICT, Field: field, Message: fmt.Sprintf("a server named @%s exists", uri)}
	} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return "", err
	}
	if _, err := s.Store.GetPlatform(ctx, uri); err == nil {
		return "", &aegir.Error{Code: aegir.ECONFLICT, Field: field, Message: fmt.Sprintf("a platform named @%s exists", uri)}
	} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return "", err
	}
	return uri, nil
}

// siteBackups resolves backup files (full paths or base names) to the
// recorded backups of the site; anything else is refused, so a task never
// reads or deletes a file the store does not know as this site's backup.
func (s *Service) siteBackups(ctx context.Context, site string, names []string, field string) ([]string, error) {
	backups, err := s.Store.ListBackups(ctx, site)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, n := range names {
		found := ""
		for _, b := range backups {
			if b.File == n || filepath.Base(b.File) == n {
				found = b.File
				break
			}
		}
		if found == "" {
			return nil, aegir.FieldErrorf(field, "%q is not a backup of @%s", n, site)
		}
		if !slices.Contains(files, found) {
			files = append(files, found)
		}
	}
	return files, nil
}

// WaitingFor returns the task a queued task waits for, by the queue's
// rule (see aegir.TaskQueue): a task on the same object that is processing
// or queued before it; else a platform-wide task on its platform that is
// processing or queued before it; else, for a platform-wide task, any task
// on its platform that is processing or queued before it. It returns nil
// when nothing holds the task back (it waits for a free worker) or when it
// is not queued. Of several tasks queued before it, the one right before
// it is named.
func (s *Service) WaitingFor(ctx context.Context, t *aegir.Task) (*aegir.Task, error) {
	if t.Status != aegir.StatusQueued {
		return nil, nil
	}
	var processing []*aegir.Task
	err := s.eachTask(ctx, aegir.TaskFilter{Status: aegir.StatusProcessing}, func(o *aegir.Task) bool {
		processing = append(processing, o)
		return true
	})
	if err != nil {
		return nil, err
	}
	first := func(match func(*aegir.Task) bool) *aegir.Task {
		for _, o := range processing {
			if match(o) {
				return o
			}
		}
		return nil
	}
	before := func(o *aegir.Task) bool { return o.ID < t.ID }
	if o := first(func(o *aegir.Task) bool { return o.Object == t.Object }); o != nil {
		return o, nil
	}
	if o, err := s.lastQueued(ctx, t.Object, before); o != nil || err != nil {
		return o, err
	}
	if t.Platform == "" {
		return nil, nil
	}
	holdsPlatform := func(o *aegir.Task) bool { return o.Exclusive && o.Platform == t.Platform }
	if o := first(holdsPlatform); o != nil {
		return o, nil
	}
	// A platform-wide task is queued on its platform (see platformTask).
	if o, err := s.lastQueued(ctx, t.Platform, func(o *aegir.Task) bool { return before(o) && holdsPlatform(o) }); o != nil || err != nil {
		return o, err
	}
	if !t.Exclusive {
		return nil, nil
	}
	onPlatform := func(o *aegir.Task) bool { return o.Platform == t.Platform }
	if o := first(onPlatform); o != nil {
		return o, nil
	}
	return s.lastQueued(ctx, "", func(o *aegir.Task) bool { return before(o) && onPlatform(o) })
}

// lastQueued returns the newest queued task on object ("" for any) that
// matches, or nil.
func (s *Service) lastQueued(ctx context.Context, object string, match func(*aegir.Task) bool) (*aegir.Task, error) {
	var found *aegir.Task
	err := s.eachTask(ctx, aegir.TaskFilter{Status: aegir.StatusQueued, Object: object}, func(o *aegir.Task) bool {
		if match(o) {
			found = o
		}
		return found == nil
	})
	return found, err
}

// eachTask calls fn on the tasks f selects, newest first, reading them a
// page at a time, until fn returns false.
func (s *Service) eachTask(ctx context.Context, f aegir.TaskFilter, fn func(*aegir.Task) bool) error {
	f.PerPage = aegir.MaxPerPage
	for f.Page = 1; ; f.Page++ {
		list, total, err := s.Store.ListTasks(ctx, f)
		if err != nil {
			return err
		}
		for _, o := range list {
			if !fn(o) {
				return nil
			}
		}
		if f.Page*aegir.MaxPerPage >= total || len(list) == 0 {
			return nil
		}
	}
}

// CancelTask cancels a queued task (ECONFLICT for any other status).
func (s *Service) CancelTask(ctx context.Context, id int64) error {
	return s.Store.CancelTask(ctx, id)
}

// RetryTask queues a new copy of a failed task and returns it; a task on
// a site is retried only if the site's state still allows it.
func (s *Service) RetryTask(ctx context.Context, id int64) (*aegir.Task, error) {
	t, err := s.Store.GetTask(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Status == aegir.StatusFailed && t.ObjectType == aegir.SiteContext {
		site, err := s.Store.GetSite(ctx, t.Object)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			return nil, aegir.Errorf(aegir.ECONFLICT, "site @%s no longer exists", t.Object)
		} else if err != nil {
			return nil, err
		}
		if err := s.siteRule(site, t.Type); err != nil {
			return nil, err
		}
	}
	return s.Store.RetryTask(ctx, id)
}

// --- counts, for metrics and dashboards ---

// TaskCounter is a store that counts its tasks by type and status in one
// query (type → status → count). Stores should implement it; until they
// do, TaskCounts counts with ListTasks, one query per type and status.
type TaskCounter interface {
	CountTasks(ctx context.Context) (map[string]map[string]int, error)
}

// SiteCounter is a store that counts its sites by status in one query.
type SiteCounter interface {
	CountSites(ctx context.Context) (map[string]int, error)
}

// TaskStatuses are the statuses a task goes through.
var TaskStatuses = []string{aegir.StatusQueued, aegir.StatusProcessing, aegir.StatusSuccess, aegir.StatusWarning, aegir.StatusFailed, aegir.StatusCancelled}

// SiteStatuses are the statuses a site record takes.
var SiteStatuses = []string{aegir.SiteNotInstalled, aegir.SiteInstalling, aegir.SiteEnabled, aegir.SiteDisabled, aegir.SiteFailed, aegir.SiteDeleted}

// TaskCounts returns how many tasks of each type are in each status. On a
// store without TaskCounter it counts the tasks of each known type, then,
// for the types that have any, each status: a bounded number of indexed
// counts, never one query per task.
func (s *Service) TaskCounts(ctx context.Context) (map[string]map[string]int, error) {
	if c, ok := s.Store.(TaskCounter); ok {
		return c.CountTasks(ctx)
	}
	out := map[string]map[string]int{}
	for _, typ := range TaskTypes("") {
		_, total, err := s.Store.ListTasks(ctx, aegir.TaskFilter{Type: typ, PerPage: 1})
		if err != nil {
			return nil, err
		}
		if total == 0 {
			continue
		}
		out[typ] = map[string]int{}
		for _, status := range TaskStatuses {
			_, n, err := s.Store.ListTasks(ctx, aegir.TaskFilter{Type: typ, Status: status, PerPage: 1})
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out[typ][status] = n
			}
		}
	}
	return out, nil
}

// QueueDepth returns how many tasks are queued.
func (s *Service) QueueDepth(ctx context.Context) (int, error) {
	_, n, err := s.Store.ListTasks(ctx, aegir.TaskFilter{Status: aegir.StatusQueued, PerPage: 1})
	return n, err
}

// SiteCounts returns how many sites are in each status.
func (s *Service) SiteCounts(ctx context.Context) (map[string]int, error) {
	if c, ok := s.Store.(SiteCounter); ok {
		return c.CountSites(ctx)
	}
	out := map[string]int{}
	for _, status := range SiteStatuses {
		if status == aegir.SiteNotInstalled {
			continue // an empty filter matches every site: derived below
		}
		_, n, err := s.Store.ListSites(ctx, aegir.SiteFilter{Status: status, PerPage: 1})
		if err != nil {
			return nil, err
		}
		out[status] = n
	}
	_, total, err := s.Store.ListSites(ctx, aegir.SiteFilter{PerPage: 1})
	if err != nil {
		return nil, err
	}
	rest := total
	for _, n := range out {
		rest -= n
	}
	out[aegir.SiteNotInstalled] = rest
	return out, nil
}
