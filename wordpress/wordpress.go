package wordpress

import (
	"bytes"
	"context"
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
)

func init() { aegir.RegisterApp("wordpress", 10, New) }

// WordPress drives WordPress codebases: one platform, many sites, each with
// its settings and uploads in sites/<uri>/.
type WordPress struct {
	env aegir.Env
}

// New returns the WordPress driver; PHP runs through env.Runner.
func New(env aegir.Env) aegir.App { return &WordPress{env: env} }

var (
	// versionPattern finds the release in wp-includes/version.php.
	versionPattern = regexp.MustCompile(`(?m)^\$wp_version\s*=\s*'([^']+)'\s*;`)
	// dbVersionPattern finds the database schema number the release
	// upgrades a site to, in wp-includes/version.php.
	dbVersionPattern = regexp.MustCompile(`(?m)^\$wp_db_version\s*=\s*(\d+)\s*;`)
)

// Detect reports whether root holds WordPress, by its
// wp-includes/version.php, and returns the version.
func (w *WordPress) Detect(root string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(root, "wp-includes", "version.php"))
	if err != nil {
		return "", false
	}
	m := versionPattern.FindSubmatch(b)
	if m == nil {
		return "", false
	}
	if _, err := os.Stat(filepath.Join(root, "wp-settings.php")); err != nil {
		return "", false
	}
	return string(m[1]), true
}

// Packages lists the core, with the database schema number of the release
// ($wp_db_version) as its Schema, then the plugins (directories and
// single-file plugins of wp-content/plugins) and the themes
// (wp-content/themes), each named by its directory or file name, as
// WordPress names them (the slug).
func (w *WordPress) Packages(ctx context.Context, root string) ([]aegir.Package, error) {
	version, ok := w.Detect(root)
	if !ok {
		return nil, aegir.FieldErrorf("root", "%s is not a WordPress codebase (no wp-includes/version.php)", root)
	}
	pkgs := []aegir.Package{{Name: "wordpress", Type: "core", Version: version, Schema: dbVersion(root)}}
	plugins, err := listPlugins(root)
	if err != nil {
		return nil, err
	}
	themes, err := listThemes(root)
	if err != nil {
		return nil, err
	}
	return append(append(pkgs, plugins...), themes...), nil
}

// dbVersion returns the $wp_db_version of the codebase at root, 0 when it
// cannot be read.
func dbVersion(root string) int {
	b, err := os.ReadFile(filepath.Join(root, "wp-includes", "version.php"))
	if err != nil {
		return 0
	}
	m := dbVersionPattern.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(string(m[1]))
	if err != nil {
		return 0
	}
	return n
}

// headerBytes is how much of a file WordPress reads for its header.
const headerBytes = 8192

// headerPatterns find the header fields the driver reads, the way
// WordPress's get_file_data() does.
var headerPatterns = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for _, field := range []string{"Plugin Name", "Theme Name", "Version"} {
		m[field] = regexp.MustCompile(`(?mi)^[ \t/*#@]*` + regexp.QuoteMeta(field) + `:(.*)$`)
	}
	return m
}()

// readHeader returns the fields of a WordPress file header ("Plugin Name:",
// "Version:"...) found in the first 8 KiB of path.
func readHeader(path string, fields ...string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, headerBytes)
	n, err := f.Read(buf)
	if err != nil && n == 0 {
		return map[string]string{}, nil
	}
	buf = bytes.ReplaceAll(buf[:n], []byte("\r"), []byte("\n"))
	out := map[string]string{}
	for _, field := range fields {
		if m := headerPatterns[field].FindSubmatch(buf); m != nil {
			v := strings.TrimSpace(string(m[1]))
			v = strings.TrimSpace(strings.TrimSuffix(v, "*/"))
			out[field] = v
		}
	}
	return out, nil
}

func listPlugins(root string) ([]aegir.Package, error) {
	rel := filepath.Join("wp-content", "plugins")
	entries, err := os.ReadDir(filepath.Join(root, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	var pkgs []aegir.Package
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(root, rel, e.Name())
		st, err := os.Stat(path) // follows links to plugin directories
		if err != nil {
			continue
		}
		if !st.IsDir() {
			if !strings.HasSuffix(e.Name(), ".php") {
				continue
			}
			h, err := readHeader(path, "Plugin Name", "Version")
			if err != nil || h["Plugin Name"] == "" {
				continue
			}
			pkgs = append(pkgs, aegir.Package{Name: strings.TrimSuffix(e.Name(), ".php"), Type: "plugin",
				Version: h["Version"], Path: filepath.Join(rel, e.Name())})
			continue
		}
		files, err := filepath.Glob(filepath.Join(path, "*.php"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, file := range files {
			h, err := readHeader(file, "Plugin Name", "Version")
			if err != nil || h["Plugin Name"] == "" {
				continue
			}
			pkgs = append(pkgs, aegir.Package{Name: e.Name(), Type: "plugin", Version: h["Version"],
				Path: filepath.Join(rel, e.Name())})
			break
		}
	}
	return pkgs, nil
}

func listThemes(root string) ([]aegir.Package, error) {
	rel := filepath.Join("wp-content", "themes")
	entries, err := os.ReadDir(filepath.Join(root, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list themes: %w", err)
	}
	var pkgs []aegir.Package
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		h, err := readHeader(filepath.Join(root, rel, e.Name(), "style.css"), "Theme Name", "Version")
		if err != nil || h["Theme Name"] == "" {
			continue
		}
		pkgs = append(pkgs, aegir.Package{Name: e.Name(), Type: "theme", Version: h["Version"],
			Path: filepath.Join(rel, e.Name())})
	}
	return pkgs, nil
}

// SettingsFile is the site's wp-config.php, read by the platform loader.
func (w *WordPress) SettingsFile() string { return "wp-config.php" }

// Params passes the site's name to the platform loader.
func (w *WordPress) Params(s *aegir.AppSite) []aegir.Param {
	return []aegir.Param{{Name: "AEGIR_SITE", Value: s.URI}}
}

// WritableDirs is the uploads directory.
func (w *WordPress) WritableDirs() []string { return []string{"files"} }

func (w *WordPress) warnf(format string, args ...any) {
	if w.env.Log != nil {
		w.env.Log.Warnf(format, args...)
	}
}

func (w *WordPress) infof(format string, args ...any) {
	if w.env.Log != nil {
		w.env.Log.Infof(format, args...)
	}
}

// InstallsOverTheWeb: its installer answers on an empty database.
func (w *WordPress) InstallsOverTheWeb() bool { return true }

var _ aegir.App = (*WordPress)(nil)
var _ aegir.WebInstaller = (*WordPress)(nil)
