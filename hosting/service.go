package hosting

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Service applies the front end's rules to changes a user asks for and
// queues the tasks they need. Its zero value is not usable: set Store.
//
// Creating an object and queueing its task are two store transactions
// (the Store has none spanning both), so the Service makes the pair
// all-or-nothing by compensation: it writes the record, enqueues the task,
// and when the enqueue fails it deletes the new record (or puts the old
// one back after an update) before returning the error.
type Service struct {
	Store aegir.Store
	// AllowDeleteEnabled lets a site be deleted while it is enabled. By
	// default, as in Aegir, a site must be disabled before it is deleted.
	AllowDeleteEnabled bool
	// OwnSite is the site that serves the front end itself, if it hosts
	// one: it can be neither disabled nor deleted.
	OwnSite string
	// Argon2 are the cost parameters of new password hashes; zero means
	// DefaultArgon2.
	Argon2 Argon2Params
	// StatLocal reads a path on this machine, where the front end runs, to
	// check the root of a new platform on a local web server; os.Stat when
	// nil. Tests of other rules swap it.
	StatLocal func(path string) (fs.FileInfo, error)

	hashOnce  sync.Once
	hashSem   chan struct{} // bounds the argon2 computations at once
	dummyOnce sync.Once
	dummy     string // the hash a login of an unknown user checks
}

// undoTimeout bounds the compensation after a failed enqueue; it runs even
// when the request's context has ended.
const undoTimeout = 10 * time.Second

// ServerInput is what a user sets on a server: its name (on create) and
// context properties in their command-line string form, keyed by property
// name. The value "null" resets a property, as `aegir save` does.
type ServerInput struct {
	Name  string
	Props map[string]string
}

// PlatformInput is what a user sets on a platform: its name (on create),
// context properties (as in ServerInput), and the front end's own fields;
// a nil field is left as it is.
type PlatformInput struct {
	Name    string
	Props   map[string]string
	Locked  *bool
	Clients *[]string // clients that may create sites on it; empty: all
}

// SiteInput is what a user sets on a site: its uri (on create; a leading
// "@" is accepted), context properties (as in ServerInput; "uri" may be
// among them) and its client; a nil Client is left as it is.
type SiteInput struct {
	URI    string
	Props  map[string]string
	Client *string
}

// ClientInput is what a user sets on a client; a nil field is left as it
// is (on create, empty).
type ClientInput struct {
	Name  string
	Title *string
	Email *string
	// Quotas (0: no limit), which only administrators set.
	QuotaSites *int
	QuotaDisk  *int64
}

// applyProps sets props on c in their string form, in name order so that
// the first error is always the same.
func applyProps(c *aegir.Context, props map[string]string) error {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := c.SetProperty(k, props[k]); err != nil {
			return err
		}
	}
	return nil
}

// without returns props without the named properties (in any spelling).
func without(props map[string]string, names ...string) map[string]string {
	out := make(map[string]string, len(props))
	for k, v := range props {
		if !slices.Contains(names, aegir.PropertyName(k)) {
			out[k] = v
		}
	}
	return out
}

// prop returns the value of a property in props, in any spelling.
func prop(props map[string]string, name string) (string, bool) {
	for k, v := range props {
		if aegir.PropertyName(k) == name {
			return v, true
		}
	}
	return "", false
}

// enqueue queues t; when that fails it runs undo, which takes back the
// change the task was queued for, and returns both errors.
func (s *Service) enqueue(ctx context.Context, t *aegir.Task, undo func(context.Context) error) error {
	err := s.Store.EnqueueTask(ctx, t)
	if err == nil {
		return nil
	}
	return runUndo(ctx, err, undo)
}

// runUndo takes back a change after err, and returns err; if the undo
// fails too, the store holds half a change: that is an internal error,
// whose details go to the log, not to the user.
func runUndo(ctx context.Context, err error, undo func(context.Context) error) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	if uerr := undo(uctx); uerr != nil {
		return &aegir.Error{Code: aegir.EINTERNAL, Message: "queueing the task failed and taking back the change failed too",
			Cause: errors.Join(err, fmt.Errorf("undo: %w", uerr))}
	}
	return err
}

// queuedTask returns the queued task of type typ on the object, or nil.
func (s *Service) queuedTask(ctx context.Context, objType aegir.ContextType, object, typ string) (*aegir.Task, error) {
	list, _, err := s.Store.ListTasks(ctx, aegir.TaskFilter{Object: object, Type: typ, Status: aegir.StatusQueued, PerPage: aegir.MaxPerPage})
	if err != nil {
		return nil, err
	}
	for _, t := range list {
		if t.ObjectType == objType {
			return t, nil
		}
	}
	return nil, nil
}

// queueVerify queues a verify of an object that was just changed, unless
// one is queued already: that one reads the new record when it runs. When
// it cannot queue, undo takes the change back.
func (s *Service) queueVerify(ctx context.Context, t *aegir.Task, undo func(context.Context) error) (*aegir.Task, error) {
	if q, err := s.queuedTask(ctx, t.ObjectType, t.Object, t.Type); err != nil {
		return nil, runUndo(ctx, err, undo)
	} else if q != nil {
		return q, nil
	}
	if err := s.enqueue(ctx, t, undo); err != nil {
		return nil, err
	}
	return t, nil
}

// --- servers ---

// AdminServerProps are the server properties that name a command or a path
// the aegir user runs or writes (or root, through sudo): over the API and
// the UI only administrators set them. A platform manager who could would
// run any command as the aegir user.
var AdminServerProps = []string{"http_test_cmd", "http_restart_cmd", "http_conf_link", "php_fpm_socket", "web_group",
	"php_fpm_pools", "php_fpm_test_cmd", "php_fpm_reload_cmd"}

// checkServerProps refuses the properties of AdminServerProps to anyone
// but an administrator (or the system: an empty role).
func checkServerProps(by Actor, props map[string]string) error {
	if by.Role == "" || by.Role == aegir.RoleAdministrator {
		return nil
	}
	for k := range props {
		if slices.Contains(AdminServerProps, strings.ReplaceAll(k, "-", "_")) {
			return &aegir.Error{Code: EFORBIDDEN, Field: k, Message: "only administrators set commands and paths of a server"}
		}
	}
	return nil
}

// CreateServer adds a server and queues its verify.
func (s *Service) CreateServer(ctx context.Context, in ServerInput, by Actor) (*aegir.ServerRecord, *aegir.Task, error) {
	creator := by.Name
	name := aegir.ContextName(in.Name)
	if err := aegir.ValidateName("name", name); err != nil {
		return nil, nil, err
	}
	if err := checkServerProps(by, in.Props); err != nil {
		return nil, nil, err
	}
	c, err := aegir.NewContext(name, aegir.ServerContext)
	if err != nil {
		return nil, nil, err
	}
	if err := applyProps(c, in.Props); err != nil {
		return nil, nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if err := s.checkClusterMembers(ctx, name, c.Server); err != nil {
		return nil, nil, err
	}
	r := &aegir.ServerRecord{Name: name, Server: *c.Server}
	if err := s.Store.CreateServer(ctx, r); err != nil {
		return nil, nil, err
	}
	t := &aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.ServerContext, Object: name, Creator: creator}
	if err := s.enqueue(ctx, t, func(ctx context.Context) error { return s.Store.DeleteServer(ctx, name) }); err != nil {
		return nil, nil, err
	}
	return r, t, nil
}

// checkClusterMembers refuses a cluster whose members are not existing
// servers, are the cluster itself, or are clusters themselves.
func (s *Service) checkClusterMembers(ctx context.Context, name string, sv *aegir.Server) error {
	for _, ref := range sv.ClusterWebServers {
		m := aegir.ContextName(ref)
		if m == name {
			return aegir.FieldErrorf("cluster_web_servers", "@%s cannot be a member of itself", name)
		}
		r, err := s.Store.GetServer(ctx, m)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			return aegir.FieldErrorf("cluster_web_servers", "server @%s does not exist", m)
		} else if err != nil {
			return err
		}
		if r.Server.HTTPServiceType == aegir.ServiceCluster {
			return aegir.FieldErrorf("cluster_web_servers", "@%s is a cluster itself", m)
		}
	}
	return nil
}

// UpdateServer changes a server's properties and queues its verify (or
// returns the verify already queued). A master_db given back in its masked
// form (as the API shows it) keeps the stored value.
func (s *Service) UpdateServer(ctx context.Context, name string, in ServerInput, by Actor) (*aegir.ServerRecord, *aegir.Task, error) {
	creator := by.Name
	name = aegir.ContextName(name)
	if err := checkServerProps(by, in.Props); err != nil {
		return nil, nil, err
	}
	old, err := s.Store.GetServer(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if err := sameName(in.Name, name); err != nil {
		return nil, nil, err
	}
	props := in.Props
	if v, ok := prop(props, "master_db"); ok && old.Server.MasterDB != "" && v == MaskMasterDB(old.Server.MasterDB) {
		props = without(props, "master_db")
	}
	c := old.Context()
	if err := applyProps(c, props); err != nil {
		return nil, nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if err := s.checkClusterMembers(ctx, name, c.Server); err != nil {
		return nil, nil, err
	}
	r := *old
	r.Server = *c.Server
	if err := s.Store.UpdateServer(ctx, &r); err != nil {
		return nil, nil, err
	}
	t := &aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.ServerContext, Object: name, Creator: creator}
	t, err = s.queueVerify(ctx, t, func(ctx context.Context) error { return s.Store.UpdateServer(ctx, old) })
	if err != nil {
		return nil, nil, err
	}
	// A site's URL holds its server's ports, and an app may keep its
	// address in its data (WordPress): its own verify moves it.
	if old.Server.HTTPPort != r.Server.HTTPPort || old.Server.HTTPSPort != r.Server.HTTPSPort {
		if err := s.verifySitesOn(ctx, name, creator); err != nil {
			return nil, nil, fmt.Errorf("the server's verify is queued, but not its sites': %w", err)
		}
	}
	return &r, t, nil
}

// verifySitesOn queues a verify of each enabled site on a platform of the
// server name, but those that have one queued already.
func (s *Service) verifySitesOn(ctx context.Context, name, creator string) error {
	platforms, err := s.platformsOn(ctx, name)
	if err != nil {
		return err
	}
	for _, platform := range platforms {
		for page := 1; ; page++ {
			list, total, err := s.Store.ListSites(ctx, aegir.SiteFilter{Platform: platform, Status: aegir.SiteEnabled, Page: page, PerPage: aegir.MaxPerPage})
			if err != nil {
				return err
			}
			for _, r := range list {
				t := &aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.SiteContext, Object: r.Name, Platform: platform, Creator: creator}
				if _, err := s.queueVerify(ctx, t, func(context.Context) error { return nil }); err != nil {
					return err
				}
			}
			if page*aegir.MaxPerPage >= total {
				break
			}
		}
	}
	return nil
}

// DeleteServer queues the delete of a server that no platform or site
// uses (ECONFLICT otherwise); the record goes when the task succeeds.
func (s *Service) DeleteServer(ctx context.Context, name, creator string) (*aegir.Task, error) {
	return s.CreateTask(ctx, TaskRequest{ObjectType: aegir.ServerContext, Object: name, Type: aegir.TaskDelete}, creator)
}

// platformsOn returns the names of the platforms on the web server name.
// The store has no filter by server, so this reads them page by page.
func (s *Service) platformsOn(ctx context.Context, name string) ([]string, error) {
	var out []string
	for page := 1; ; page++ {
		list, total, err := s.Store.ListPlatforms(ctx, aegir.ListFilter{Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			if aegir.ContextName(p.Platform.WebServer) == name {
				out = append(out, p.Name)
			}
		}
		if page*aegir.MaxPerPage >= total {
			return out, nil
		}
	}
}

// serverUnused returns ECONFLICT when a platform or a site that is not
// deleted uses the server. The store has no filter by server, so this
// reads the platforms and sites page by page; deleting a server is rare.
func (s *Service) serverUnused(ctx context.Context, name string) error {
	ref := "@" + name
	on, err := s.platformsOn(ctx, name)
	if err != nil {
		return err
	}
	platforms, sites := len(on), 0
	for page := 1; ; page++ {
		list, total, err := s.Store.ListSites(ctx, aegir.SiteFilter{Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return err
		}
		for _, r := range list {
			if r.Status != aegir.SiteDeleted && aegir.ContextName(r.Site.DBServer) == name {
				sites++
			}
		}
		if page*aegir.MaxPerPage >= total {
			break
		}
	}
	if platforms+sites > 0 {
		return aegir.Errorf(aegir.ECONFLICT, "server %s is used by %d platforms and %d sites", ref, platforms, sites)
	}
	return nil
}

// --- platforms ---

// CreatePlatform adds a platform (on @server_master unless web_server
// names another) and queues its verify, which builds and examines it.
func (s *Service) CreatePlatform(ctx context.Context, in PlatformInput, creator string) (*aegir.PlatformRecord, *aegir.Task, error) {
	name := aegir.ContextName(in.Name)
	if err := aegir.ValidateName("name", name); err != nil {
		return nil, nil, err
	}
	c, err := aegir.NewContext(name, aegir.PlatformContext)
	if err != nil {
		return nil, nil, err
	}
	if err := applyProps(c, in.Props); err != nil {
		return nil, nil, err
	}
	if c.Platform.WebServer == "" {
		c.Platform.WebServer = "@" + aegir.MasterServer
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if err := s.rootFree(ctx, name, c.Platform); err != nil {
		return nil, nil, err
	}
	if err := s.rootExists(ctx, c.Platform); err != nil {
		return nil, nil, err
	}
	r := &aegir.PlatformRecord{Name: name, Platform: *c.Platform}
	if in.Locked != nil {
		r.Locked = *in.Locked
	}
	if in.Clients != nil {
		r.Clients = *in.Clients
	}
	if err := s.Store.CreatePlatform(ctx, r); err != nil {
		return nil, nil, err
	}
	t := platformTask(aegir.TaskVerify, name, creator)
	if err := s.enqueue(ctx, t, func(ctx context.Context) error { return s.Store.DeletePlatform(ctx, name) }); err != nil {
		return nil, nil, err
	}
	return r, t, nil
}

// platformTask is a task on a platform: platform-wide, so no task on its
// sites runs beside it.
func platformTask(typ, name, creator string) *aegir.Task {
	return &aegir.Task{Type: typ, ObjectType: aegir.PlatformContext, Object: name, Platform: name, Exclusive: true, Creator: creator}
}

// UpdatePlatform changes a platform. Changed context properties queue a
// verify (returned); locking and the client list are the front end's own
// and queue nothing. Root and web server cannot change while the platform
// has sites (ECONFLICT): they would move under them.
func (s *Service) UpdatePlatform(ctx context.Context, name string, in PlatformInput, creator string) (*aegir.PlatformRecord, *aegir.Task, error) {
	name = aegir.ContextName(name)
	old, err := s.Store.GetPlatform(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if err := sameName(in.Name, name); err != nil {
		return nil, nil, err
	}
	c := old.Context()
	if err := applyProps(c, in.Props); err != nil {
		return nil, nil, err
	}
	if c.Platform.WebServer == "" {
		c.Platform.WebServer = "@" + aegir.MasterServer
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	for _, f := range []struct{ field, was, is string }{
		{"root", old.Platform.Root, c.Platform.Root},
		{"web_server", aegir.ContextName(old.Platform.WebServer), aegir.ContextName(c.Platform.WebServer)},
	} {
		if f.was == f.is {
			continue
		}
		if n, err := s.liveSites(ctx, name); err != nil {
			return nil, nil, err
		} else if n > 0 {
			return nil, nil, &aegir.Error{Code: aegir.ECONFLICT, Field: f.field,
				Message: fmt.Sprintf("cannot change while platform @%s has %d sites: migrate them first", name, n)}
		}
	}
	if c.Platform.Root != old.Platform.Root || aegir.ContextName(c.Platform.WebServer) != aegir.ContextName(old.Platform.WebServer) {
		if err := s.rootFree(ctx, name, c.Platform); err != nil {
			return nil, nil, err
		}
		if err := s.rootExists(ctx, c.Platform); err != nil {
			return nil, nil, err
		}
	}
	r := *old
	r.Platform = *c.Platform
	if in.Locked != nil {
		r.Locked = *in.Locked
	}
	if in.Clients != nil {
		r.Clients = *in.Clients
	}
	if err := s.Store.UpdatePlatform(ctx, &r); err != nil {
		return nil, nil, err
	}
	if len(in.Props) == 0 {
		return &r, nil, nil
	}
	t, err := s.queueVerify(ctx, platformTask(aegir.TaskVerify, name, creator), func(ctx context.Context) error { return s.Store.UpdatePlatform(ctx, old) })
	if err != nil {
		return nil, nil, err
	}
	return &r, t, nil
}

// liveSites counts the sites of a platform that are not deleted.
func (s *Service) liveSites(ctx context.Context, platform string) (int, error) {
	_, n, err := s.Store.ListSites(ctx, aegir.SiteFilter{Platform: platform, Live: true, PerPage: 1})
	return n, err
}

// ListLiveSites returns one page of the sites f selects and their total,
// leaving out the tombstones of deleted sites unless f asks for a status.
func (s *Service) ListLiveSites(ctx context.Context, f aegir.SiteFilter) ([]*aegir.SiteRecord, int, error) {
	f.Live = f.Status == ""
	return s.Store.ListSites(ctx, f)
}

// DeletePlatform queues the delete of a platform without sites (ECONFLICT
// otherwise); the record goes when the task succeeds.
func (s *Service) DeletePlatform(ctx context.Context, name, creator string) (*aegir.Task, error) {
	return s.CreateTask(ctx, TaskRequest{ObjectType: aegir.PlatformContext, Object: name, Type: aegir.TaskDelete}, creator)
}

// --- sites ---

// CreateSite adds a site with status installing and queues its install.
// The platform must exist, be unlocked and be open to the site's client;
// the db server defaults to @server_master and must exist; the uri must
// be free among the uris and aliases of every site (ECONFLICT).
func (s *Service) CreateSite(ctx context.Context, in SiteInput, creator string) (*aegir.SiteRecord, *aegir.Task, error) {
	uri := aegir.ContextName(in.URI)
	if v, ok := prop(in.Props, "uri"); ok {
		if uri == "" {
			uri = aegir.ContextName(v)
		} else if aegir.ContextName(v) != uri {
			return nil, nil, aegir.FieldErrorf("uri", "%q differs from the site's name %q", v, uri)
		}
	}
	if err := aegir.ValidateURI("uri", uri); err != nil {
		return nil, nil, err
	}
	c, err := aegir.NewContext(uri, aegir.SiteContext)
	if err != nil {
		return nil, nil, err
	}
	if err := applyProps(c, without(in.Props, "uri")); err != nil {
		return nil, nil, err
	}
	if c.Site.Platform == "" {
		return nil, nil, aegir.FieldErrorf("platform", "is required")
	}
	if c.Site.DBServer == "" {
		c.Site.DBServer = "@" + aegir.MasterServer
	}
	var client string
	if in.Client != nil {
		client = *in.Client
	}
	p, err := s.sitePlatform(ctx, c.Site.Platform, client, true, "platform")
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkClient(ctx, client); err != nil {
		return nil, nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if err := s.checkSSLKey(ctx, c.Site, client); err != nil {
		return nil, nil, err
	}
	if err := s.CheckQuota(ctx, client); err != nil {
		return nil, nil, err
	}
	r := &aegir.SiteRecord{Name: uri, Site: *c.Site, Client: client, Status: aegir.SiteInstalling}
	if err := s.Store.CreateSite(ctx, r); err != nil {
		return nil, nil, err
	}
	t := &aegir.Task{Type: aegir.TaskInstall, ObjectType: aegir.SiteContext, Object: uri, Platform: p.Name, Creator: creator}
	if err := s.enqueue(ctx, t, func(ctx context.Context) error { return s.Store.DeleteSite(ctx, uri) }); err != nil {
		return nil, nil, err
	}
	return r, t, nil
}

// sitePlatform returns the platform a site may be created on or moved to:
// it exists (EINVALID naming field), is not locked (ECONFLICT) and, when
// checkClient is set, is open to the client.
func (s *Service) sitePlatform(ctx context.Context, ref, client string, checkClient bool, field string) (*aegir.PlatformRecord, error) {
	name := aegir.ContextName(ref)
	if err := aegir.ValidateName(field, name); err != nil {
		return nil, err
	}
	p, err := s.Store.GetPlatform(ctx, name)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil, aegir.FieldErrorf(field, "platform @%s does not exist", name)
	} else if err != nil {
		return nil, err
	}
	if p.Locked {
		return nil, &aegir.Error{Code: aegir.ECONFLICT, Field: field, Message: fmt.Sprintf("platform @%s is locked: it takes no new sites", name)}
	}
	if checkClient && len(p.Clients) > 0 && !slices.Contains(p.Clients, client) {
		if client == "" {
			return nil, aegir.FieldErrorf("client", "is required: platform @%s is reserved for clients %v", name, p.Clients)
		}
		return nil, aegir.FieldErrorf("client", "%q may not use platform @%s", client, name)
	}
	return p, nil
}

// checkSSLKey refuses a certificate name (ssl_key) other than the site's
// own unless it names a live site of the same client: the certificate would
// be reissued with both sites' names and the vhost would use that site's
// private key, so a site shares only the certificates of its own client's
// sites. The error does not say whose a name is.
func (s *Service) checkSSLKey(ctx context.Context, site *aegir.Site, client string) error {
	key := site.CertificateName()
	if key == site.URI {
		return nil
	}
	r, err := s.Store.GetSite(ctx, key)
	if err != nil && aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return err
	}
	if err != nil || r.Status == aegir.SiteDeleted || r.Client != client {
		return aegir.FieldErrorf("ssl_key", "%q is not a site of this client: a site shares only the certificate of another site of its client", key)
	}
	return nil
}

// rootFree refuses a platform root that another platform on the same web
// server has: two platforms on one codebase would each rewrite its
// platform files and claim its sites.
func (s *Service) rootFree(ctx context.Context, name string, p *aegir.Platform) error {
	for page := 1; ; page++ {
		list, total, err := s.Store.ListPlatforms(ctx, aegir.ListFilter{Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return err
		}
		for _, o := range list {
			if o.Name != name && o.Platform.Root == p.Root && aegir.ContextName(o.Platform.WebServer) == aegir.ContextName(p.WebServer) {
				return &aegir.Error{Code: aegir.ECONFLICT, Field: "root", Message: fmt.Sprintf("%s is the root of platform @%s already", p.Root, o.Name)}
			}
		}
		if page*aegir.MaxPerPage >= total {
			return nil
		}
	}
}

// rootExists refuses the root of a platform that no verify could use: on
// a local web server (this machine), a root that is not a directory when
// no source (makefile, git_url, composer) would build it there. A verify would only fail on
// it, leaving a failed platform; the form says why at once instead. The
// roots on remote servers are checked by the platform's verify.
func (s *Service) rootExists(ctx context.Context, p *aegir.Platform) error {
	if p.SourceKind() != "" {
		return nil // verify builds it
	}
	sv, err := s.Store.GetServer(ctx, aegir.ContextName(p.WebServer))
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil // the store refuses a missing web server, naming it
	} else if err != nil {
		return err
	}
	if !isLocal(sv.Server) {
		return nil
	}
	stat := s.StatLocal
	if stat == nil {
		stat = os.Stat
	}
	fi, err := stat(p.Root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return aegir.FieldErrorf("root", "%s does not exist on @%s: give the directory of an existing codebase, or a source to build it from",
			p.Root, sv.Name)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return aegir.FieldErrorf("root", "%s cannot be read on @%s: %v", p.Root, sv.Name, err)
	case !fi.IsDir():
		return aegir.FieldErrorf("root", "%s is not a directory on @%s", p.Root, sv.Name)
	}
	return nil
}

// isLocal reports whether a server is this machine (no remote_host, or
// localhost), as the web server drivers decide.
func isLocal(sv aegir.Server) bool {
	return sv.IsLocal()
}

// checkClient reports a client that does not exist as invalid input.
func (s *Service) checkClient(ctx context.Context, client string) error {
	if client == "" {
		return nil
	}
	_, err := s.Store.GetClient(ctx, client)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return aegir.FieldErrorf("client", "client %q does not exist", client)
	}
	return err
}

// UpdateSite changes a site's properties and client. An enabled site gets
// a verify queued (returned, or the one already queued); a site that is
// not installed or is disabled takes the change at its next install or
// enable. The uri never changes (migrate with a new uri renames a site);
// platform and db server change only while the site is not installed and
// no install is queued (migrate moves an installed site).
func (s *Service) UpdateSite(ctx context.Context, name string, in SiteInput, creator string) (*aegir.SiteRecord, *aegir.Task, error) {
	name = aegir.ContextName(name)
	old, err := s.Store.GetSite(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if old.Status == aegir.SiteDeleted {
		return nil, nil, aegir.Errorf(aegir.ECONFLICT, "site @%s is deleted", name)
	}
	if in.URI != "" && aegir.ContextName(in.URI) != name {
		return nil, nil, aegir.FieldErrorf("uri", "cannot be changed: migrate the site with a new uri")
	}
	c := old.Context()
	if err := applyProps(c, in.Props); err != nil {
		return nil, nil, err
	}
	if c.Site.URI != name {
		return nil, nil, aegir.FieldErrorf("uri", "cannot be changed: migrate the site with a new uri")
	}
	if c.Site.DBServer == "" {
		c.Site.DBServer = "@" + aegir.MasterServer
	}
	client := old.Client
	if in.Client != nil {
		client = *in.Client
	}
	// Only a site with nothing on disk and no install queued may move.
	fixed := old.Status != aegir.SiteNotInstalled && old.Status != aegir.SiteFailed
	movedPlatform := aegir.ContextName(c.Site.Platform) != aegir.ContextName(old.Site.Platform)
	switch {
	case fixed && movedPlatform:
		return nil, nil, aegir.FieldErrorf("platform", "cannot be changed on a site that is %s: queue a migrate task", old.Status)
	case fixed && aegir.ContextName(c.Site.DBServer) != aegir.ContextName(old.Site.DBServer):
		return nil, nil, aegir.FieldErrorf("db_server", "cannot be changed on a site that is %s: queue a migrate task", old.Status)
	}
	if movedPlatform || client != old.Client {
		if _, err := s.sitePlatform(ctx, c.Site.Platform, client, true, "platform"); err != nil {
			return nil, nil, err
		}
	}
	if err := s.checkClient(ctx, client); err != nil {
		return nil, nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if c.Site.CertificateName() != old.Site.CertificateName() || client != old.Client {
		if err := s.checkSSLKey(ctx, c.Site, client); err != nil {
			return nil, nil, err
		}
	}
	r := *old
	r.Site, r.Client = *c.Site, client
	if err := s.Store.UpdateSite(ctx, &r); err != nil {
		return nil, nil, err
	}
	if old.Status != aegir.SiteEnabled {
		return &r, nil, nil
	}
	t := &aegir.Task{Type: aegir.TaskVerify, ObjectType: aegir.SiteContext, Object: name, Platform: aegir.ContextName(r.Site.Platform), Creator: creator}
	t, err = s.queueVerify(ctx, t, func(ctx context.Context) error { return s.Store.UpdateSite(ctx, old) })
	if err != nil {
		return nil, nil, err
	}
	return &r, t, nil
}

// DeleteSite queues the delete of a site (a backup comes first); by
// default the site must be disabled before (ECONFLICT).
func (s *Service) DeleteSite(ctx context.Context, name, creator string) (*aegir.Task, error) {
	return s.CreateTask(ctx, TaskRequest{ObjectType: aegir.SiteContext, Object: name, Type: aegir.TaskDelete}, creator)
}

// --- clients ---

// CreateClient adds a client.
func (s *Service) CreateClient(ctx context.Context, in ClientInput) (*aegir.Client, error) {
	c := &aegir.Client{Name: in.Name}
	if in.Title != nil {
		c.Title = *in.Title
	}
	if in.Email != nil {
		c.Email = *in.Email
	}
	in.setQuotas(c)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := s.Store.CreateClient(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// GetClient returns a client, or ENOTFOUND.
func (s *Service) GetClient(ctx context.Context, name string) (*aegir.Client, error) {
	return s.Store.GetClient(ctx, name)
}

// ListClients returns one page of clients and the total.
func (s *Service) ListClients(ctx context.Context, f aegir.ListFilter) ([]*aegir.Client, int, error) {
	return s.Store.ListClients(ctx, f)
}

// UpdateClient changes a client's title and email.
func (s *Service) UpdateClient(ctx context.Context, name string, in ClientInput) (*aegir.Client, error) {
	c, err := s.Store.GetClient(ctx, name)
	if err != nil {
		return nil, err
	}
	if in.Name != "" && in.Name != name {
		return nil, aegir.FieldErrorf("name", "cannot be changed")
	}
	if in.Title != nil {
		c.Title = *in.Title
	}
	if in.Email != nil {
		c.Email = *in.Email
	}
	in.setQuotas(c)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := s.Store.UpdateClient(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteClient removes a client that owns no site (ECONFLICT otherwise).
func (s *Service) DeleteClient(ctx context.Context, name string) error {
	return s.Store.DeleteClient(ctx, name)
}

// sameName refuses a rename: given is the name in a change, if any.
func sameName(given, name string) error {
	if given != "" && aegir.ContextName(given) != name {
		return aegir.FieldErrorf("name", "cannot be changed")
	}
	return nil
}

// --- what the API and UI show ---

// Masked is what a secret is shown as.
const Masked = "********"

// MaskMasterDB returns a master_db URL with its password masked, as shown
// to users; a value that does not parse is masked whole.
func MaskMasterDB(raw string) string {
	if raw == "" {
		return ""
	}
	db, err := aegir.ParseMasterDB(raw)
	if err != nil {
		return Masked
	}
	return db.String()
}

// PublicProps returns the properties of a context keyed by their names,
// every property present, with secrets masked: secret properties
// (db_passwd) show as Masked when set, master_db with its password masked.
func PublicProps(c *aegir.Context) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c.Props()).Elem()
	for i, p := range aegir.Properties(c.Type) {
		f := v.Field(i)
		switch {
		case p.Secret && !f.IsZero():
			out[p.Name] = Masked
		case p.Name == "master_db":
			out[p.Name] = MaskMasterDB(f.String())
		case f.Kind() == reflect.Slice && f.IsNil():
			out[p.Name] = []string{}
		default:
			out[p.Name] = f.Interface()
		}
	}
	return out
}

func (in ClientInput) setQuotas(c *aegir.Client) {
	if in.QuotaSites != nil {
		c.QuotaSites = *in.QuotaSites
	}
	if in.QuotaDisk != nil {
		c.QuotaDisk = *in.QuotaDisk
	}
}

// ClientUsage is what a client's sites use, against its quotas.
type ClientUsage struct {
	Sites int   // sites that are not deleted
	Disk  int64 // bytes of their files and databases, as last measured
}

// Usage returns what a client's sites use: one count and one sum, each an
// index-only pass over the client's sites.
func (s *Service) Usage(ctx context.Context, client string) (ClientUsage, error) {
	scope := aegir.Scope{Limited: true, Clients: []string{client}}
	counts, err := s.Store.SiteCounts(ctx, scope)
	if err != nil {
		return ClientUsage{}, err
	}
	disk, err := s.Store.DiskUsage(ctx, scope)
	if err != nil {
		return ClientUsage{}, err
	}
	u := ClientUsage{Sites: counts.Live}
	for _, d := range disk {
		u.Disk += d.Files + d.DB
	}
	return u, nil
}

// CheckQuota refuses a new site of client when the client has as many
// sites as its quota_sites, or its sites use its quota_disk or more (the
// sizes the statistics last measured): an ECONFLICT naming the quota. A
// site without a client, or a client without quotas, passes. Two sites
// created at the same instant may both pass the last free place: the
// quota is a limit on what a client asks for, not an invariant of the
// store.
func (s *Service) CheckQuota(ctx context.Context, client string) error {
	if client == "" {
		return nil
	}
	c, err := s.Store.GetClient(ctx, client)
	if err != nil || (c.QuotaSites == 0 && c.QuotaDisk == 0) {
		return err
	}
	u, err := s.Usage(ctx, client)
	if err != nil {
		return err
	}
	if c.QuotaSites > 0 && u.Sites >= c.QuotaSites {
		return &aegir.Error{Code: aegir.ECONFLICT, Field: "client",
			Message: fmt.Sprintf("client %s has reached its quota_sites: %d of %d sites", client, u.Sites, c.QuotaSites)}
	}
	if c.QuotaDisk > 0 && u.Disk >= c.QuotaDisk {
		return &aegir.Error{Code: aegir.ECONFLICT, Field: "client",
			Message: fmt.Sprintf("client %s has reached its quota_disk: its sites use %d of %d bytes", client, u.Disk, c.QuotaDisk)}
	}
	return nil
}
