package mediawiki

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

//go:embed files
var files embed.FS

// settingsTemplate renders a wiki's aegir.settings.php.
var settingsTemplate = template.Must(template.New("aegir.settings.php.tmpl").
	Funcs(template.FuncMap{"php": phpfile.Quote}).
	ParseFS(files, "files/aegir.settings.php.tmpl"))

// aegirSettings is the file, beside LocalSettings.php, that holds what
// aegir manages of a wiki's settings.
const aegirSettings = "aegir.settings.php"

// loaderMarker is in the platform LocalSettings.php aegir writes, so a
// verify knows the file is its own to rewrite.
const loaderMarker = "aegir platform loader for MediaWiki"

// requireLine is appended to a wiki's LocalSettings.php, so aegir's
// settings come last and win.
const requireLine = "require __DIR__ . '/" + aegirSettings + "';"

// cloakedSettings are the lines of a generated LocalSettings.php that
// aegir.settings.php sets instead: the database credentials and address,
// and the server, which changes with a rename.
var cloakedSettings = regexp.MustCompile(`(?m)^\$(wgDBserver|wgDBname|wgDBuser|wgDBpassword|wgServer)\s*=.*$`)

// configFileEnv is how MediaWiki 1.38+ reads the settings path from the
// environment (or a FastCGI parameter), in includes/BootstrapHelperFunctions.php.
const configFileEnv = "getenv( 'MW_CONFIG_FILE' )"

// VerifyPlatform makes the codebase at root serve many wikis: it replaces
// the platform LocalSettings.php (Debian's is a link into /var/lib/mediawiki)
// with a loader of sites/<AEGIR_SITE>/LocalSettings.php and creates sites/.
// A LocalSettings.php file of anyone else is left alone and is an error: it
// may be a live wiki's settings.
func (m *MediaWiki) VerifyPlatform(ctx context.Context, root string) error {
	if _, ok := m.Detect(root); !ok {
		return aegir.FieldErrorf("root", "%s is not a MediaWiki codebase (no includes/Defines.php)", root)
	}
	path := filepath.Join(root, "LocalSettings.php")
	loader, err := files.ReadFile("files/LocalSettings.php")
	if err != nil {
		return err
	}
	// A rename replaces Debian's link itself, never the file it points to.
	err = phpfile.WriteIfOurs(path, loader, 0o644, loaderMarker)
	if errors.Is(err, phpfile.ErrForeign) {
		return aegir.FieldErrorf("root", "%s is not aegir's platform loader: move it away (each wiki's settings belong in sites/<uri>/LocalSettings.php)", path)
	} else if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, "sites"), 0o755); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(root, "includes", "BootstrapHelperFunctions.php")); err != nil || !bytes.Contains(b, []byte(configFileEnv)) {
		m.infof("this MediaWiki ignores MW_CONFIG_FILE from the web server: its wikis load through the platform loader %s", path)
	}
	m.infof("wrote the MediaWiki platform loader %s", path)
	return nil
}

// WriteSettings writes the wiki's aegir.settings.php (mode 0440): cloaked
// database credentials, the server URL, uploads in the site directory and
// the login-link hook. Once the wiki is installed it also makes sure its
// LocalSettings.php holds no credentials and requires aegir.settings.php
// last. Before the install there is no LocalSettings.php and only
// aegir.settings.php is written.
func (m *MediaWiki) WriteSettings(ctx context.Context, s *aegir.AppSite) error {
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return err
	}
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	err := settingsTemplate.Execute(&buf, map[string]any{
		"URI":             s.URI,
		"URL":             strings.TrimRight(s.URL, "/"),
		"UploadDirectory": filepath.Join(s.SiteDir, "files"),
		"UploadPath":      "/sites/" + s.URI + "/files",
		"Extensions":      phpfile.SiteBlock(s.Custom, s.SettingsIncludes),
	})
	if err != nil {
		return err
	}
	if err := phpfile.Write(filepath.Join(s.SiteDir, aegirSettings), buf.Bytes(), 0o440, s.WebGroup); err != nil {
		return err
	}
	return m.cloak(s)
}

// cloak rewrites an installed wiki's LocalSettings.php, when needed, so it
// holds no database credentials and requires aegir.settings.php last.
func (m *MediaWiki) cloak(s *aegir.AppSite) error {
	path := filepath.Join(s.SiteDir, m.SettingsFile())
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	text := cloakedSettings.ReplaceAllString(string(old), "# $$$1 is set in "+aegirSettings)
	if !strings.Contains(text, requireLine) {
		text = strings.TrimRight(text, "\n") + "\n\n# aegir's settings: the database, the server, uploads and login links.\n" + requireLine + "\n"
	}
	if text == string(old) {
		return nil
	}
	return phpfile.Write(path, []byte(text), 0o440, s.WebGroup)
}
