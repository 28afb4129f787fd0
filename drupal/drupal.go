package drupal

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aegir-hosting/aegir"
)

func init() {
	aegir.RegisterApp("drupal", 0, New)
}

// Drupal drives Drupal 7 and Drupal 8+ codebases.
type Drupal struct {
	env aegir.Env
}

// New returns the Drupal driver.
func New(env aegir.Env) aegir.App {
	return &Drupal{env: env}
}

var (
	// d7Version is how Drupal 7 declares its version in includes/bootstrap.inc.
	d7Version = regexp.MustCompile(`(?m)^\s*define\(\s*['"]VERSION['"]\s*,\s*['"]([^'"]+)['"]\s*\)`)
	// d8Version is how Drupal 8 and later declare it in core/lib/Drupal.php.
	d8Version = regexp.MustCompile(`(?m)^\s*const\s+VERSION\s*=\s*['"]([^'"]+)['"]`)
)

// Detect reports whether root holds Drupal 7 (includes/bootstrap.inc) or
// Drupal 8 and later (core/lib/Drupal.php), and the version the code
// declares.
func (d *Drupal) Detect(root string) (string, bool) {
	version, _, ok := detect(root)
	return version, ok
}

// detect returns the version and major version of the Drupal at root.
func detect(root string) (version string, major int, ok bool) {
	if b, err := os.ReadFile(filepath.Join(root, "core", "lib", "Drupal.php")); err == nil {
		if m := d8Version.FindSubmatch(b); m != nil {
			v := string(m[1])
			if n := majorOf(v); n >= 8 {
				return v, n, true
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "includes", "bootstrap.inc")); err == nil {
		if m := d7Version.FindSubmatch(b); m != nil && strings.HasPrefix(string(m[1]), "7.") {
			return string(m[1]), 7, true
		}
	}
	return "", 0, false
}

// majorOf returns the leading number of a version string, 0 if none.
func majorOf(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// VerifyPlatform makes sure sites/ exists. Drupal 7 needs nothing more for
// multisite; Drupal 8 and later look at sites/<host>/ only when
// sites/sites.php exists, so an empty one is written when it is missing.
func (d *Drupal) VerifyPlatform(ctx context.Context, root string) error {
	_, major, ok := detect(root)
	if !ok {
		return aegir.FieldErrorf("root", "%s is not a Drupal codebase", root)
	}
	sites := filepath.Join(root, "sites")
	if err := os.MkdirAll(sites, 0o755); err != nil {
		return aegir.FieldErrorf("root", "create %s: %v", sites, err)
	}
	if major >= 8 {
		if err := d.scaffoldDefaultSettings(root); err != nil {
			return err
		}
		path := filepath.Join(sites, "sites.php")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if err := writeSitesPHP(root, "", nil); err != nil {
				return err
			}
			d.logf("wrote %s: Drupal 8+ needs it to serve sites/<uri>/", path)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// scaffoldDefaultSettings copies core's default.settings.php into
// sites/default/ when it is missing there, as composer's scaffold step does:
// Drupal's installer refuses to run without it, and a platform built from
// git or unpacked without the scaffold lacks it.
func (d *Drupal) scaffoldDefaultSettings(root string) error {
	dst := filepath.Join(root, "sites", "default", "default.settings.php")
	if _, err := os.Stat(dst); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	src := filepath.Join(root, "core", "assets", "scaffold", "files", "default.settings.php")
	b, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		d.warnf("%s is missing and core has no %s to copy: the installer will refuse to run", dst, src)
		return nil
	} else if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return aegir.FieldErrorf("root", "create %s: %v", filepath.Dir(dst), err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return aegir.FieldErrorf("root", "write %s: %v", dst, err)
	}
	d.logf("wrote %s from core's scaffold, as composer would", dst)
	return nil
}

// SettingsFile is settings.php, as Drupal names it.
func (d *Drupal) SettingsFile() string { return "settings.php" }

// Params returns nothing: Drupal finds sites/<uri> from the Host header, and
// aliases through sites/sites.php.
func (d *Drupal) Params(*aegir.AppSite) []aegir.Param { return nil }

// WritableDirs are the public files, the private files, the temporary
// directory and the configuration sync directory (Drupal 8+; its installer
// takes a site whose sync directory is missing as not configured) inside
// them. The web server denies sites/*/private.
func (d *Drupal) WritableDirs() []string {
	return []string{"files", "private", "private/temp", "private/config/sync"}
}

// PrivateOutsideRoot reports that a Drupal site's private directory (its
// "private" writable dirs) may live outside the platform's root.
func (d *Drupal) PrivateOutsideRoot() bool { return true }

func (d *Drupal) logf(format string, args ...any) {
	if d.env.Log != nil {
		d.env.Log.Infof(format, args...)
	}
}

func (d *Drupal) warnf(format string, args ...any) {
	if d.env.Log != nil {
		d.env.Log.Warnf(format, args...)
	}
}

// checkSite validates what the driver takes from a site before any of it
// reaches a path or a PHP file.
func checkSite(s *aegir.AppSite) error {
	if s == nil {
		return aegir.Errorf(aegir.EINTERNAL, "no site given")
	}
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return err
	}
	for _, a := range s.Aliases {
		if err := aegir.ValidateURI("aliases", a); err != nil {
			return err
		}
	}
	if s.Root == "" || !filepath.IsAbs(s.Root) {
		return aegir.FieldErrorf("root", "%q must be an absolute path", s.Root)
	}
	if want := filepath.Join(s.Root, "sites", s.URI); s.SiteDir != "" && filepath.Clean(s.SiteDir) != want {
		return aegir.Errorf(aegir.EINTERNAL, "site directory %s is not %s", s.SiteDir, want)
	}
	return nil
}

// siteDir is sites/<uri> under the platform root.
func siteDir(s *aegir.AppSite) string { return filepath.Join(s.Root, "sites", s.URI) }

// errNoDrupal is returned when an operation needs a Drupal codebase at the
// site's root and finds none.
func errNoDrupal(root string) error {
	return aegir.FieldErrorf("root", "%s is not a Drupal codebase", root)
}

// InstallsOverTheWeb: its installer answers on an empty database.
func (d *Drupal) InstallsOverTheWeb() bool { return true }

var _ aegir.App = (*Drupal)(nil)
var _ aegir.WebInstaller = (*Drupal)(nil)
var _ aegir.PrivateDirApp = (*Drupal)(nil)
