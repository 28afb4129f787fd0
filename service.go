package aegir

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Env is what every driver is given: where $AEGIR_HOME is, how to run
// commands, and the task log.
type Env struct {
	Paths  Paths
	Runner Runner
	Log    *TaskLog
	// Wait is the task's WaitHook (TaskOptions.Wait): a driver tells it
	// when it waits for work others do (a shared reload).
	Wait WaitHook
	// Push, set when the server is remote, copies a local directory to the
	// same path on it (Transport.Push): the http drivers push the config
	// they render here before the server's own test runs there.
	Push func(ctx context.Context, dir string) error
	// ClusterMembers, set for a cluster (ServiceCluster), returns its
	// members' services: the cluster driver reaches them through the
	// domain, never by importing their drivers.
	ClusterMembers func(ctx context.Context) ([]ClusterMember, error)
}

// ClusterMember is one web server of a cluster: its name, its http
// service, and the runner of commands there.
type ClusterMember struct {
	Name   string
	HTTP   HTTPService
	Runner Runner
}

// Remote reports whether the environment's server is reached over the
// network (its Runner runs commands there and Push copies files there).
func (e Env) Remote() bool { return e.Push != nil }

// Vhost is everything a web server needs to serve one site.
type Vhost struct {
	URI         string
	Aliases     []string
	Redirection string // when set, every other name redirects here
	Root        string // platform root
	Platform    string // platform context name, names its vhost snippet
	App         string // app driver name, selects the include snippet
	SiteDir     string // absolute path of sites/<uri>
	Params      []Param
	Disabled    bool
	DisabledURL string // where a disabled site redirects; empty serves a page
	// SSL is the site's ssl_enabled: SSLOff, SSLOn (HTTP and HTTPS on the
	// server's https_port) or SSLRequired (plain HTTP redirects to https,
	// but for ACME challenges). CertFile (PEM, the certificate then its
	// chain) and KeyFile are the certificate's when SSL is on.
	SSL      int
	CertFile string
	KeyFile  string
	// CertSerial is the certificate's serial number (hex). The vhost names
	// it, so a new certificate in the same files changes the vhost and the
	// server reloads to serve it: an unchanged vhost is not reloaded.
	CertSerial string
	HSTS       bool // send Strict-Transport-Security over HTTPS
	// PHPSocket, when set, is the socket of the site's own php-fpm pool
	// (PHPPool), which its PHP goes to instead of the server's shared one.
	PHPSocket string
	// ProxyTo, when set, is the host:port every request of the vhost is
	// proxied to, instead of serving Root: the front end's own vhost
	// (aegir setup --frontend_uri), in front of aegir serve.
	ProxyTo string
}

// Param is a FastCGI parameter (or SetEnv variable) passed to PHP.
type Param struct{ Name, Value string }

// HTTPService writes web server configuration and reloads the server.
type HTTPService interface {
	// VerifyServer writes the server file and the app include snippets,
	// links the server file into the web server, tests and reloads.
	VerifyServer(ctx context.Context) error
	// WritePlatform writes the platform's file, if the server needs one.
	WritePlatform(ctx context.Context, name, root, app string) (Undo, error)
	// WriteSite writes the site's vhost, tests the whole configuration and
	// reloads. When the test fails the previous vhost is put back, nothing
	// is reloaded and an error is returned.
	WriteSite(ctx context.Context, v *Vhost) (Undo, error)
	// DeleteSite removes the site's vhost and reloads.
	DeleteSite(ctx context.Context, uri string) (Undo, error)
}

// DBCredentials is how a site reaches its database.
type DBCredentials struct {
	Type     string `json:"db_type"`
	Host     string `json:"db_host"`
	Port     int    `json:"db_port"`
	Name     string `json:"db_name"`
	User     string `json:"db_user"`
	Password string `json:"-"`
}

// Params returns the credentials as the cloaked parameters the web server
// passes to PHP, with dummy values when there is no database so one
// unfinished site never breaks the configuration of the others.
func (c *DBCredentials) Params() []Param {
	if c == nil || c.Name == "" {
		return []Param{{"db_type", "none"}, {"db_name", "none"}, {"db_user", "none"}, {"db_passwd", "none"}, {"db_host", "none"}, {"db_port", "0"}}
	}
	return []Param{
		{"db_type", c.Type}, {"db_name", c.Name}, {"db_user", c.User},
		{"db_passwd", c.Password}, {"db_host", c.Host}, {"db_port", fmt.Sprint(c.Port)},
	}
}

// Env returns the credentials as KEY=value pairs for a PHP command line.
func (c *DBCredentials) Env() []string {
	var env []string
	for _, p := range c.Params() {
		env = append(env, p.Name+"="+p.Value)
	}
	return env
}

// DBService manages databases and their users on a db server.
type DBService interface {
	// Verify checks the server can be administered: connect, create and
	// drop a test database, grant to and revoke from a test user.
	Verify(ctx context.Context) error
	// DatabaseExists reports whether a database of that name exists.
	DatabaseExists(ctx context.Context, name string) (bool, error)
	// DatabaseSize returns the bytes the database takes on the server, its
	// data and indexes as the server reports them; a database that does
	// not exist is an ENOTFOUND error.
	DatabaseSize(ctx context.Context, name string) (int64, error)
	// UserExists reports whether a user of that name exists on any host.
	UserExists(ctx context.Context, user string) (bool, error)
	// CreateDatabase creates a database, its user with password and the
	// grants of that user on it from each of hosts.
	CreateDatabase(ctx context.Context, name, user, password string, hosts []string) error
	// DropDatabase drops the database and its user from every host.
	DropDatabase(ctx context.Context, name, user string) error
	// Dump writes an SQL dump of the database to w, streamed (never the
	// whole dump in memory), in one consistent transaction.
	Dump(ctx context.Context, name string, w io.Writer) error
	// Import runs the SQL read from r in the database, streamed.
	Import(ctx context.Context, name string, r io.Reader) error
	// Address is the host and port sites use to reach the server.
	Address() (host string, port int)
	// Close releases the connection to the server.
	Close() error
}

// TableMover is a DBService that can move a database's tables into another
// database of the same server without copying a row: a migrate that stays
// on its db server moves the site's tables where a dump and import would
// rewrite every one. A service that cannot does not implement it, and the
// migrate copies.
type TableMover interface {
	// MoveTables moves every table of database from into database to in
	// one atomic statement, creating to when it does not exist (with
	// from's character set), and then drops the emptied from, so that a
	// site still pointed at it finds no database rather than an empty one
	// its app might offer to install into; from's grants outlive it, so a
	// move back serves the site again. It returns false, having changed
	// nothing, when from holds what cannot move by renaming (views,
	// triggers, routines, events). A to that already holds tables is an
	// ECONFLICT error and a from that does not exist an ENOTFOUND one.
	MoveTables(ctx context.Context, from, to string) (moved bool, err error)
}

// IdleWaiter is a DBService that can wait until the server runs no
// statement of another connection in, or naming, some databases. A client
// killed mid-task leaves what it had sent running on the server for a while
// (a RENAME TABLE, a DROP DATABASE, an import); the recovery of its task
// must not race it.
type IdleWaiter interface {
	// WaitIdle returns once no other connection runs a statement in or
	// naming any of names, or an error saying what still runs when that
	// has not happened within a minute or before ctx ends.
	WaitIdle(ctx context.Context, names ...string) error
}

// ChangeTimer is a DBService that can tell when a database's data last
// changed: a restore skips its safety backup when a backup of the site
// was taken after that (and after its files last changed).
type ChangeTimer interface {
	// LastChange returns a time no earlier than the last creation or
	// write of any table of database name, to the second: an upper bound
	// when the server keeps no exact time (a table not written since the
	// server started counts as written when it started).
	LastChange(ctx context.Context, name string) (time.Time, error)
}

// Package is a module, theme, plugin, profile, extension or skin of a
// codebase, or the core itself.
type Package struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
	Schema  int    `json:"schema_version,omitempty"`
	Path    string `json:"path,omitempty"`
}

// SiteSettings is what an app reads from an existing site's settings, so
// the site can be imported.
type SiteSettings struct {
	DB       DBCredentials
	Profile  string
	Language string
}

// AppSite is what an app driver knows of the site it works on.
type AppSite struct {
	URI      string
	Aliases  []string
	URL      string // http://uri[:port]
	Root     string // platform root
	SiteDir  string // absolute path of sites/<uri>
	Profile  string
	Language string
	Email    string
	DB       *DBCredentials
	WebGroup string
	// PrivateDir is the site's own directory outside every platform's root
	// ($AEGIR_HOME/private/<uri>) for private files, the config sync
	// directory and temporary files, so they follow the site, not its
	// platform; "" keeps them under SiteDir/private, as before.
	PrivateDir string
	// Custom are the custom properties of the site, its platform and its
	// server merged (MergeCustom), which the settings set as
	// $aegir_custom.
	Custom Custom
	// SettingsIncludes are the shared settings files of the user's own
	// (absolute paths: the server's, then the platform's) the settings
	// include when readable, before the site's local.settings.php.
	SettingsIncludes []string
}

// Admin is the first account of a fresh site.
type Admin struct {
	Name     string
	Password string
	Email    string
}

// App drives one kind of codebase (Drupal, WordPress, MediaWiki...).
type App interface {
	// Detect reports whether root holds this app, and its version.
	Detect(root string) (version string, ok bool)
	// Packages lists the codebase's packages, core first.
	Packages(ctx context.Context, root string) ([]Package, error)
	// VerifyPlatform writes the platform-level files the app needs to serve
	// several sites from one codebase.
	VerifyPlatform(ctx context.Context, root string) error
	// SettingsFile is the path of the site's settings, relative to SiteDir.
	SettingsFile() string
	// WriteSettings writes the site's settings file.
	WriteSettings(ctx context.Context, s *AppSite) error
	// Install runs the app's installer for the site, non-interactively.
	Install(ctx context.Context, s *AppSite, admin Admin) error
	// LoginLink returns a one-time login link for the site's admin.
	LoginLink(ctx context.Context, s *AppSite) (string, error)
	// Params returns extra parameters the web server passes to PHP.
	Params(s *AppSite) []Param
	// WritableDirs lists the directories under SiteDir the web server
	// writes to (uploads), created 02770 with the web group.
	WritableDirs() []string
	// SitePackages lists the packages the installed site uses (enabled
	// modules, active plugins and theme, loaded extensions), core first,
	// with the schema version the site's database is at where the app has
	// one. Migrate compares them with the target platform's.
	SitePackages(ctx context.Context, s *AppSite) ([]Package, error)
	// UpdateDatabase runs the app's database updates, as after a deploy
	// onto another (usually newer) codebase.
	UpdateDatabase(ctx context.Context, s *AppSite) error
	// RewriteURI replaces the site's old name and address with its new ones
	// in its database and settings, after a clone or rename.
	RewriteURI(ctx context.Context, s *AppSite, oldURI, oldURL string) error
	// Cron runs the app's periodic jobs once.
	Cron(ctx context.Context, s *AppSite) error
	// FlushCache clears the site's caches (an app with none does nothing).
	FlushCache(ctx context.Context, s *AppSite) error
	// ReadSettings reads an existing site's settings file, for import.
	ReadSettings(ctx context.Context, s *AppSite) (*SiteSettings, error)
	// DeleteSite removes what the app keeps about the site outside its
	// directory (Drupal's sites.php entries); the directory itself is the
	// caller's.
	DeleteSite(ctx context.Context, s *AppSite) error
}

// PrivateDirApp is an App whose sites keep the "private" part of their
// WritableDirs (private files, temporary files, the config sync directory)
// in a directory of their own outside every platform's root
// (AppSite.PrivateDir), so no web server rule has to keep it from the web.
// Backups still hold it as private/ inside the site directory.
type PrivateDirApp interface {
	// PrivateOutsideRoot reports that the app does.
	PrivateOutsideRoot() bool
}

// WebInstaller is an App whose code offers its installer over the web when
// its database is empty (WordPress, Drupal, MediaWiki): a site of it whose
// database is empty must not be served, or anyone could install over it. A
// generic PHP app, whose database may rightly be empty, does not implement
// it.
type WebInstaller interface {
	// InstallsOverTheWeb reports that the app does.
	InstallsOverTheWeb() bool
}

// DatabaseFree is an App whose sites need no database (plain files): on a
// db server without a database service (db_service_type null) its sites
// are installed without one, and back up and move without a dump. Apps
// that do not implement it need a database.
type DatabaseFree interface {
	// NeedsNoDatabase reports that the app's sites need none.
	NeedsNoDatabase() bool
}

// UpdateChecker is an App that can tell, from the packages a site uses (as
// SitePackages lists them) and those of the codebase it runs on (as
// Packages lists them), that UpdateDatabase would change nothing, so a
// deploy can leave out the run. An app that cannot tell does not implement
// it, and its UpdateDatabase always runs.
type UpdateChecker interface {
	// UpdatePending reports whether UpdateDatabase may have anything to
	// do; it must answer true whenever it is not sure.
	UpdatePending(used, available []Package) bool
}

// AddressReader is an App whose site's data holds the site's own address,
// which its pages link to and redirect to (WordPress's home option): when
// the site's URL changes scheme or port (SSL turned on or off, another
// port), a verify reads that address and moves the data to the new URL
// with RewriteURI. An app that takes its address from the settings file
// aegir writes (MediaWiki's $wgServer) or from each request (Drupal) has
// nothing to move and does not implement it.
type AddressReader interface {
	// SiteAddress returns the address the site's data holds, as
	// scheme://host[:port][/path] without a trailing slash, or "" when it
	// holds none.
	SiteAddress(ctx context.Context, s *AppSite) (string, error)
}

// Drivers are looked up by name; each adapter package registers its own
// from init, and a duplicate name is a programming error.
type (
	// HTTPFactory builds the http service of a server.
	HTTPFactory func(server *Server, serverName string, env Env) (HTTPService, error)
	// DBFactory builds the db service of a server.
	DBFactory func(server *Server, env Env) (DBService, error)
	// AppFactory builds an app driver.
	AppFactory func(env Env) App
)

type registry[T any] struct {
	mu    sync.RWMutex
	items map[string]T
	order map[string]int
}

func (r *registry[T]) register(kind, name string, order int, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.items == nil {
		r.items, r.order = map[string]T{}, map[string]int{}
	}
	if _, dup := r.items[name]; dup {
		panic(fmt.Sprintf("aegir: %s driver %q registered twice", kind, name))
	}
	r.items[name], r.order[name] = v, order
}

func (r *registry[T]) get(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.items[name]
	return v, ok
}

func (r *registry[T]) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.items))
	for n := range r.items {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if r.order[names[i]] != r.order[names[j]] {
			return r.order[names[i]] < r.order[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}

var (
	httpDrivers registry[HTTPFactory]
	dbDrivers   registry[DBFactory]
	appDrivers  registry[AppFactory]
)

// RegisterHTTP registers an http service type.
func RegisterHTTP(name string, f HTTPFactory) { httpDrivers.register("http", name, 0, f) }

// RegisterDB registers a db service type.
func RegisterDB(name string, f DBFactory) { dbDrivers.register("db", name, 0, f) }

// RegisterApp registers an app driver. Detection tries apps by ascending
// order, so specific apps go before the catch-all php and static ones.
func RegisterApp(name string, order int, f AppFactory) {
	appDrivers.register("app", name, order, f)
}

// NewHTTPService builds the http service of a server from its type.
func NewHTTPService(server *Server, serverName string, env Env) (HTTPService, error) {
	f, ok := httpDrivers.get(server.HTTPServiceType)
	if !ok {
		return nil, FieldErrorf("http_service_type", "no http driver %q (have %v)", server.HTTPServiceType, httpDrivers.names())
	}
	return f(server, serverName, env)
}

// NewDBService builds the db service of a server from its type.
func NewDBService(server *Server, env Env) (DBService, error) {
	f, ok := dbDrivers.get(server.DBServiceType)
	if !ok {
		return nil, FieldErrorf("db_service_type", "no db driver %q (have %v)", server.DBServiceType, dbDrivers.names())
	}
	return f(server, env)
}

// NewApp returns the app driver of that name.
func NewApp(name string, env Env) (App, error) {
	f, ok := appDrivers.get(name)
	if !ok {
		return nil, Errorf(ENOTFOUND, "no app driver %q (have %v)", name, appDrivers.names())
	}
	return f(env), nil
}

// DetectApp returns the name, driver and version of the first app that
// recognises the codebase at root.
func DetectApp(root string, env Env) (string, App, string, error) {
	for _, name := range appDrivers.names() {
		f, _ := appDrivers.get(name)
		app := f(env)
		if version, ok := app.Detect(root); ok {
			return name, app, version, nil
		}
	}
	return "", nil, "", FieldErrorf("root", "no app recognises the codebase at %s", root)
}
