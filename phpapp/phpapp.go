package phpapp

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"

	"github.com/aegir-hosting/aegir"
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
	if err := settingsTemplate.Execute(&buf, s); err != nil {
		return fmt.Errorf("render settings: %w", err)
	}
	dir := filepath.Join(s.Root, "sites", s.URI)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return writeFile(filepath.Join(dir, p.SettingsFile()), buf.Bytes(), 0o440)
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

// writeFile replaces path atomically with data and mode, keeping the old
// file's group so the web server can read the new one at once.
func writeFile(path string, data []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			_ = os.Lchown(tmp, -1, int(sys.Gid)) // best effort: the caller fixes groups too
		}
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

var _ aegir.App = (*PHP)(nil)
