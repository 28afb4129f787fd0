package wordpress

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

// SitePackages lists what the installed site uses: the core, with the
// database schema number the site is at (its db_version option) as Schema
// and the platform's release as Version, then its active plugins and its
// active theme (and the parent theme of a child theme), with the versions
// of the platform's copies. An active plugin or theme the platform lacks is
// listed without a version. They are read from the site's options table
// without loading WordPress, so no plugin runs and the site's settings
// file need not be in place (a deploy checks a database it has just
// imported); the table prefix is that of the settings file when there is
// one, else wp_.
func (w *WordPress) SitePackages(ctx context.Context, s *aegir.AppSite) ([]aegir.Package, error) {
	platform, err := w.Packages(ctx, s.Root)
	if err != nil {
		return nil, err
	}
	prefix := w.tablePrefix(s)
	var active struct {
		DBVersion  int      `json:"db_version"`
		Plugins    []string `json:"plugins"`
		Stylesheet string   `json:"stylesheet"`
		Template   string   `json:"template"`
	}
	if err := w.runHelper(ctx, s, map[string]any{"action": "packages", "prefix": prefix}, &active); err != nil {
		return nil, fmt.Errorf("packages of wordpress site %s: %w", s.URI, err)
	}
	byName := map[string]aegir.Package{}
	for _, p := range platform[1:] {
		byName[p.Type+"/"+p.Name] = p
	}
	core := platform[0]
	core.Schema = active.DBVersion
	pkgs := []aegir.Package{core}
	seen := map[string]bool{}
	add := func(typ, name string) {
		if name == "" || seen[typ+"/"+name] {
			return
		}
		seen[typ+"/"+name] = true
		p, ok := byName[typ+"/"+name]
		if !ok {
			p = aegir.Package{Name: name, Type: typ}
		}
		pkgs = append(pkgs, p)
	}
	plugins := append([]string(nil), active.Plugins...)
	sort.Strings(plugins)
	for _, file := range plugins {
		add("plugin", pluginSlug(file))
	}
	add("theme", active.Stylesheet)
	add("theme", active.Template)
	return pkgs, nil
}

// tablePrefix is the table prefix of the site's settings file when there
// is one, else wp_.
func (w *WordPress) tablePrefix(s *aegir.AppSite) string {
	if b, err := os.ReadFile(filepath.Join(s.SiteDir, w.SettingsFile())); err == nil {
		if m := prefixPattern.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	return defaultPrefix
}

// SiteAddress returns the site's home option, the address WordPress links
// to and redirects to (its siteurl when home is empty), without the
// trailing slash. It is read straight from the options table in one PHP
// run that does not load WordPress, as SitePackages reads its options: no
// plugin runs, and the read costs a PHP start and one query.
func (w *WordPress) SiteAddress(ctx context.Context, s *aegir.AppSite) (string, error) {
	var options struct {
		Home    string `json:"home"`
		SiteURL string `json:"siteurl"`
	}
	if err := w.runHelper(ctx, s, map[string]any{"action": "address", "prefix": w.tablePrefix(s)}, &options); err != nil {
		return "", fmt.Errorf("address of wordpress site %s: %w", s.URI, err)
	}
	address := options.Home
	if address == "" {
		address = options.SiteURL
	}
	return strings.TrimRight(strings.TrimSpace(address), "/"), nil
}

// pluginSlug is the name of the plugin an active_plugins entry names:
// "akismet/akismet.php" is akismet, "hello.php" is hello.
func pluginSlug(file string) string {
	if dir, _, ok := strings.Cut(file, "/"); ok {
		return dir
	}
	return strings.TrimSuffix(file, ".php")
}

// UpdateDatabase runs WordPress's wp_upgrade() for the site, as
// wp-admin/upgrade.php does after the codebase changed: nothing happens
// when the site's db_version is the codebase's $wp_db_version already, and
// a site whose database is newer than the codebase is an error (WordPress
// would mark it as older without undoing anything).
func (w *WordPress) UpdateDatabase(ctx context.Context, s *aegir.AppSite) error {
	var result struct {
		From    int  `json:"from"`
		To      int  `json:"to"`
		Updated bool `json:"updated"`
	}
	if err := w.runHelper(ctx, s, map[string]any{"action": "update"}, &result); err != nil {
		return fmt.Errorf("update the database of wordpress site %s: %w", s.URI, err)
	}
	if !result.Updated {
		w.infof("the database of %s is up to date (WordPress schema %d)", s.URI, result.To)
		return nil
	}
	w.infof("updated the database of %s from WordPress schema %d to %d", s.URI, result.From, result.To)
	return nil
}

// UpdatePending reports whether UpdateDatabase would run wp_upgrade():
// only when the site's db_version (the Schema of the core SitePackages
// lists first) differs from the codebase's $wp_db_version (that of the core
// Packages lists first), which is the test wp_upgrade() itself makes. An
// unknown schema on either side counts as pending.
func (w *WordPress) UpdatePending(used, available []aegir.Package) bool {
	if len(used) == 0 || len(available) == 0 {
		return true
	}
	site, code := used[0], available[0]
	return site.Type != "core" || code.Type != "core" || site.Schema == 0 || site.Schema != code.Schema
}

// RewriteURI moves the site's database from its old address to s.URL and
// its old name to s.URI, after a clone or rename: the siteurl and home
// options, and every value of the options, post contents and excerpts,
// post, comment, term and user meta, comments, term descriptions, links
// and user URLs that holds the old URL (also in its protocol-relative
// //host form and JSON-escaped), or the upload path sites/<oldURI>/. GUIDs
// are left alone, as WordPress requires. PHP-serialized values are
// rewritten token by token with their string lengths recomputed, and a
// value that would not unserialize afterwards is left as it was, with a
// warning. The settings file holds no address: WriteSettings derives the
// upload path from s.URI.
func (w *WordPress) RewriteURI(ctx context.Context, s *aegir.AppSite, oldURI, oldURL string) error {
	if err := aegir.ValidateURI("old_uri", oldURI); err != nil {
		return err
	}
	if oldURL == "" {
		oldURL = "http://" + oldURI
	}
	oldURL = strings.TrimRight(oldURL, "/")
	newURL := strings.TrimRight(s.URL, "/")
	oldHost, err := urlAuthority("old_url", oldURL)
	if err != nil {
		return err
	}
	newHost, err := urlAuthority("url", newURL)
	if err != nil {
		return err
	}
	if oldURL == newURL && oldURI == s.URI {
		return nil
	}
	var result struct {
		Changed  map[string]int `json:"changed"`
		Warnings []string       `json:"warnings"`
	}
	err = w.runHelper(ctx, s, map[string]any{
		"action":   "rewrite",
		"old_url":  oldURL,
		"new_url":  newURL,
		"old_host": oldHost,
		"new_host": newHost,
		"old_uri":  oldURI,
		"new_uri":  s.URI,
	}, &result)
	if err != nil {
		return fmt.Errorf("rewrite %s to %s in wordpress site %s: %w", oldURL, newURL, s.URI, err)
	}
	for _, warning := range result.Warnings {
		w.warnf("%s", warning)
	}
	total := 0
	var where []string
	for column, n := range result.Changed {
		total += n
		where = append(where, fmt.Sprintf("%s %d", column, n))
	}
	sort.Strings(where)
	if total == 0 {
		w.infof("rewrote %s to %s in the database of %s: no value held the old address", oldURL, newURL, s.URI)
		return nil
	}
	w.infof("rewrote %s to %s in %d values of the database of %s (%s)", oldURL, newURL, total, s.URI, strings.Join(where, ", "))
	return nil
}

// urlAuthority returns the host[:port] of an http or https URL.
func urlAuthority(field, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", aegir.FieldErrorf(field, "%q is not an http or https address", raw)
	}
	return u.Host, nil
}

// Cron runs the site's due WordPress cron events once, from PHP CLI as
// wp-cron.php would (DOING_CRON, the doing_cron lock), without an HTTP
// request to the site. Like wp-cli it runs even when the lock is held: a
// page view that spawned a wp-cron.php request the site could not answer
// holds it for a minute. A wp-cron.php run that is really going stops
// after its current event.
func (w *WordPress) Cron(ctx context.Context, s *aegir.AppSite) error {
	var result struct {
		Ran []string `json:"ran"`
	}
	if err := w.runHelper(ctx, s, map[string]any{"action": "cron"}, &result); err != nil {
		return fmt.Errorf("cron of wordpress site %s: %w", s.URI, err)
	}
	if len(result.Ran) == 0 {
		w.infof("cron of %s: no event was due", s.URI)
		return nil
	}
	w.infof("cron of %s ran %d events: %s", s.URI, len(result.Ran), strings.Join(result.Ran, ", "))
	return nil
}

// FlushCache empties the site's object cache and deletes its transients
// (the rows of both kinds, so expired ones too), from PHP CLI.
func (w *WordPress) FlushCache(ctx context.Context, s *aegir.AppSite) error {
	var result struct {
		Transients int `json:"transients"`
	}
	if err := w.runHelper(ctx, s, map[string]any{"action": "flush-cache"}, &result); err != nil {
		return fmt.Errorf("flush the caches of wordpress site %s: %w", s.URI, err)
	}
	w.infof("flushed the object cache of %s and deleted %d transient rows", s.URI, result.Transients)
	return nil
}

var (
	// definePattern finds define('NAME', value) in a wp-config.php.
	definePattern = regexp.MustCompile(`\bdefine\s*\(\s*['"]([A-Z_]+)['"]\s*,\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^;]*?)\s*\)\s*;`)
)

// ReadSettings reads sites/<uri>/wp-config.php of a site being imported:
// the database credentials of its literal DB_NAME, DB_USER, DB_PASSWORD and
// DB_HOST defines (host[:port], port 3306 when none), the language of WPLANG
// when it is defined, and the profile "standard". The credentials of a
// cloaked file, aegir's own, are not in it: that is an EINVALID error, and
// they must come from the site's context.
func (w *WordPress) ReadSettings(ctx context.Context, s *aegir.AppSite) (*aegir.SiteSettings, error) {
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return nil, err
	}
	path := filepath.Join(s.SiteDir, w.SettingsFile())
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "wordpress site %s has no settings: %s is missing", s.URI, path)
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defines := map[string]string{}
	cloaked := map[string]bool{}
	for _, m := range definePattern.FindAllSubmatch(phpfile.StripComments(b), -1) {
		name := string(m[1])
		if _, done := defines[name]; done || cloaked[name] {
			continue // PHP keeps the first define of a constant
		}
		if v, ok := phpfile.StringValue(string(m[2])); ok {
			defines[name] = v
		} else {
			cloaked[name] = true
		}
	}
	for _, name := range []string{"DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST"} {
		if cloaked[name] {
			return nil, aegir.Errorf(aegir.EINVALID, "the database credentials of wordpress site %s are cloaked (%s in %s is not a literal): they must come from the site's context", s.URI, name, path)
		}
		if _, ok := defines[name]; !ok {
			return nil, aegir.Errorf(aegir.EINVALID, "%s defines no %s: cannot read the database credentials of wordpress site %s", path, name, s.URI)
		}
	}
	host, port, err := splitDBHost(defines["DB_HOST"])
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "DB_HOST in %s: %v", path, err)
	}
	return &aegir.SiteSettings{
		DB: aegir.DBCredentials{
			Type: "mysql", Host: host, Port: port,
			Name: defines["DB_NAME"], User: defines["DB_USER"], Password: defines["DB_PASSWORD"],
		},
		Profile:  "standard",
		Language: defines["WPLANG"],
	}, nil
}

// splitDBHost splits WordPress's DB_HOST: host, host:port, or
// host:/socket (then the host alone, on the default port).
func splitDBHost(v string) (string, int, error) {
	if v == "" {
		return "", 0, errors.New("empty")
	}
	host, rest, ok := strings.Cut(v, ":")
	if strings.HasPrefix(v, "[") { // [::1]:3306
		end := strings.Index(v, "]")
		if end < 0 {
			return "", 0, fmt.Errorf("%q is not a host", v)
		}
		host, rest = v[1:end], strings.TrimPrefix(v[end+1:], ":")
		ok = rest != ""
	}
	if !ok || strings.HasPrefix(rest, "/") {
		return host, 3306, nil
	}
	port, err := strconv.Atoi(rest)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q has no valid port", v)
	}
	return host, port, nil
}

// DeleteSite does nothing: WordPress keeps nothing about a site outside
// its directory and database.
func (w *WordPress) DeleteSite(ctx context.Context, s *aegir.AppSite) error { return nil }

var (
	_ aegir.App           = (*WordPress)(nil)
	_ aegir.UpdateChecker = (*WordPress)(nil)
	_ aegir.AddressReader = (*WordPress)(nil)
)
