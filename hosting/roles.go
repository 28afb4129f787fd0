package hosting

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// EFORBIDDEN is the code of a refusal: the user is known, but the role
// does not allow the action on that kind of object at all. An object the
// role may act on but that belongs to another client is ENOTFOUND
// instead, so that a refusal never tells whether it exists.
const EFORBIDDEN = "forbidden"

// Actions a user asks to do; a task action is ActTask followed by the
// task type ("task:backup").
const (
	ActList   = "list"
	ActRead   = "read"
	ActCreate = "create"
	ActUpdate = "update"
	ActDelete = "delete"
	ActCancel = "cancel" // a queued task
	ActRetry  = "retry"  // a failed task
	ActTask   = "task:"
	// ActUse is choosing an object for another: a platform or a client
	// for a site.
	ActUse = "use"
	// ActGrant is giving a role to a user (object "role:NAME").
	ActGrant = "grant"
)

// Kinds of objects. A kind's plural ("sites") names its collection; an
// object is "kind:name" ("site:example.com", "task:17").
const (
	KindServer   = "server"
	KindPlatform = "platform"
	KindSite     = "site"
	KindClient   = "client"
	KindUser     = "user"
	KindTask     = "task"
	KindRole     = "role"
	KindAudit    = "audit"
	// KindDispatcher is a dispatcher sharing the queue, which no role but
	// the administrators' sees: its name is a machine's.
	KindDispatcher = "dispatcher"
	// KindToken is the API tokens of a user: "token:NAME" for those of
	// user NAME. Everyone manages their own; no role but the
	// administrators' manages those of others.
	KindToken = "token"
)

// Roles lists the roles from the most to the least powerful.
var Roles = []string{aegir.RoleAdministrator, aegir.RolePlatformManager, aegir.RoleAccountManager, aegir.RoleClient}

// anyTask stands for every task type in a rule.
const anyTask = ActTask + "*"

// rules says, per role and kind, which actions the role may do at all.
// Administrators may do everything and are not listed. Whether the object
// is the user's (a site of one of their clients) is checked after.
var rules = map[string]map[string][]string{
	aegir.RolePlatformManager: {
		KindServer:   {ActList, ActRead, ActCreate, ActUpdate, ActDelete, anyTask},
		KindPlatform: {ActList, ActRead, ActCreate, ActUpdate, ActDelete, anyTask},
		KindSite:     {ActList, ActRead},
		KindClient:   {ActList, ActRead, ActUse},
		KindTask:     {ActList, ActRead, ActCancel, ActRetry},
	},
	aegir.RoleAccountManager: {
		KindPlatform: {ActList, ActRead},
		KindSite:     {ActList, ActRead},
		KindClient:   {ActList, ActRead, ActCreate, ActUpdate, ActDelete, ActUse},
		KindUser:     {ActList, ActRead, ActCreate, ActUpdate, ActDelete},
		KindRole:     {ActGrant},
		KindTask:     {ActList, ActRead},
	},
	aegir.RoleClient: {
		KindPlatform: {ActList, ActRead, ActUse},
		KindSite:     append([]string{ActList, ActRead, ActCreate, ActUpdate, ActDelete}, clientTaskActions()...),
		KindClient:   {ActList, ActRead, ActUse},
		KindUser:     {ActRead, ActUpdate}, // themselves only
		KindTask:     {ActList, ActRead, ActCancel, ActRetry},
	},
}

// grantable are the roles a role may give (administrators give any).
var grantable = map[string][]string{
	aegir.RoleAccountManager: {aegir.RoleAccountManager, aegir.RoleClient},
}

// clientTaskActions are the task actions a client user may take on the
// sites of their clients, in the states that allow them: the catalog's
// tasks marked Clients.
func clientTaskActions() []string {
	var out []string
	for _, t := range aegir.Tasks() {
		if t.Clients && t.QueuedOn(aegir.SiteContext) {
			out = append(out, ActTask+t.Name)
		}
	}
	return out
}

// RoleAllows reports whether a role may do action on objects of a kind at
// all, regardless of whose they are.
func RoleAllows(role, kind, action string) bool {
	if role == aegir.RoleAdministrator {
		return true
	}
	allowed := rules[role][kind]
	if strings.HasPrefix(action, ActTask) && slices.Contains(allowed, anyTask) {
		return true
	}
	return slices.Contains(allowed, action)
}

// forbidden is the refusal of an action the role does not allow.
func forbidden(u *aegir.User, action, object string) error {
	return aegir.Errorf(EFORBIDDEN, "%s users may not %s %s", roleTitle(u.Role), strings.TrimPrefix(action, ActTask), object)
}

// roleTitle names a role for messages.
func roleTitle(role string) string { return strings.ReplaceAll(role, "_", " ") }

// notFound hides an object of another client as if it did not exist.
func notFound(kind, name string) error {
	switch kind {
	case KindSite, KindPlatform:
		return aegir.Errorf(aegir.ENOTFOUND, "%s @%s does not exist", kind, name)
	case KindTask:
		return aegir.Errorf(aegir.ENOTFOUND, "task %s does not exist", name)
	}
	return aegir.Errorf(aegir.ENOTFOUND, "%s %q does not exist", kind, name)
}

// Authorize decides whether user u may do action on object: a collection
// ("sites"), an object ("site:example.com", "task:17", "role:client") or
// "audit". Every permission of the API and the pages is decided here, from
// the rules table: EUNAUTHORIZED without an enabled user, EFORBIDDEN when
// the role may not do the action on that kind at all, ENOTFOUND when the
// object is not the user's (a client user asking for a site of another
// client) or does not exist where that must be checked to decide. An
// object that does not exist may otherwise pass: the handler reports it.
func (s *Service) Authorize(ctx context.Context, u *aegir.User, action, object string) error {
	if u == nil || u.Disabled {
		return aegir.Errorf(aegir.EUNAUTHORIZED, "log in first")
	}
	kind, name, isObject := strings.Cut(object, ":")
	if !isObject {
		kind = strings.TrimSuffix(kind, "s")
	}
	if isObject && kind == KindUser && name == u.Name && (action == ActRead || action == ActUpdate) {
		return nil // everyone sees and changes their own account (a role change still needs a grant)
	}
	if isObject && kind == KindToken && name == u.Name {
		return nil // everyone lists, makes and revokes their own API tokens
	}
	if !RoleAllows(u.Role, kind, action) {
		return forbidden(u, action, object)
	}
	if !isObject {
		return nil
	}
	switch kind {
	case KindTask:
		return s.authorizeTask(ctx, u, action, name)
	case KindRole:
		if u.Role != aegir.RoleAdministrator && !slices.Contains(grantable[u.Role], name) {
			return aegir.Errorf(EFORBIDDEN, "%s users may not give the role %s", roleTitle(u.Role), roleTitle(name))
		}
		return nil
	case KindUser:
		return s.authorizeUser(ctx, u, action, name)
	}
	if u.Role != aegir.RoleClient {
		return nil
	}
	// A client user: only what belongs to their clients.
	switch kind {
	case KindSite:
		r, err := s.Store.GetSite(ctx, aegir.ContextName(name))
		if err != nil {
			return err
		}
		if r.Client == "" || !slices.Contains(u.Clients, r.Client) {
			return notFound(kind, r.Name)
		}
	case KindPlatform:
		p, err := s.Store.GetPlatform(ctx, aegir.ContextName(name))
		if err != nil {
			return err
		}
		if !PlatformOpenTo(p, u.Clients) {
			return notFound(kind, p.Name)
		}
	case KindClient:
		if !slices.Contains(u.Clients, name) {
			return notFound(kind, name)
		}
	}
	return nil
}

// PlatformOpenTo reports whether a platform takes sites of one of the
// clients: it is open to every client, or lists one of them.
func PlatformOpenTo(p *aegir.PlatformRecord, clients []string) bool {
	if len(p.Clients) == 0 {
		return true
	}
	for _, c := range clients {
		if slices.Contains(p.Clients, c) {
			return true
		}
	}
	return false
}

// authorizeTask decides on a task by its object: reading a task is
// reading its object; cancelling or retrying it is queueing its type on
// its object.
func (s *Service) authorizeTask(ctx context.Context, u *aegir.User, action, ref string) error {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id < 1 {
		return notFound(KindTask, ref)
	}
	t, err := s.Store.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if u.Role == aegir.RoleClient && t.ObjectType != aegir.SiteContext {
		return notFound(KindTask, ref) // client users see the tasks of their sites only
	}
	objectAction := ActRead
	if action == ActCancel || action == ActRetry {
		objectAction = ActTask + t.Type
	}
	err = s.Authorize(ctx, u, objectAction, string(t.ObjectType)+":"+t.Object)
	switch aegir.ErrorCode(err) {
	case "":
		return nil
	case aegir.ENOTFOUND:
		return notFound(KindTask, ref)
	case EFORBIDDEN:
		if objectAction == ActRead {
			return notFound(KindTask, ref) // a task on what the user may not see
		}
	}
	return err
}

// authorizeUser decides on a user: a client user acts only on
// themselves, and an account manager only on users of the roles they may
// give.
func (s *Service) authorizeUser(ctx context.Context, u *aegir.User, action, name string) error {
	if u.Role == aegir.RoleAdministrator {
		return nil
	}
	if u.Role == aegir.RoleClient {
		if name != u.Name {
			return notFound(KindUser, name)
		}
		return nil
	}
	if action == ActRead || action == ActList {
		return nil
	}
	target, err := s.Store.GetUserByName(ctx, name)
	if err != nil {
		return err
	}
	if !slices.Contains(grantable[u.Role], target.Role) {
		return aegir.Errorf(EFORBIDDEN, "%s users may not change %s users", roleTitle(u.Role), roleTitle(target.Role))
	}
	return nil
}

// ListScope returns what a user's lists of a kind keep: the client scope
// (client users see their clients' sites, tasks, clients and the
// platforms open to them) and, for tasks, the object types (users who may
// not read servers do not see their tasks).
func ListScope(u *aegir.User, kind string) (aegir.Scope, []aegir.ContextType) {
	var types []aegir.ContextType
	if kind == KindTask && u.Role != aegir.RoleAdministrator {
		for _, t := range []aegir.ContextType{aegir.ServerContext, aegir.PlatformContext, aegir.SiteContext} {
			if RoleAllows(u.Role, string(t), ActRead) {
				types = append(types, t)
			}
		}
	}
	if u.Role != aegir.RoleClient || kind == KindServer {
		return aegir.Scope{}, types
	}
	return aegir.Scope{Limited: true, Clients: slices.Clone(u.Clients)}, types
}

// ShowsMachines reports whether u sees the machines behind the sites: the
// names of servers and the paths on them (platform roots, backup files,
// site directories). Those who may not list servers (client users, account
// managers) see neither: a backup is shown by its file name alone.
func ShowsMachines(u *aegir.User) bool {
	return u != nil && !u.Disabled && RoleAllows(u.Role, KindServer, ActList)
}

// ShowLoginLink reports whether the user may see a site's one-time login
// links (as an install or login-reset leaves them in the task's result):
// those who may ask for a new one.
func (s *Service) ShowLoginLink(ctx context.Context, u *aegir.User, site string) bool {
	return s.Authorize(ctx, u, ActTask+aegir.TaskLoginReset, KindSite+":"+site) == nil
}

// CheckUse turns a refusal to use a platform or client for a site into
// invalid input naming the field, worded as if it did not exist, so that a
// form or a request body learns nothing of other clients' objects.
func (s *Service) CheckUse(ctx context.Context, u *aegir.User, kind, name, field string) error {
	if name == "" {
		return nil
	}
	err := s.Authorize(ctx, u, ActUse, kind+":"+name)
	switch aegir.ErrorCode(err) {
	case "":
		return nil
	case aegir.ENOTFOUND:
		if kind == KindPlatform {
			return aegir.FieldErrorf(field, "platform @%s does not exist", aegir.ContextName(name))
		}
		return aegir.FieldErrorf(field, "%s %q does not exist", kind, name)
	}
	return err
}
