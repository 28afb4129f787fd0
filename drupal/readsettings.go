package drupal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

// cloaked matches the reads of aegir's cloaked credentials: $_SERVER['db_…']
// (also the "$_SERVER[db_…]" of an interpolated string) or getenv('db_…').
var cloaked = regexp.MustCompile(`\$_SERVER\s*\[\s*['"]?db_(type|name|user|passwd|host|port)|getenv\(\s*['"]db_(type|name|user|passwd|host|port)`)

// localSettings are the files a settings.php commonly includes last, whose
// assignments the reader follows when settings.php names them.
var localSettings = []string{"local.settings.php", "settings.local.php"}

// ReadSettings reads an existing site's sites/<uri>/settings.php without
// running it, for an import. The database comes from a literal
// $databases['default']['default'] (database, username, password, host,
// port, driver, prefix), or from a Drupal 6 style $db_url; a local settings
// file the settings include (local.settings.php, settings.local.php) is
// read after them. Settings that read aegir's cloaked db_* parameters hold
// no credentials: that is an EINVALID error saying they come from the
// site's context, as is any other value PHP would have to compute.
//
// The profile is a literal $conf['install_profile'] (Drupal 7) or
// $settings['install_profile'] (Drupal 8+), else what the site's database
// says (Drupal 7's install_profile variable, Drupal 8+'s core.extension),
// read through an embedded PHP helper with the credentials just found in
// its environment; the language is the database's default language (Drupal
// 7's language_default variable, Drupal 8+'s system.site). Whatever the
// database cannot tell (unreachable, or no such entry) is "standard" and
// "en", with a warning when it was unreachable.
func (d *Drupal) ReadSettings(ctx context.Context, s *aegir.AppSite) (*aegir.SiteSettings, error) {
	if err := checkSite(s); err != nil {
		return nil, err
	}
	_, major, ok := detect(s.Root)
	if !ok {
		return nil, errNoDrupal(s.Root)
	}
	path := filepath.Join(siteDir(s), d.SettingsFile())
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, aegir.Errorf(aegir.EINVALID, "%s has no settings to read: %s does not exist", s.URI, path)
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	names := []string{"databases", "db_url", "db_prefix", "conf", "settings"}
	vars := phpfile.Assignments(nil, src, names...)
	all := append([]byte(nil), src...)
	for _, local := range localSettings {
		if !mentions(src, local) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(siteDir(s), local))
		if err != nil {
			continue
		}
		vars = phpfile.Assignments(vars, b, names...)
		all = append(all, b...)
	}
	db, prefix, err := settingsDB(vars, all, path)
	if err != nil {
		return nil, err
	}
	out := &aegir.SiteSettings{DB: *db}
	profileVar := phpfile.Lookup(vars["conf"], "install_profile")
	if major >= 8 {
		profileVar = phpfile.Lookup(vars["settings"], "install_profile")
	}
	if p, ok := profileVar.(string); ok && p != "" {
		out.Profile = p
	}
	info, err := d.siteInfo(ctx, s, major, db, prefix)
	if err != nil {
		d.warnf("could not read the profile and language of %s from its database: %v", s.URI, err)
	}
	if out.Profile == "" {
		out.Profile = orDefault(info.Profile, "standard")
	}
	out.Language = orDefault(info.Language, "en")
	return out, nil
}

// settingsDB returns the database credentials and table prefix the
// settings assign, read from vars; src is the settings' code, for the
// error that says why there are none.
func settingsDB(vars map[string]any, src []byte, path string) (*aegir.DBCredentials, string, error) {
	notLiteral := func(what string) error {
		if cloaked.Match(src) {
			return aegir.Errorf(aegir.EINVALID,
				"the database credentials in %s are cloaked: the file reads them from the web server's db_* parameters, so they come from the site's context, not from the file", path)
		}
		return aegir.Errorf(aegir.EINVALID, "%s computes %s instead of writing it as a literal value: aegir reads settings without running them", path, what)
	}
	databases := vars["databases"]
	if _, ok := databases.(phpfile.Computed); ok {
		return nil, "", notLiteral("$databases")
	}
	conn := phpfile.Lookup(databases, "default", "default")
	switch conn := conn.(type) {
	case phpfile.Computed:
		return nil, "", notLiteral("$databases['default']['default']")
	case *phpfile.Array:
		db := &aegir.DBCredentials{}
		fields := []struct {
			key string
			dst *string
		}{
			{"driver", &db.Type}, {"database", &db.Name}, {"username", &db.User},
			{"password", &db.Password}, {"host", &db.Host},
		}
		for _, f := range fields {
			v, err := scalar(conn.Get(f.key))
			if err != nil {
				return nil, "", notLiteral(fmt.Sprintf("the database %s", f.key))
			}
			*f.dst = v
		}
		port, err := scalar(conn.Get("port"))
		if err != nil {
			return nil, "", notLiteral("the database port")
		}
		prefix := ""
		switch p := conn.Get("prefix").(type) {
		case string:
			prefix = p
		case *phpfile.Array:
			prefix, _ = p.Get("default").(string)
		}
		if err := finishDB(db, port, path); err != nil {
			return nil, "", err
		}
		return db, prefix, nil
	}
	// Drupal 6: $db_url = 'mysqli://user:pass@host:port/name', or an array
	// of them keyed by connection.
	dbURL := vars["db_url"]
	if a, ok := dbURL.(*phpfile.Array); ok {
		dbURL = a.Get("default")
	}
	switch u := dbURL.(type) {
	case phpfile.Computed:
		return nil, "", notLiteral("$db_url")
	case string:
		db, port, err := parseDBURL(u, path)
		if err != nil {
			return nil, "", err
		}
		if err := finishDB(db, port, path); err != nil {
			return nil, "", err
		}
		prefix, _ := vars["db_prefix"].(string)
		return db, prefix, nil
	}
	if cloaked.Match(src) {
		return nil, "", notLiteral("the database settings")
	}
	return nil, "", aegir.Errorf(aegir.EINVALID, "%s has no database settings: no $databases['default']['default'] nor $db_url", path)
}

// scalar returns a literal setting as a string: "" when it is missing, an
// error when it is computed or not a scalar.
func scalar(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		if v {
			return "1", nil
		}
		return "", nil
	}
	return "", errors.New("not a literal scalar")
}

// parseDBURL reads a Drupal 6 database URL.
func parseDBURL(raw, path string) (*aegir.DBCredentials, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, "", aegir.Errorf(aegir.EINVALID, "%s: $db_url is not a database URL (driver://user:password@host/database)", path)
	}
	db := &aegir.DBCredentials{Type: u.Scheme, Host: u.Hostname(), Name: strings.TrimPrefix(u.Path, "/")}
	if u.User != nil {
		db.User = u.User.Username()
		db.Password, _ = u.User.Password()
	}
	return db, u.Port(), nil
}

// finishDB checks the credentials read from path and fills in what Drupal
// would default: the mysql driver (mysqli of Drupal 6 is mysql), host
// localhost and the driver's port.
func finishDB(db *aegir.DBCredentials, port, path string) error {
	switch db.Type {
	case "", "mysql", "mysqli":
		db.Type = "mysql"
	case "sqlite":
		return aegir.Errorf(aegir.EINVALID, "%s uses an SQLite database: aegir hosts sites on database servers (mysql, pgsql)", path)
	}
	if db.Name == "" || db.User == "" {
		return aegir.Errorf(aegir.EINVALID, "%s names no database or no database user", path)
	}
	if db.Host == "" {
		db.Host = "localhost"
	}
	if port == "" || port == "0" {
		db.Port = 3306
		if db.Type == "pgsql" {
			db.Port = 5432
		}
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n > 65535 {
		return aegir.Errorf(aegir.EINVALID, "%s: database port %q is not a port number", path, port)
	}
	db.Port = n
	return nil
}

// siteInfo is what a site's database says of its profile and language.
type siteInfo struct {
	Profile  string `json:"profile"`
	Language string `json:"language"`
}

// siteInfo reads the site's profile and language from its database through
// the siteinfo.php helper, with db's credentials in its environment.
func (d *Drupal) siteInfo(ctx context.Context, s *aegir.AppSite, major int, db *aegir.DBCredentials, prefix string) (siteInfo, error) {
	var info siteInfo
	job := map[string]any{"major": major, "prefix": prefix}
	err := d.runHelperEnv(ctx, s.Root, db.Env(), "siteinfo.php", job, &info)
	return info, err
}

// mentions reports whether src holds any of the strings.
func mentions(src []byte, strs ...string) bool {
	for _, s := range strs {
		if bytes.Contains(src, []byte(s)) {
			return true
		}
	}
	return false
}

var _ aegir.App = (*Drupal)(nil)
