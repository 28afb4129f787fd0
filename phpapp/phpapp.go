package phpapp

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

func init() {
	aegir.RegisterApp("php", 90, New)
}

//go:embed files
var files embed.FS

var settingsTemplate = template.Must(template.ParseFS(files, "files/settings.php.tmpl"))

// PHP drives a generic PHP codebase: a database and settings, nothing to
// install.
type PHP struct {
	env aegir.Env
}

// New returns the generic PHP driver.
func New(env aegir.Env) aegir.App {
	return &PHP{env: env}
}

// Detect recognises any codebase with an index.php at its root; the version
// is the first line of a VERSION file beside it, if there is one.
func (p *PHP) Detect(root string) (string, bool) {
	st, err := os.Stat(filepath.Join(root, "index.php"))
	if err != nil || st.IsDir() {
		return "", false
	}
	return version(root), true
}

func version(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	if len(line) > 64 {
		return ""
	}
	return line
}

// Packages lists only the codebase itself, as core package "php".
func (p *PHP) Packages(ctx context.Context, root string) ([]aegir.Package, error) {
	if _, ok := p.Detect(root); !ok {
		return nil, aegir.FieldErrorf("root", "%s has no index.php", root)
	}
	return []aegir.Package{{Name: "php", Type: "core", Version: version(root)}}, nil
}

// VerifyPlatform makes sure sites/ exists, where the sites' settings go.
func (p *PHP) VerifyPlatform(ctx context.Context, root string) error {
	sites := filepath.Join(root, "sites")
	if err := os.MkdirAll(sites, 0o755); err != nil {
		return aegir.FieldErrorf("root", "create %s: %v", sites, err)
	}
	return nil
}

// SettingsFile is settings.php.
func (p *PHP) SettingsFile() string { return "settings.php" }

// WriteSettings writes sites/<uri>/settings.php, 0440: a PHP file that
// returns the site's database credentials, read from $_SERVER (FastCGI
// parameters) or the environment (command line), so it never holds the
// password itself.
func (p *PHP) WriteSettings(ctx context.Context, s *aegir.AppSite) error {
	if err := checkSite(s); err != nil {
		return err
	}
	var buf bytes.Buffer
	data := struct {
		*aegir.AppSite
		Extensions string
	}{s, phpfile.SiteBlock(s.Custom, s.SettingsIncludes)}
	if err := settingsTemplate.Execute(&buf, data); err != nil {
		return fmt.Errorf("render settings: %w", err)
	}
	dir := filepath.Join(s.Root, "sites", s.URI)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return phpfile.WriteKeepingGroup(filepath.Join(dir, p.SettingsFile()), buf.Bytes(), 0o440)
}

// Install has nothing to run: a generic PHP app sets up its own database.
func (p *PHP) Install(ctx context.Context, s *aegir.AppSite, admin aegir.Admin) error {
	if err := checkSite(s); err != nil {
		return err
	}
	if p.env.Log != nil {
		p.env.Log.Infof("the php app has no installer: %s has its database and settings, nothing more to run", s.URI)
	}
	return nil
}

// LoginLink always fails with EINVALID: a generic PHP app has no accounts
// aegir knows.
func (p *PHP) LoginLink(ctx context.Context, s *aegir.AppSite) (string, error) {
	return "", aegir.Errorf(aegir.EINVALID, "the php app has no login link")
}

// Params passes AEGIR_SITE=<uri>, which tells the app where its settings
// are.
func (p *PHP) Params(s *aegir.AppSite) []aegir.Param {
	return []aegir.Param{{Name: "AEGIR_SITE", Value: s.URI}}
}

// WritableDirs are the site's public and private files.
func (p *PHP) WritableDirs() []string { return []string{"files", "private"} }

// SitePackages lists the codebase only, as Packages does: a generic PHP app
// has no packages aegir knows, and no schema versions.
func (p *PHP) SitePackages(ctx context.Context, s *aegir.AppSite) ([]aegir.Package, error) {
	if err := checkSite(s); err != nil {
		return nil, err
	}
	return p.Packages(ctx, s.Root)
}

// UpdateDatabase has nothing to run: a generic PHP app has no update hooks
// aegir knows, so a migrated site's database is left as it is (logged).
func (p *PHP) UpdateDatabase(ctx context.Context, s *aegir.AppSite) error {
	if err := checkSite(s); err != nil {
		return err
	}
	p.logf("the php app has no database updates to run for %s", s.URI)
	return nil
}

// RewriteURI has nothing to rewrite: aegir does not know where a generic
// PHP app keeps its address, so the database is left as it is (logged).
// The settings follow the new URI when they are written again.
func (p *PHP) RewriteURI(ctx context.Context, s *aegir.AppSite, oldURI, oldURL string) error {
	if err := checkSite(s); err != nil {
		return err
	}
	if err := aegir.ValidateURI("old_uri", oldURI); err != nil {
		return err
	}
	p.logf("the php app does not know where %s keeps its address: its database still says %s where it did", s.URI, oldURI)
	return nil
}

// Cron does nothing: a generic PHP app has no cron entry point aegir knows.
// An app that needs one runs its own from the system's crontab.
func (p *PHP) Cron(ctx context.Context, s *aegir.AppSite) error {
	return checkSite(s)
}

// FlushCache has no cache to clear: aegir knows none of a generic PHP app.
func (p *PHP) FlushCache(ctx context.Context, s *aegir.AppSite) error {
	if err := checkSite(s); err != nil {
		return err
	}
	p.logf("%s is a generic PHP app: no cache aegir knows to flush", s.URI)
	return nil
}

// ReadSettings always fails with EINVALID: the settings of a php site are
// aegir's own, cloaked (the credentials come from the web server's db_*
// parameters, so from the site's context, not the file), and aegir knows
// no other settings format of a generic PHP app.
func (p *PHP) ReadSettings(ctx context.Context, s *aegir.AppSite) (*aegir.SiteSettings, error) {
	if err := checkSite(s); err != nil {
		return nil, err
	}
	path := filepath.Join(s.Root, "sites", s.URI, p.SettingsFile())
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		return nil, aegir.Errorf(aegir.EINVALID, "the php app cannot read the settings of %s: %v", s.URI, err)
	case bytes.Contains(b, []byte("$_SERVER['db_")):
		return nil, aegir.Errorf(aegir.EINVALID,
			"the database credentials in %s are cloaked: the file reads them from the web server's db_* parameters, so they come from the site's context, not from the file", path)
	}
	return nil, aegir.Errorf(aegir.EINVALID, "the php app cannot read database credentials from %s: it knows only aegir's own settings, which hold none", path)
}

// DeleteSite has nothing to remove: a php site keeps nothing outside its
// directory.
func (p *PHP) DeleteSite(ctx context.Context, s *aegir.AppSite) error {
	return checkSite(s)
}

func (p *PHP) logf(format string, args ...any) {
	if p.env.Log != nil {
		p.env.Log.Infof(format, args...)
	}
}

// checkSite validates the URI and root before they reach a path.
func checkSite(s *aegir.AppSite) error {
	if s == nil {
		return aegir.Errorf(aegir.EINTERNAL, "no site given")
	}
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return err
	}
	if !filepath.IsAbs(s.Root) {
		return aegir.FieldErrorf("root", "%q must be an absolute path", s.Root)
	}
	return nil
}

var _ aegir.App = (*PHP)(nil)
