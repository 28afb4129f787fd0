package wordpress

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"text/template"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

//go:embed files
var files embed.FS

// siteTemplate renders a site's wp-config.php.
var siteTemplate = template.Must(template.New("site-wp-config.php.tmpl").
	Funcs(template.FuncMap{"php": phpfile.Quote}).
	ParseFS(files, "files/site-wp-config.php.tmpl"))

// loaderMarker is in the platform wp-config.php aegir writes, so a verify
// knows the file is its own to rewrite.
const loaderMarker = "aegir platform loader for WordPress"

// debianMarker is in the wp-config.php of Debian's wordpress package, a
// loader of /etc/wordpress/config-<host>.php that aegir replaces.
const debianMarker = "/etc/wordpress/config-"

// muPlugin is where the login-link plugin goes, relative to the root.
var muPlugin = filepath.Join("wp-content", "mu-plugins", "aegir-login.php")

// saltNames are WordPress's authentication keys and salts.
var saltNames = []string{
	"AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
	"AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT",
}

// saltPattern finds a key or salt already defined in a settings file.
var saltPattern = regexp.MustCompile(`define\(\s*'([A-Z_]+)'\s*,\s*'([^'\\]*)'\s*\)`)

// prefixPattern finds the table prefix of a settings file, aegir's or one
// of a site being imported.
var prefixPattern = regexp.MustCompile(`(?m)^\s*\$table_prefix\s*=\s*['"]([A-Za-z0-9_]+)['"]\s*;`)

// defaultPrefix is the table prefix of a new site.
const defaultPrefix = "wp_"

// VerifyPlatform makes the codebase at root serve many sites: it writes
// the platform's wp-config.php (a loader of sites/<AEGIR_SITE>/wp-config.php,
// replacing Debian's loader or an earlier one of aegir), the login-link
// must-use plugin, and creates sites/. A wp-config.php of anyone else is
// left alone and is an error: it may hold a live site's credentials.
func (w *WordPress) VerifyPlatform(ctx context.Context, root string) error {
	if _, ok := w.Detect(root); !ok {
		return aegir.FieldErrorf("root", "%s is not a WordPress codebase (no wp-includes/version.php)", root)
	}
	path := filepath.Join(root, "wp-config.php")
	loader, err := files.ReadFile("files/wp-config.php")
	if err != nil {
		return err
	}
	err = phpfile.WriteIfOurs(path, loader, 0o644, loaderMarker, debianMarker)
	if errors.Is(err, phpfile.ErrForeign) {
		return aegir.FieldErrorf("root", "%s is not aegir's platform loader: move it away (each site's settings belong in sites/<uri>/wp-config.php)", path)
	} else if err != nil {
		return err
	}
	plugin, err := files.ReadFile("files/aegir-login.php")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Join(root, muPlugin)), 0o755); err != nil {
		return err
	}
	if err := phpfile.Write(filepath.Join(root, muPlugin), plugin, 0o644, ""); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, "sites"), 0o755); err != nil {
		return err
	}
	w.infof("wrote the WordPress platform loader %s and %s", path, muPlugin)
	return nil
}

// salt is one key or salt of a site.
type salt struct{ Name, Value string }

// WriteSettings writes sites/<uri>/wp-config.php, mode 0440: cloaked
// database credentials, the keys and salts (those of an existing file are
// kept, so logins survive a verify), and the uploads directory in the site
// directory. The table prefix of an existing file is kept too (a site
// imported with its own prefix); a new site gets wp_. The site's address
// stays in its database (home, siteurl).
func (w *WordPress) WriteSettings(ctx context.Context, s *aegir.AppSite) error {
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return err
	}
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(s.SiteDir, w.SettingsFile())
	existing := map[string]string{}
	prefix := defaultPrefix
	if old, err := os.ReadFile(path); err == nil {
		for _, m := range saltPattern.FindAllSubmatch(old, -1) {
			if len(m[2]) >= 32 {
				existing[string(m[1])] = string(m[2])
			}
		}
		if m := prefixPattern.FindSubmatch(old); m != nil {
			prefix = string(m[1])
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var salts []salt
	for _, name := range saltNames {
		v, ok := existing[name]
		if !ok {
			var err error
			if v, err = randomSalt(64); err != nil {
				return err
			}
		}
		salts = append(salts, salt{name, v})
	}
	var buf bytes.Buffer
	err := siteTemplate.Execute(&buf, map[string]any{
		"URI":         s.URI,
		"Salts":       salts,
		"TablePrefix": prefix,
		"Uploads":     "sites/" + s.URI + "/files",
		"Extensions":  phpfile.SiteBlock(s.Custom, s.SettingsIncludes),
	})
	if err != nil {
		return err
	}
	return phpfile.Write(path, buf.Bytes(), 0o440, s.WebGroup)
}

// saltChars are the characters of generated keys and salts: printable
// ASCII without the quote and backslash of PHP single-quoted strings.
const saltChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~"

func randomSalt(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			// Rejection sampling keeps the characters uniform.
			if int(b) < 256-256%len(saltChars) && len(out) < n {
				out = append(out, saltChars[int(b)%len(saltChars)])
			}
		}
	}
	return string(out), nil
}
