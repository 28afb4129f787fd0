package mediawiki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/aegir-hosting/aegir"
)

func init() { aegir.RegisterApp("mediawiki", 20, New) }

// MediaWiki drives MediaWiki codebases: one platform, many wikis, each with
// its settings and uploads in sites/<uri>/.
type MediaWiki struct {
	env aegir.Env
}

// New returns the MediaWiki driver; PHP runs through env.Runner.
func New(env aegir.Env) aegir.App { return &MediaWiki{env: env} }

var (
	// versionPattern finds the release in includes/Defines.php (1.35+).
	versionPattern = regexp.MustCompile(`define\(\s*'MW_VERSION'\s*,\s*'([^']+)'\s*\)`)
	// oldVersionPattern finds it in includes/DefaultSettings.php (older).
	oldVersionPattern = regexp.MustCompile(`(?m)^\$wgVersion\s*=\s*'([^']+)'\s*;`)
)

// Detect reports whether root holds MediaWiki, by the MW_VERSION of
// includes/Defines.php (or the $wgVersion of older releases), and returns
// the version.
func (m *MediaWiki) Detect(root string) (string, bool) {
	if _, err := os.Stat(filepath.Join(root, "includes", "WebStart.php")); err != nil {
		return "", false
	}
	for _, try := range []struct {
		file    string
		pattern *regexp.Regexp
	}{
		{filepath.Join(root, "includes", "Defines.php"), versionPattern},
		{filepath.Join(root, "includes", "DefaultSettings.php"), oldVersionPattern},
	} {
		b, err := os.ReadFile(try.file)
		if err != nil {
			continue
		}
		if v := try.pattern.FindSubmatch(b); v != nil {
			return string(v[1]), true
		}
	}
	return "", false
}

// Packages lists the core, then the extensions (extensions/*/extension.json)
// and skins (skins/*/skin.json), each named by its directory, the name
// wfLoadExtension and wfLoadSkin take (a manifest may say "Abuse Filter"
// for AbuseFilter), with the version its manifest gives.
func (m *MediaWiki) Packages(ctx context.Context, root string) ([]aegir.Package, error) {
	version, ok := m.Detect(root)
	if !ok {
		return nil, aegir.FieldErrorf("root", "%s is not a MediaWiki codebase (no includes/Defines.php)", root)
	}
	pkgs := []aegir.Package{{Name: "mediawiki", Type: "core", Version: version}}
	for _, kind := range []struct{ dir, manifest, typ string }{
		{"extensions", "extension.json", "extension"},
		{"skins", "skin.json", "skin"},
	} {
		found, err := listManifests(root, kind.dir, kind.manifest, kind.typ)
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, found...)
	}
	return pkgs, nil
}

// listManifests reads the manifest of each directory under root/dir.
func listManifests(root, dir, manifest, typ string) ([]aegir.Package, error) {
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var pkgs []aegir.Package
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(root, dir, e.Name(), manifest))
		if err != nil {
			continue // not a package: a README, a directory without manifest
		}
		var info struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(b, &info); err != nil {
			return nil, fmt.Errorf("%s/%s/%s: %w", dir, e.Name(), manifest, err)
		}
		pkgs = append(pkgs, aegir.Package{Name: e.Name(), Type: typ, Version: info.Version, Path: filepath.Join(dir, e.Name())})
	}
	return pkgs, nil
}

// SettingsFile is the wiki's LocalSettings.php, which the web server names
// in MW_CONFIG_FILE.
func (m *MediaWiki) SettingsFile() string { return "LocalSettings.php" }

// Params passes the wiki's name to the platform loader and its settings
// file to MediaWiki.
func (m *MediaWiki) Params(s *aegir.AppSite) []aegir.Param {
	return []aegir.Param{
		{Name: "AEGIR_SITE", Value: s.URI},
		{Name: "MW_CONFIG_FILE", Value: filepath.Join(s.SiteDir, m.SettingsFile())},
	}
}

// WritableDirs are the uploads and the private directory (login tokens).
func (m *MediaWiki) WritableDirs() []string { return []string{"files", "private"} }

func (m *MediaWiki) infof(format string, args ...any) {
	if m.env.Log != nil {
		m.env.Log.Infof(format, args...)
	}
}

// InstallsOverTheWeb: its installer answers on an empty database.
func (m *MediaWiki) InstallsOverTheWeb() bool { return true }

var _ aegir.App = (*MediaWiki)(nil)
var _ aegir.WebInstaller = (*MediaWiki)(nil)
