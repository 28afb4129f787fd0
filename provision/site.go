package provision

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/aegir-hosting/aegir"
)

// siteEnv is everything a site task needs: the site, its platform, the
// platform's web server and the site's db server, with their drivers.
type siteEnv struct {
	ctx      *aegir.Context
	site     *aegir.Site
	platform *platformInfo
	webName  string
	web      *aegir.Server
	http     aegir.HTTPService
	// webs are the machines that serve the site: the web server, or the
	// members of a cluster.
	webs     []webServer
	dbServer *aegir.Server
	db       aegir.DBService
	// cert is the site's certificate, once the certificate step has
	// obtained it; nil when SSL is off.
	cert *aegir.Certificate
	// custom are the custom properties of the web server, the platform
	// and the site, merged; settingsIncludes the shared settings files of
	// the user's own (aegir.AppSite).
	custom           aegir.Custom
	settingsIncludes []string
	// lostDB: the site's database is gone or empty (noteLostDatabase), so
	// a backup of it holds its files only.
	lostDB bool
	// private is the site's private directory outside the platform's
	// root (steps_private.go); "" when its app keeps it in the site
	// directory.
	private string
	// privateAside is where a migrate under a new name set aside the
	// site's private directory (setAsidePrivate), removed at the end.
	privateAside string
}

func (t *run) loadSite(ctx context.Context, c *aegir.Context) (*siteEnv, error) {
	site := c.Site
	site.Defaults()
	if err := site.Validate(); err != nil {
		return nil, err
	}
	pc, err := t.typed(ctx, site.Platform, aegir.PlatformContext)
	if err != nil {
		return nil, aegir.FieldErrorf("platform", "%v", err)
	}
	pc.Platform.Defaults()
	s := &siteEnv{ctx: c, site: site}
	if s.platform, err = t.detect(pc); err != nil {
		return nil, fmt.Errorf("platform @%s: %w", pc.Name, err)
	}
	if s.web, s.http, err = t.httpService(ctx, pc.Platform.WebServer); err != nil {
		return nil, err
	}
	s.webName = aegir.ContextName(pc.Platform.WebServer)
	if s.webs, err = t.webServers(ctx, s.webName, s.web); err != nil {
		return nil, err
	}
	s.custom = aegir.MergeCustom(s.web.Custom, pc.Platform.Custom, site.Custom)
	s.settingsIncludes = []string{
		filepath.Join(t.env().Paths.Includes(), aegir.GlobalSettings),
		filepath.Join(s.platform.root, "sites", "all", aegir.PlatformSettings),
	}
	s.private = privateDirOf(t.b.Paths, s.platform.app, site.URI)
	if s.dbServer, s.db, err = t.dbService(ctx, site.DBServer); err != nil {
		return nil, aegir.FieldErrorf("db_server", "%v", err)
	}
	report(t, func(f *aegir.SiteFacts) {
		f.URI, f.App, f.Version, f.Platform, f.URL = site.URI, s.platform.appName, s.platform.version, "@"+pc.Name, s.url()
	})
	return s, nil
}

func (s *siteEnv) siteDir() string {
	return filepath.Join(s.platform.root, "sites", s.site.URI)
}

// url is the site's address, with the port when it is not the default:
// https when the site requires it.
func (s *siteEnv) url() string {
	host := s.site.URI
	if s.site.Redirection != "" {
		host = s.site.Redirection
	}
	if s.site.SSLEnabled == aegir.SSLRequired {
		if port := s.web.HTTPSPort; port != 0 && port != aegir.DefaultHTTPSPort {
			return fmt.Sprintf("https://%s:%d", host, port)
		}
		return "https://" + host
	}
	if s.web.HTTPPort != 80 {
		return fmt.Sprintf("http://%s:%d", host, s.web.HTTPPort)
	}
	return "http://" + host
}

// withoutDatabase reports that the site gets no database: its db server
// has no database service and its app needs none (aegir.DatabaseFree).
func (s *siteEnv) withoutDatabase() bool {
	free, ok := s.platform.app.(aegir.DatabaseFree)
	return ok && free.NeedsNoDatabase() && s.dbServer != nil && s.dbServer.DBServiceType == aegir.ServiceNull
}

// creds are the site's database credentials, from its context.
func (s *siteEnv) creds() *aegir.DBCredentials {
	if s.site.DBName == "" {
		return nil
	}
	host, port := s.db.Address()
	return &aegir.DBCredentials{
		Type: s.dbServer.DBServiceType, Host: host, Port: port,
		Name: s.site.DBName, User: s.site.DBUser, Password: s.site.DBPassword,
	}
}

func (s *siteEnv) appSite() *aegir.AppSite {
	return &aegir.AppSite{
		URI: s.site.URI, Aliases: s.site.Aliases, URL: s.url(),
		Root: s.platform.root, SiteDir: s.siteDir(),
		Profile: s.site.Profile, Language: s.site.Language, Email: s.adminEmail(),
		DB: s.creds(), WebGroup: s.group(), PrivateDir: s.private,
		Custom: s.custom, SettingsIncludes: s.settingsIncludes,
	}
}

func (s *siteEnv) adminEmail() string {
	if s.site.ClientEmail != "" {
		return s.site.ClientEmail
	}
	return "admin@" + s.site.URI
}

func (s *siteEnv) vhost() *aegir.Vhost {
	a := s.appSite()
	params := append(s.creds().Params(), s.platform.app.Params(a)...)
	params = append(params, s.custom.Params()...)
	v := &aegir.Vhost{
		URI: s.site.URI, Aliases: s.site.Aliases, Redirection: s.site.Redirection,
		Root: s.platform.root, Platform: s.platform.name, App: s.platform.appName, SiteDir: s.siteDir(),
		Params: params, Disabled: s.site.Status == aegir.SiteDisabled,
	}
	if user := s.phpUser(); user != "" {
		v.PHPSocket = s.web.PHPPoolSocket(user)
	}
	if s.site.SSLEnabled != aegir.SSLOff && s.cert != nil {
		v.SSL, v.CertFile, v.KeyFile, v.HSTS = s.site.SSLEnabled, s.cert.CertFile, s.cert.KeyFile, s.site.HSTS
		v.CertSerial = s.cert.Serial
	}
	return v
}

// grantHosts are the hosts the site's db user may connect from: the web
// server as the db server sees it (its remote_host, or the loopback
// addresses when both are one machine) and, for a remote db server, this
// master, whose app commands (install, dumps) connect to it too.
func (s *siteEnv) grantHosts(ctx context.Context) ([]string, error) {
	if s.dbServer.DBGrantAllHosts {
		return []string{"%"}, nil
	}
	local := []string{"localhost", "127.0.0.1"}
	var hosts []string
	if s.dbServer.IsLocal() {
		hosts = local
	} else {
		master, err := masterAddress(ctx, s.dbServer)
		if err != nil {
			return nil, err
		}
		hosts = []string{master}
	}
	// Each machine that serves the site: a cluster's every member.
	for _, w := range s.webs {
		switch {
		case w.server.IsLocal():
			// The master: local, or its address is there already.
		case w.server.RemoteHost == s.dbServer.RemoteHost:
			if !slices.Contains(hosts, local[0]) {
				hosts = append(hosts, local...)
			}
		case !slices.Contains(hosts, w.server.RemoteHost):
			hosts = append(hosts, w.server.RemoteHost)
		}
	}
	return hosts, nil
}

// masterAddress is this machine's address as the remote db server sees
// it: the local end of a connection to its master_db port (no NAT sits
// between a master and its fleet).
func masterAddress(ctx context.Context, db *aegir.Server) (string, error) {
	m, err := aegir.ParseMasterDB(db.MasterDB)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(m.Host, strconv.Itoa(m.Port)))
	if err != nil {
		return "", aegir.Errorf(aegir.EINTERNAL, "db server %s is unreachable: %v", m.String(), err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.TCPAddr).IP.String(), nil
}

// loadInstalledSite loads a site that must be installed.
func (t *run) loadInstalledSite(ctx context.Context, c *aegir.Context) (*siteEnv, error) {
	s, err := t.loadSite(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.site.Status == aegir.SiteNotInstalled {
		return nil, aegir.Errorf(aegir.EINVALID, "site @%s is not installed", c.Name)
	}
	report(t, func(f *aegir.SiteFacts) { f.DBName = s.site.DBName })
	return s, nil
}
