package aegir

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ContextType is the kind of a named context.
type ContextType string

// The three context types, as Aegir names them.
const (
	ServerContext   ContextType = "server"
	PlatformContext ContextType = "platform"
	SiteContext     ContextType = "site"
)

// Service types of the http and db services.
const (
	ServiceNull  = "null"
	ServiceNginx = "nginx"
	// ServiceCluster is an http service of web servers (the server's
	// cluster_web_servers), each doing what one would.
	ServiceCluster = "cluster"
	ServiceApache  = "apache"
	ServiceMySQL   = "mysql"
)

// Site statuses, recorded by tasks.
const (
	SiteNotInstalled = ""
	SiteEnabled      = "enabled"
	SiteDisabled     = "disabled"
)

// SudoCommands are the commands of the server's sudo rule: each of its
// test and reload commands that runs through "sudo -n", without it.
func (s *Server) SudoCommands() []string {
	argvs := [][]string{s.HTTPTestCmd, s.HTTPRestartCmd}
	if s.PHPFPMPools {
		argvs = append(argvs, s.PHPFPMTestCmd, s.PHPFPMReloadCmd)
	}
	var cmds []string
	for _, argv := range argvs {
		if len(argv) > 2 && argv[0] == "sudo" && argv[1] == "-n" {
			cmds = append(cmds, strings.Join(argv[2:], " "))
		}
	}
	return cmds
}

// MasterServer is the name of the local server context.
const MasterServer = "server_master"

// How the master reaches a remote server by default, as Aegir does.
const (
	DefaultSSHPort = 22
	DefaultSSHUser = "aegir"
)

// IsLocal reports whether the server is this machine: no remote_host, or
// a loopback name. Everything else is reached over SSH.
func (s *Server) IsLocal() bool {
	return s.RemoteHost == "" || s.RemoteHost == "localhost" || s.RemoteHost == "127.0.0.1" || s.RemoteHost == "::1"
}

// Server is a machine carrying an http and a db service.
type Server struct {
	RemoteHost string `yaml:"remote_host,omitempty"`
	// SSHPort and SSHUser are how the master logs in to a remote server
	// (DefaultSSHPort, DefaultSSHUser when unset).
	SSHPort         int      `yaml:"ssh_port,omitempty"`
	SSHUser         string   `yaml:"ssh_user,omitempty"`
	HTTPServiceType string   `yaml:"http_service_type,omitempty"`
	HTTPPort        int      `yaml:"http_port,omitempty"`
	HTTPSPort       int      `yaml:"https_port,omitempty"`
	HTTPTestCmd     []string `yaml:"http_test_cmd,omitempty,flow"`
	HTTPRestartCmd  []string `yaml:"http_restart_cmd,omitempty,flow"`
	HTTPConfLink    string   `yaml:"http_conf_link,omitempty"`
	WebGroup        string   `yaml:"web_group,omitempty"`
	PHPFPMSocket    string   `yaml:"php_fpm_socket,omitempty"`
	// PHPFPMPools gives each site of the server its own php-fpm pool,
	// running as its own Unix user (see SiteUser and PHPPool); off, every
	// site's PHP runs in the pool at PHPFPMSocket. The pools live in
	// config/<server>/php-fpm/, which the system php-fpm includes, tested
	// with PHPFPMTestCmd and reloaded with PHPFPMReloadCmd.
	PHPFPMPools     bool     `yaml:"php_fpm_pools,omitempty"`
	PHPFPMTestCmd   []string `yaml:"php_fpm_test_cmd,omitempty,flow"`
	PHPFPMReloadCmd []string `yaml:"php_fpm_reload_cmd,omitempty,flow"`
	DBServiceType   string   `yaml:"db_service_type,omitempty"`
	MasterDB        string   `yaml:"master_db,omitempty"`
	DBGrantAllHosts bool     `yaml:"db_grant_all_hosts,omitempty"`
	Custom          Custom   `yaml:"custom,omitempty"`
	// ClusterWebServers are the members of a cluster (http_service_type
	// cluster): references to web servers, each serving every site.
	ClusterWebServers []string `yaml:"cluster_web_servers,omitempty,flow"`
}

// Platform is one codebase of an app served by a web server.
type Platform struct {
	Root      string `yaml:"root,omitempty"`
	WebServer string `yaml:"web_server,omitempty"`
	// The platform's source, from which verify builds the root when it
	// does not exist (see PlatformBuilder): at most one of Makefile (a
	// Drush make file's path or URL), GitURL (at GitRef) and Composer (a
	// project directory, or a git repository at GitRef).
	Makefile string `yaml:"makefile,omitempty"`
	GitURL   string `yaml:"git_url,omitempty"`
	GitRef   string `yaml:"git_ref,omitempty"`
	Composer string `yaml:"composer,omitempty"`
	// UpdateURL is where a makefile's drupal.org projects' release
	// history is read (default DefaultUpdateURL).
	UpdateURL string `yaml:"update_url,omitempty"`
	Custom    Custom `yaml:"custom,omitempty"`
}

// Site is a URI on a platform with its own database and files directory.
type Site struct {
	URI         string   `yaml:"uri,omitempty"`
	Platform    string   `yaml:"platform,omitempty"`
	DBServer    string   `yaml:"db_server,omitempty"`
	Profile     string   `yaml:"profile,omitempty"`
	Language    string   `yaml:"language,omitempty"`
	ClientEmail string   `yaml:"client_email,omitempty"`
	Aliases     []string `yaml:"aliases,omitempty,flow"`
	Redirection string   `yaml:"redirection,omitempty"`
	SSLEnabled  int      `yaml:"ssl_enabled,omitempty"`
	SSLKey      string   `yaml:"ssl_key,omitempty"`
	SSLProvider string   `yaml:"ssl_provider,omitempty"`
	HSTS        bool     `yaml:"hsts,omitempty"`
	Custom      Custom   `yaml:"custom,omitempty"`
	// Project and Environment place the site in a project (project.go):
	// the site of its environment. Protected refuses a sync into the site
	// without --force (a project's live environment has it).
	Project     string `yaml:"project,omitempty"`
	Environment string `yaml:"environment,omitempty"`
	Protected   bool   `yaml:"protected,omitempty"`

	// Set by tasks, not by users.
	Status     string `yaml:"status,omitempty" aegir:"internal"`
	DBName     string `yaml:"db_name,omitempty" aegir:"internal"`
	DBUser     string `yaml:"db_user,omitempty" aegir:"internal"`
	DBPassword string `yaml:"db_passwd,omitempty" aegir:"internal,secret"`
}

// Context is a named context: exactly one of Server, Platform and Site is
// set, according to Type.
type Context struct {
	Name     string
	Type     ContextType
	Server   *Server
	Platform *Platform
	Site     *Site
}

// NewContext returns an empty context of the given type.
func NewContext(name string, typ ContextType) (*Context, error) {
	c := &Context{Name: ContextName(name), Type: typ}
	switch typ {
	case ServerContext:
		c.Server = &Server{}
	case PlatformContext:
		c.Platform = &Platform{}
	case SiteContext:
		c.Site = &Site{URI: c.Name}
	default:
		return nil, FieldErrorf("context_type", "%q is not one of server, platform, site", typ)
	}
	return c, nil
}

// Clone returns a deep copy of c, which shares nothing with it.
func (c *Context) Clone() *Context {
	cp := *c
	switch {
	case c.Server != nil:
		v := *c.Server
		cp.Server = &v
	case c.Platform != nil:
		v := *c.Platform
		cp.Platform = &v
	case c.Site != nil:
		v := *c.Site
		cp.Site = &v
	}
	if f := cp.customField(); f != nil && *f != nil {
		*f = maps.Clone(*f)
	}
	// The properties are strings, numbers, booleans and lists of strings.
	props := reflect.ValueOf(cp.Props())
	if props.Kind() == reflect.Pointer && !props.IsNil() {
		props = props.Elem()
		for i := range props.NumField() {
			if f := props.Field(i); f.Kind() == reflect.Slice && !f.IsNil() {
				f.Set(reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()), f))
			}
		}
	}
	return &cp
}

// Props returns the struct that holds the context's properties.
func (c *Context) Props() any {
	switch c.Type {
	case ServerContext:
		return c.Server
	case PlatformContext:
		return c.Platform
	case SiteContext:
		return c.Site
	}
	return nil
}

// WithDefaults returns a copy of c with its unset properties filled with
// their defaults; c itself is unchanged.
func (c *Context) WithDefaults() *Context {
	d := *c
	switch c.Type {
	case ServerContext:
		s := *c.Server
		s.Defaults()
		d.Server = &s
	case PlatformContext:
		p := *c.Platform
		p.Defaults()
		d.Platform = &p
	case SiteContext:
		s := *c.Site
		s.Aliases = append([]string(nil), c.Site.Aliases...)
		s.Defaults()
		d.Site = &s
	}
	return &d
}

// ContextStore keeps named contexts.
type ContextStore interface {
	// Get returns the context with the given name, or an ENOTFOUND error.
	Get(ctx context.Context, name string) (*Context, error)
	// Put creates or replaces a context.
	Put(ctx context.Context, c *Context) error
	// Delete removes a context; deleting a missing one is an ENOTFOUND error.
	Delete(ctx context.Context, name string) error
	// List returns the contexts of one type, or all when typ is empty, by name.
	List(ctx context.Context, typ ContextType) ([]*Context, error)
}

// NginxRestartCmd returns the default restart command of nginx: a HUP
// signal to its master, found through its pid file (Debian's), as
// Debian's init script reloads it. nginx -s reload would parse the whole
// configuration first only to find that pid: seconds with thousands of
// vhosts, on every reload. The configuration is tested before (the test
// command), and the nginx driver reports a master that did not take it.
func NginxRestartCmd() []string {
	return []string{"start-stop-daemon", "--stop", "--signal", "HUP", "--pidfile", "/run/nginx.pid", "--exec", "/usr/sbin/nginx"}
}

// PHPFPMReloadCmd returns the default reload command of php-fpm: a USR2
// signal to its master, found through Debian's pid file; the master
// reloads its configuration, pools included, in place.
func PHPFPMReloadCmd() []string {
	return []string{"start-stop-daemon", "--stop", "--signal", "USR2", "--pidfile", "/run/php/php8.2-fpm.pid", "--exec", "/usr/sbin/php-fpm8.2"}
}

// Defaults fills unset server properties with their defaults.
func (s *Server) Defaults() {
	if s.HTTPServiceType == "" {
		s.HTTPServiceType = ServiceNginx
	}
	if s.HTTPPort == 0 {
		s.HTTPPort = 80
	}
	s.httpsDefaults()
	test, restart, link := []string{"nginx", "-t"}, NginxRestartCmd(), "/etc/nginx/conf.d/aegir.conf"
	if s.HTTPServiceType == ServiceApache {
		test, restart, link = []string{"apache2ctl", "configtest"}, []string{"apache2ctl", "graceful"}, "/etc/apache2/conf-enabled/aegir.conf"
	}
	if !s.IsLocal() {
		// A remote server is reached as the aegir user, which may run
		// only these as root (the sudo rule aegir bootstrap writes, or
		// Aegir's documented one on a server prepared by hand).
		test, restart = []string{"sudo", "-n", "nginx", "-t"}, []string{"sudo", "-n", "nginx", "-s", "reload"}
		if s.HTTPServiceType == ServiceApache {
			test, restart = []string{"sudo", "-n", "apache2ctl", "configtest"}, []string{"sudo", "-n", "apache2ctl", "graceful"}
		}
	}
	if len(s.HTTPTestCmd) == 0 {
		s.HTTPTestCmd = test
	}
	if len(s.HTTPRestartCmd) == 0 {
		s.HTTPRestartCmd = restart
	}
	if s.HTTPConfLink == "" {
		s.HTTPConfLink = link
	}
	if s.WebGroup == "" {
		s.WebGroup = "www-data"
	}
	if s.PHPFPMSocket == "" {
		s.PHPFPMSocket = "/run/php/php8.2-fpm.sock"
	}
	if len(s.PHPFPMTestCmd) == 0 {
		s.PHPFPMTestCmd = []string{"php-fpm8.2", "-t"}
	}
	if len(s.PHPFPMReloadCmd) == 0 {
		s.PHPFPMReloadCmd = PHPFPMReloadCmd()
	}
	if s.DBServiceType == "" {
		s.DBServiceType = ServiceNull
		if s.MasterDB != "" {
			s.DBServiceType = ServiceMySQL
		}
	}
	if s.RemoteHost == "" {
		s.RemoteHost = "localhost"
	}
}

// Defaults fills unset platform properties with their defaults.
func (p *Platform) Defaults() {
	if p.WebServer == "" {
		p.WebServer = "@" + MasterServer
	}
}

// Defaults fills unset site properties with their defaults.
func (s *Site) Defaults() {
	if s.DBServer == "" {
		s.DBServer = "@" + MasterServer
	}
	if s.Profile == "" {
		s.Profile = "standard"
	}
	if s.Language == "" {
		s.Language = "en"
	}
	s.sslDefaults()
}

// validateCluster checks cluster_web_servers: set exactly for a cluster,
// each a context name once. That each is a web server and not a cluster
// is checked against the store (CheckReferences, the cluster driver).
func (s *Server) validateCluster() error {
	if s.HTTPServiceType != ServiceCluster {
		if len(s.ClusterWebServers) > 0 {
			return FieldErrorf("cluster_web_servers", "is only for http_service_type cluster")
		}
		return nil
	}
	if len(s.ClusterWebServers) == 0 {
		return FieldErrorf("cluster_web_servers", "name the cluster's web servers (@server_web1,@server_web2)")
	}
	if !s.IsLocal() {
		return FieldErrorf("remote_host", "a cluster is not a machine: its members have the addresses")
	}
	seen := map[string]bool{}
	for _, ref := range s.ClusterWebServers {
		name := ContextName(ref)
		if err := ValidateName("cluster_web_servers", name); err != nil {
			return err
		}
		if seen[name] {
			return FieldErrorf("cluster_web_servers", "@%s is named twice", name)
		}
		seen[name] = true
	}
	if s.PHPFPMPools {
		return FieldErrorf("php_fpm_pools", "per-site php-fpm pools are not supported on a cluster")
	}
	return nil
}

// Validate reports the first invalid server property.
func (s *Server) Validate() error {
	if s.RemoteHost != "" {
		if err := ValidateHost("remote_host", s.RemoteHost); err != nil {
			return err
		}
	}
	if s.SSHPort < 0 || s.SSHPort > 65535 {
		return FieldErrorf("ssh_port", "%d is not a TCP port", s.SSHPort)
	}
	if s.SSHUser != "" {
		if err := ValidateUnixUser("ssh_user", s.SSHUser); err != nil {
			return err
		}
	}
	if !slices.Contains([]string{"", ServiceNginx, ServiceApache, ServiceNull, ServiceCluster}, s.HTTPServiceType) {
		return FieldErrorf("http_service_type", "%q is not one of nginx, apache, null, cluster", s.HTTPServiceType)
	}
	if err := s.validateCluster(); err != nil {
		return err
	}
	if s.HTTPPort < 0 || s.HTTPPort > 65535 {
		return FieldErrorf("http_port", "%d is not a TCP port", s.HTTPPort)
	}
	if err := s.validateHTTPS(); err != nil {
		return err
	}
	if !slices.Contains([]string{"", ServiceMySQL, ServiceNull}, s.DBServiceType) {
		return FieldErrorf("db_service_type", "%q is not one of mysql, null", s.DBServiceType)
	}
	if s.MasterDB != "" {
		if _, err := ParseMasterDB(s.MasterDB); err != nil {
			return err
		}
	}
	if s.DBServiceType == ServiceMySQL && s.MasterDB == "" {
		return FieldErrorf("master_db", "is required when db_service_type is mysql")
	}
	if s.WebGroup != "" {
		if err := ValidateName("web_group", s.WebGroup); err != nil {
			return err
		}
	}
	if err := ValidateCommand("http_test_cmd", s.HTTPTestCmd); err != nil {
		return err
	}
	if err := ValidateCommand("http_restart_cmd", s.HTTPRestartCmd); err != nil {
		return err
	}
	if err := ValidateCommand("php_fpm_test_cmd", s.PHPFPMTestCmd); err != nil {
		return err
	}
	if err := ValidateCommand("php_fpm_reload_cmd", s.PHPFPMReloadCmd); err != nil {
		return err
	}
	if s.PHPFPMPools && s.HTTPServiceType == ServiceNull {
		return FieldErrorf("php_fpm_pools", "needs an http service (nginx or apache) to serve the pools")
	}
	if s.PHPFPMPools && !s.IsLocal() {
		// The site users are made on this machine (SiteUsers).
		return FieldErrorf("php_fpm_pools", "per-site php-fpm pools are not supported on remote servers yet")
	}
	if err := s.Custom.Validate(); err != nil {
		return err
	}
	for field, path := range map[string]string{"http_conf_link": s.HTTPConfLink, "php_fpm_socket": s.PHPFPMSocket} {
		if path != "" && !isAbs(path) {
			return FieldErrorf(field, "%q must be a clean absolute path", path)
		}
	}
	return nil
}

// Validate reports the first invalid platform property.
func (p *Platform) Validate() error {
	if p.Root == "" {
		return FieldErrorf("root", "is required")
	}
	if !isAbs(p.Root) {
		return FieldErrorf("root", "%q must be an absolute path", p.Root)
	}
	if err := p.validateSource(); err != nil {
		return err
	}
	return p.Custom.Validate()
}

// Validate reports the first invalid site property.
func (s *Site) Validate() error {
	if err := ValidateURI("uri", s.URI); err != nil {
		return err
	}
	if s.Platform == "" {
		return FieldErrorf("platform", "is required")
	}
	for _, a := range s.Aliases {
		if err := ValidateURI("aliases", a); err != nil {
			return err
		}
		if a == s.URI {
			return FieldErrorf("aliases", "%q is the site's own uri", a)
		}
	}
	if s.Redirection != "" && s.Redirection != s.URI && !slices.Contains(s.Aliases, s.Redirection) {
		return FieldErrorf("redirection", "%q is neither the uri nor one of the aliases", s.Redirection)
	}
	if err := validateWord("profile", s.Profile); err != nil {
		return err
	}
	if err := validateWord("language", s.Language); err != nil {
		return err
	}
	if s.ClientEmail != "" && !emailPattern.MatchString(s.ClientEmail) {
		return FieldErrorf("client_email", "%q is not an email address", s.ClientEmail)
	}
	if err := s.validateSSL(); err != nil {
		return err
	}
	if (s.Project == "") != (s.Environment == "") {
		return FieldErrorf("environment", "a site in a project names both its project and its environment")
	}
	if s.Project != "" {
		if err := ValidateProjectName("project", s.Project); err != nil {
			return err
		}
		if err := ValidateEnvironmentName("environment", s.Environment); err != nil {
			return err
		}
	}
	return s.Custom.Validate()
}

// Validate reports the first invalid property of the context.
func (c *Context) Validate() error {
	if err := ValidateName("name", c.Name); err != nil {
		return err
	}
	switch c.Type {
	case ServerContext:
		return c.Server.Validate()
	case PlatformContext:
		return c.Platform.Validate()
	case SiteContext:
		if c.Site.URI != c.Name {
			return FieldErrorf("uri", "%q must equal the context name %q", c.Site.URI, c.Name)
		}
		return c.Site.Validate()
	}
	return FieldErrorf("context_type", "%q is not one of server, platform, site", c.Type)
}

// References lists the contexts this one names, each with the property
// naming it and the type it must have.
func (c *Context) References() []Reference {
	switch c.Type {
	case ServerContext:
		var refs []Reference
		for _, m := range c.Server.ClusterWebServers {
			refs = append(refs, Reference{"cluster_web_servers", m, ServerContext})
		}
		return refs
	case PlatformContext:
		return []Reference{{"web_server", c.Platform.WebServer, ServerContext}}
	case SiteContext:
		return []Reference{
			{"platform", c.Site.Platform, PlatformContext},
			{"db_server", c.Site.DBServer, ServerContext},
		}
	}
	return nil
}

// Reference is a property that names another context.
type Reference struct {
	Property string
	Name     string
	Type     ContextType
}

// CheckReferences verifies that every context c names exists in store with
// the right type.
func CheckReferences(ctx context.Context, store ContextStore, c *Context) error {
	for _, ref := range c.References() {
		if ref.Name == "" {
			continue
		}
		target, err := store.Get(ctx, ContextName(ref.Name))
		if ErrorCode(err) == ENOTFOUND {
			return FieldErrorf(ref.Property, "context %s does not exist", "@"+ContextName(ref.Name))
		} else if err != nil {
			return err
		}
		if target.Type != ref.Type {
			return FieldErrorf(ref.Property, "context %s is a %s, not a %s", "@"+target.Name, target.Type, ref.Type)
		}
	}
	return nil
}

// MasterDB is a parsed master_db URL: how aegir reaches a db server as its
// administrator.
type MasterDB struct {
	User     string
	Password string
	Host     string
	Port     int
}

// ParseMasterDB parses mysql://user:pass@host:port.
func ParseMasterDB(raw string) (*MasterDB, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mysql" || u.Host == "" || u.User == nil {
		return nil, FieldErrorf("master_db", "must look like mysql://user:password@host:port")
	}
	m := &MasterDB{User: u.User.Username(), Host: u.Hostname(), Port: 3306}
	m.Password, _ = u.User.Password()
	if p := u.Port(); p != "" {
		if m.Port, err = strconv.Atoi(p); err != nil || m.Port <= 0 || m.Port > 65535 {
			return nil, FieldErrorf("master_db", "port %q is not a TCP port", p)
		}
	}
	if m.User == "" {
		return nil, FieldErrorf("master_db", "must name a user")
	}
	return m, nil
}

// String returns the URL with the password masked.
func (m *MasterDB) String() string {
	return fmt.Sprintf("mysql://%s:***@%s:%d", m.User, m.Host, m.Port)
}
