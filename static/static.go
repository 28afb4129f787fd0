package static

import (
	"context"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

func init() {
	aegir.RegisterApp("static", 100, New)
}

// Static drives a codebase of plain files.
type Static struct {
	env aegir.Env
}

// New returns the static driver.
func New(env aegir.Env) aegir.App {
	return &Static{env: env}
}

// Detect recognises any directory, with no version: static is the last app
// tried.
func (a *Static) Detect(root string) (string, bool) {
	st, err := os.Stat(root)
	return "", err == nil && st.IsDir()
}

// Packages lists only the codebase itself, as core package "static".
func (a *Static) Packages(ctx context.Context, root string) ([]aegir.Package, error) {
	if _, ok := a.Detect(root); !ok {
		return nil, aegir.FieldErrorf("root", "%s is not a directory", root)
	}
	return []aegir.Package{{Name: "static", Type: "core"}}, nil
}

// VerifyPlatform makes sure sites/ exists, where the site directories go.
func (a *Static) VerifyPlatform(ctx context.Context, root string) error {
	sites := filepath.Join(root, "sites")
	if err := os.MkdirAll(sites, 0o755); err != nil {
		return aegir.FieldErrorf("root", "create %s: %v", sites, err)
	}
	return nil
}

// NeedsNoDatabase reports that a static site needs no database.
func (a *Static) NeedsNoDatabase() bool { return true }

// SettingsFile is empty: a static site has no settings.
func (a *Static) SettingsFile() string { return "" }

// WriteSettings does nothing.
func (a *Static) WriteSettings(ctx context.Context, s *aegir.AppSite) error { return nil }

// Install does nothing but say so.
func (a *Static) Install(ctx context.Context, s *aegir.AppSite, admin aegir.Admin) error {
	if a.env.Log != nil && s != nil {
		a.env.Log.Infof("the static app has no installer: %s is served as files", s.URI)
	}
	return nil
}

// LoginLink always fails with EINVALID: a static site has no accounts.
func (a *Static) LoginLink(ctx context.Context, s *aegir.AppSite) (string, error) {
	return "", aegir.Errorf(aegir.EINVALID, "the static app has no login link")
}

// Params returns nothing.
func (a *Static) Params(*aegir.AppSite) []aegir.Param { return nil }

// WritableDirs returns nothing: the web server writes nowhere.
func (a *Static) WritableDirs() []string { return nil }

// SitePackages lists the codebase only, as Packages does: a static site
// has no packages and no database.
func (a *Static) SitePackages(ctx context.Context, s *aegir.AppSite) ([]aegir.Package, error) {
	if s == nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "no site given")
	}
	return a.Packages(ctx, s.Root)
}

// UpdateDatabase does nothing: a static site has no database.
func (a *Static) UpdateDatabase(ctx context.Context, s *aegir.AppSite) error { return nil }

// RewriteURI does nothing: a static site's files are its owner's, and it
// has no database.
func (a *Static) RewriteURI(ctx context.Context, s *aegir.AppSite, oldURI, oldURL string) error {
	return aegir.ValidateURI("old_uri", oldURI)
}

// Cron does nothing: a static site has no periodic jobs.
func (a *Static) Cron(ctx context.Context, s *aegir.AppSite) error { return nil }

// FlushCache does nothing: a static site has no cache of its own.
func (a *Static) FlushCache(ctx context.Context, s *aegir.AppSite) error { return nil }

// ReadSettings returns empty settings and no error: a static site has no
// settings file and no database to import.
func (a *Static) ReadSettings(ctx context.Context, s *aegir.AppSite) (*aegir.SiteSettings, error) {
	return &aegir.SiteSettings{}, nil
}

// DeleteSite does nothing: a static site keeps nothing outside its
// directory.
func (a *Static) DeleteSite(ctx context.Context, s *aegir.AppSite) error { return nil }

var _ aegir.App = (*Static)(nil)

var _ aegir.DatabaseFree = (*Static)(nil)
