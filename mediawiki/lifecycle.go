package mediawiki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

var (
	// loadPattern finds wfLoadExtension('X'), wfLoadSkin('X') and their
	// plural forms, which take a list of names.
	loadPattern = regexp.MustCompile(`\bwfLoad(Extension|Skin)(s?)\s*\(((?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^;'"])*?)\)\s*;`)
	// stringPattern finds the PHP string literals of an expression.
	stringPattern = regexp.MustCompile(`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`)
)

// SitePackages lists what the wiki uses: the core, with the platform's
// version, then the extensions and skins its LocalSettings.php loads
// (wfLoadExtension, wfLoadSkin and their plural forms, outside comments),
// with the versions of the platform's extension.json and skin.json. One the
// platform lacks is listed without a version. MediaWiki has no schema
// numbers to compare: update.php finds what to change by itself.
func (m *MediaWiki) SitePackages(ctx context.Context, s *aegir.AppSite) ([]aegir.Package, error) {
	platform, err := m.Packages(ctx, s.Root)
	if err != nil {
		return nil, err
	}
	text, err := m.readLocalSettings(s)
	if err != nil {
		return nil, err
	}
	byName := map[string]aegir.Package{}
	for _, p := range platform[1:] {
		byName[p.Type+"/"+p.Name] = p
	}
	loaded := map[string][]string{}
	seen := map[string]bool{}
	for _, call := range loadPattern.FindAllStringSubmatch(string(phpfile.StripComments(text)), -1) {
		typ := strings.ToLower(call[1])
		names := stringPattern.FindAllString(call[3], -1)
		if call[2] == "" && len(names) > 1 {
			names = names[:1] // wfLoadExtension('X', $path)
		}
		for _, literal := range names {
			name, ok := phpfile.StringValue(literal)
			if !ok || name == "" || seen[typ+"/"+name] {
				continue
			}
			seen[typ+"/"+name] = true
			loaded[typ] = append(loaded[typ], name)
		}
	}
	pkgs := []aegir.Package{platform[0]}
	for _, typ := range []string{"extension", "skin"} {
		names := loaded[typ]
		sort.Strings(names)
		for _, name := range names {
			p, ok := byName[typ+"/"+name]
			if !ok {
				p = aegir.Package{Name: name, Type: typ}
			}
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

// readLocalSettings returns the wiki's LocalSettings.php; a wiki without
// one is not installed, an ENOTFOUND error.
func (m *MediaWiki) readLocalSettings(s *aegir.AppSite) ([]byte, error) {
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return nil, err
	}
	path := filepath.Join(s.SiteDir, m.SettingsFile())
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "mediawiki site %s is not installed: %s is missing", s.URI, path)
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// maintenance runs a maintenance script of the platform for the wiki, with
// its database credentials and settings file in the environment, as the
// web server passes them, and returns the script's output.
func (m *MediaWiki) maintenance(ctx context.Context, s *aegir.AppSite, script string, args ...string) ([]byte, error) {
	if m.env.Runner == nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "mediawiki: no runner")
	}
	if s.DB == nil || s.DB.Name == "" {
		return nil, aegir.Errorf(aegir.EINVALID, "mediawiki site %s has no database", s.URI)
	}
	if _, err := m.readLocalSettings(s); err != nil {
		return nil, err
	}
	return m.env.Runner.Run(ctx, aegir.Command{
		Args: append([]string{"php", "-d", "display_errors=stderr", filepath.Join("maintenance", script)}, args...),
		Dir:  s.Root,
		Env:  append(s.DB.Env(), m.siteEnv(s)...),
	})
}

// UpdateDatabase runs maintenance/update.php --quick for the wiki (without
// --quick it waits five seconds for a human to change their mind), which
// brings the wiki's tables to what the platform's code and extensions need
// and does nothing when they are.
func (m *MediaWiki) UpdateDatabase(ctx context.Context, s *aegir.AppSite) error {
	out, err := m.maintenance(ctx, s, "update.php", "--quick")
	if err != nil {
		return fmt.Errorf("update the database of mediawiki site %s: %w", s.URI, withLastLine(err, out))
	}
	m.infof("updated the database of %s with update.php: %s", s.URI, lastLine(out))
	return nil
}

// RewriteURI has nothing to change in a wiki's database: MediaWiki links
// pages by title and finds uploads by name, and what holds the wiki's
// address and upload path ($wgServer, $wgUploadDirectory, $wgUploadPath)
// is aegir.settings.php, which WriteSettings writes from s. Full URLs
// editors typed into pages are their content and stay as they are; cached
// renderings expire with the parser cache.
func (m *MediaWiki) RewriteURI(ctx context.Context, s *aegir.AppSite, oldURI, oldURL string) error {
	if err := aegir.ValidateURI("old_uri", oldURI); err != nil {
		return err
	}
	if oldURI != s.URI || oldURL != s.URL {
		m.infof("%s was %s: MediaWiki keeps no address in its database, aegir.settings.php has the new one", s.URI, oldURI)
	}
	return nil
}

// cronMaxTime is how long one cron run works through the job queue.
const cronMaxTime = "60"

// jobRun is runJobs.php's JSON result.
type jobRun struct {
	Jobs []struct {
		Type   string `json:"type"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"jobs"`
	Reached string `json:"reached"`
}

// Cron runs the wiki's job queue for at most a minute with
// maintenance/runJobs.php, as MediaWiki advises instead of running jobs on
// page views. A failed job is a warning; the queue retries it.
func (m *MediaWiki) Cron(ctx context.Context, s *aegir.AppSite) error {
	out, err := m.maintenance(ctx, s, "runJobs.php", "--maxtime="+cronMaxTime, "--result=json")
	if err != nil {
		return fmt.Errorf("run the job queue of mediawiki site %s: %w", s.URI, withLastLine(err, out))
	}
	var run jobRun
	start := bytes.IndexByte(out, '{')
	if start < 0 || json.Unmarshal(out[start:], &run) != nil {
		m.infof("ran the job queue of %s: %s", s.URI, lastLine(out))
		return nil
	}
	if len(run.Jobs) == 0 {
		m.infof("the job queue of %s is empty", s.URI)
		return nil
	}
	counts := map[string]int{}
	failed := 0
	for _, job := range run.Jobs {
		counts[job.Type]++
		if job.Status != "ok" {
			failed++
			m.warnf("job %s of %s failed: %s", job.Type, s.URI, job.Error)
		}
	}
	var types []string
	for typ, n := range counts {
		types = append(types, fmt.Sprintf("%s %d", typ, n))
	}
	sort.Strings(types)
	m.infof("ran %d jobs of %s (%s), %d failed; the queue stopped at %s", len(run.Jobs), s.URI, strings.Join(types, ", "), failed, run.Reached)
	return nil
}

// withLastLine adds the last line of a failed script's output to err when
// the runner's error (which carries standard error) lacks it: MediaWiki's
// maintenance scripts print their reason on standard output.
func withLastLine(err error, out []byte) error {
	if last := lastLine(out); last != "" && !strings.Contains(err.Error(), last) {
		return fmt.Errorf("%w (last output: %s)", err, last)
	}
	return err
}

// settingPattern finds an assignment of a setting in LocalSettings.php.
var settingPattern = regexp.MustCompile(`\$(wgDBtype|wgDBserver|wgDBname|wgDBuser|wgDBpassword|wgLanguageCode)\s*=\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^;]*?)\s*;`)

// ReadSettings reads the LocalSettings.php of a wiki being imported: the
// database credentials of its literal $wgDBtype, $wgDBserver (host[:port]),
// $wgDBname, $wgDBuser and $wgDBpassword, the language of $wgLanguageCode
// ("en" when unset), and the profile "standard". The credentials of a
// cloaked LocalSettings.php, aegir's own, are not in it: that is an
// EINVALID error, and they must come from the site's context.
func (m *MediaWiki) ReadSettings(ctx context.Context, s *aegir.AppSite) (*aegir.SiteSettings, error) {
	text, err := m.readLocalSettings(s)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(s.SiteDir, m.SettingsFile())
	values := map[string]string{}
	cloaked := map[string]bool{}
	// The last assignment wins, as in PHP.
	for _, a := range settingPattern.FindAllStringSubmatch(string(phpfile.StripComments(text)), -1) {
		if v, ok := phpfile.StringValue(a[2]); ok {
			values[a[1]], cloaked[a[1]] = v, false
		} else {
			delete(values, a[1])
			cloaked[a[1]] = true
		}
	}
	for _, name := range []string{"wgDBname", "wgDBuser", "wgDBpassword", "wgDBserver", "wgDBtype"} {
		if cloaked[name] {
			return nil, aegir.Errorf(aegir.EINVALID, "the database credentials of mediawiki site %s are cloaked ($%s in %s is not a literal): they must come from the site's context", s.URI, name, path)
		}
	}
	for _, name := range []string{"wgDBname", "wgDBuser", "wgDBpassword"} {
		if _, ok := values[name]; ok {
			continue
		}
		if bytes.Contains(text, []byte(requireLine)) {
			return nil, aegir.Errorf(aegir.EINVALID, "the database credentials of mediawiki site %s are cloaked (in %s): they must come from the site's context", s.URI, aegirSettings)
		}
		return nil, aegir.Errorf(aegir.EINVALID, "%s sets no $%s: cannot read the database credentials of mediawiki site %s", path, name, s.URI)
	}
	db := aegir.DBCredentials{Type: "mysql", Name: values["wgDBname"], User: values["wgDBuser"], Password: values["wgDBpassword"]}
	defaultPort := 3306
	switch values["wgDBtype"] {
	case "", "mysql":
	case "postgres":
		db.Type, defaultPort = "pgsql", 5432
	default:
		return nil, aegir.Errorf(aegir.EINVALID, "mediawiki site %s uses a %s database, which aegir does not host", s.URI, values["wgDBtype"])
	}
	server := values["wgDBserver"]
	if server == "" {
		server = "localhost" // MediaWiki's default
	}
	if db.Host, db.Port, err = splitDBServer(server, defaultPort); err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "$wgDBserver in %s: %v", path, err)
	}
	lang := values["wgLanguageCode"]
	if lang == "" {
		lang = "en"
	}
	return &aegir.SiteSettings{DB: db, Profile: "standard", Language: lang}, nil
}

// splitDBServer splits $wgDBserver: host, host:port or [v6]:port.
func splitDBServer(v string, defaultPort int) (string, int, error) {
	host, rest := v, ""
	if strings.HasPrefix(v, "[") {
		end := strings.Index(v, "]")
		if end < 0 {
			return "", 0, fmt.Errorf("%q is not a host", v)
		}
		host, rest = v[1:end], strings.TrimPrefix(v[end+1:], ":")
	} else if i := strings.LastIndex(v, ":"); i >= 0 && strings.Count(v, ":") == 1 {
		host, rest = v[:i], v[i+1:]
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q has no host", v)
	}
	if rest == "" {
		return host, defaultPort, nil
	}
	port, err := strconv.Atoi(rest)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q has no valid port", v)
	}
	return host, port, nil
}

func (m *MediaWiki) warnf(format string, args ...any) {
	if m.env.Log != nil {
		m.env.Log.Warnf(format, args...)
	}
}

// DeleteSite does nothing: MediaWiki keeps nothing about a wiki outside
// its directory and database.
func (m *MediaWiki) DeleteSite(ctx context.Context, s *aegir.AppSite) error { return nil }

// FlushCache purges the wiki's parser cache (every rendered page, whatever
// its age) with purgeParserCache.php, so pages render anew from their
// text; MediaWiki's other caches follow their keys and expire on their own.
func (m *MediaWiki) FlushCache(ctx context.Context, s *aegir.AppSite) error {
	out, err := m.maintenance(ctx, s, "purgeParserCache.php", "--age=0", "--msleep=0")
	if err != nil {
		return fmt.Errorf("purge the parser cache of mediawiki site %s: %w", s.URI, withLastLine(err, out))
	}
	m.infof("purged the parser cache of %s: %s", s.URI, lastLine(out))
	return nil
}

var _ aegir.App = (*MediaWiki)(nil)
