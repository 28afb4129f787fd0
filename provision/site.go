package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

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
	dbServer *aegir.Server
	db       aegir.DBService
	// cert is the site's certificate, once the certificate step has
	// obtained it; nil when SSL is off.
	cert *aegir.Certificate
	// lostDB: the site's database is gone or empty (noteLostDatabase), so
	// a backup of it holds its files only.
	lostDB bool
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
		DB: s.creds(), WebGroup: s.web.WebGroup,
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
	v := &aegir.Vhost{
		URI: s.site.URI, Aliases: s.site.Aliases, Redirection: s.site.Redirection,
		Root: s.platform.root, App: s.platform.appName, SiteDir: s.siteDir(),
		Params: params, Disabled: s.site.Status == aegir.SiteDisabled,
	}
	if s.site.SSLEnabled != aegir.SSLOff && s.cert != nil {
		v.SSL, v.CertFile, v.KeyFile, v.HSTS = s.site.SSLEnabled, s.cert.CertFile, s.cert.KeyFile, s.site.HSTS
		v.CertSerial = s.cert.Serial
	}
	return v
}

// grantHosts are the hosts the site's db user may connect from: the web
// server as the db server sees it, and always the local addresses.
func (s *siteEnv) grantHosts() []string {
	if s.dbServer.DBGrantAllHosts {
		return []string{"%"}
	}
	hosts := []string{"localhost", "127.0.0.1"}
	if s.web.RemoteHost != s.dbServer.RemoteHost && s.web.RemoteHost != "localhost" {
		hosts = append(hosts, s.web.RemoteHost)
	}
	return hosts
}

func (t *run) verifySite(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadSite(ctx, c)
	if err != nil {
		return err
	}
	if s.site.Status == aegir.SiteNotInstalled {
		return aegir.Errorf(aegir.EINVALID, "site @%s is not installed: run aegir install @%s", c.Name, c.Name)
	}
	report(t, func(f *aegir.SiteFacts) { f.DBName = s.site.DBName })
	steps := []aegir.Step{
		{Name: "recover", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.recoverMovedTables(ctx, s)
		}},
		{Name: "set aside strays", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.setAsideStrays(ctx, s)
		}},
		t.databaseStep(s),
		{Name: "site directory", Do: func(context.Context) (aegir.Undo, error) {
			return nil, t.siteDirectories(s)
		}},
		{Name: "settings", Do: func(ctx context.Context) (aegir.Undo, error) {
			return t.writeSettings(ctx, s)
		}},
		{Name: "permissions", Do: func(context.Context) (aegir.Undo, error) {
			return nil, t.permissions(s)
		}},
		t.certificateStep(s),
	}
	// The site's URL may have changed scheme or port since the data was
	// written (SSL turned on or off): the address step moves it.
	steps = append(steps, t.vhostSteps(s, aegir.Step{Name: "vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
		return s.http.WriteSite(ctx, s.vhost())
	}})...)
	steps = append(steps,
		t.releaseStep(s),
		aegir.Step{Name: "packages", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.packages(ctx, s)
		}},
	)
	return t.steps.Run(ctx, steps)
}

func (t *run) packages(ctx context.Context, s *siteEnv) error {
	pkgs, err := s.platform.app.Packages(ctx, s.platform.root)
	if err != nil {
		return err
	}
	report(t, func(f *aegir.PackagesFound) { f.Packages = pkgs })
	return nil
}

// writeSettings writes the site's settings; the undo puts back the previous
// file with its owner and mode, or removes the new one.
func (t *run) writeSettings(ctx context.Context, s *siteEnv) (aegir.Undo, error) {
	rel := s.platform.app.SettingsFile()
	if rel == "" {
		return nil, nil
	}
	path := filepath.Join(s.siteDir(), rel)
	restore, err := saveFile(path)
	if err != nil {
		return nil, err
	}
	if err := s.platform.app.WriteSettings(ctx, s.appSite()); err != nil {
		return nil, err
	}
	t.log.Infof("wrote %s", path)
	return restore, nil
}

// saveFile keeps a file's content, owner and mode so the returned undo can
// put it back exactly, or remove the file when there was none.
func saveFile(path string) (aegir.Undo, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return func(context.Context) error {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}, nil
	} else if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return func(context.Context) error {
		tmp := filepath.Join(filepath.Dir(path), ".aegir-restore-"+filepath.Base(path))
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if err := os.Lchown(tmp, int(st.Uid), int(st.Gid)); err != nil {
				os.Remove(tmp)
				return err
			}
		}
		if err := os.Chmod(tmp, info.Mode()); err != nil {
			os.Remove(tmp)
			return err
		}
		return os.Rename(tmp, path)
	}, nil
}

// siteDirectories creates the site directory and the app's writable ones.
func (t *run) siteDirectories(s *siteEnv) error {
	if err := os.MkdirAll(s.siteDir(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.siteDir(), err)
	}
	for _, d := range s.platform.app.WritableDirs() {
		if err := os.MkdirAll(filepath.Join(s.siteDir(), d), 0o770); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return nil
}

// permissions sets Aegir's modes: the site directory 0755, settings 0440
// and writable directories 02770, all in the web group so PHP (running as
// the web server's user) can read settings and write uploads.
func (t *run) permissions(s *siteEnv) error {
	gid, err := lookupGroup(s.web.WebGroup)
	if err != nil {
		return err
	}
	dir := s.siteDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if rel := s.platform.app.SettingsFile(); rel != "" {
		path := filepath.Join(dir, rel)
		if err := os.Lchown(path, -1, gid); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("settings group: %w", err)
		}
		if err := os.Chmod(path, 0o440); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("settings mode: %w", err)
		}
	}
	for _, d := range s.platform.app.WritableDirs() {
		if err := writableTree(filepath.Join(dir, d), gid, t.log.Warnf); err != nil {
			return err
		}
	}
	return nil
}

// writableTree gives the web group write access to a tree: directories
// 02770 and files group-writable, skipping symlinks. The web server owns
// what PHP created (uploads), which aegir may not chown: those are left as
// they are when already right, and otherwise reported through warn.
func writableTree(root string, gid int, warn func(format string, args ...any)) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := 0o770 | fs.ModeSetgid
		if !d.IsDir() {
			mode = info.Mode().Perm() | 0o660
		}
		st, _ := info.Sys().(*syscall.Stat_t)
		if st != nil && int(st.Gid) == gid && info.Mode()&(fs.ModePerm|fs.ModeSetgid) == mode {
			return nil
		}
		if err := os.Lchown(path, -1, gid); errors.Is(err, fs.ErrPermission) {
			warn("cannot give %s to the web group: %v", path, err)
			return nil
		} else if err != nil {
			return fmt.Errorf("chgrp %s: %w", path, err)
		}
		if err := os.Chmod(path, mode); errors.Is(err, fs.ErrPermission) {
			warn("cannot make %s writable by the web group: %v", path, err)
			return nil
		} else if err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
		return nil
	})
}

func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, aegir.FieldErrorf("web_group", "group %q: %v", name, err)
	}
	return strconv.Atoi(g.Gid)
}
