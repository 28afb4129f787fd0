package drupal

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"text/template"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

//go:embed files
var files embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"php":         phpfile.Quote,
	"hostPattern": hostPattern,
}).ParseFS(files, "files/*.tmpl"))

// settingsData is what the settings templates are rendered with.
type settingsData struct {
	URI      string
	HashSalt string
	Hosts    []string // the URI and its aliases
	// Private, Temp and ConfigSync are the private files, temporary and
	// config sync directories: under the site's PrivateDir when it has
	// one, else under sites/<uri>/private (relative to the root, as Drupal
	// takes them).
	Private, Temp, ConfigSync string
	// Extensions sets $aegir_custom and includes the settings files of
	// the user's own, local.settings.php last (phpfile.SiteBlock).
	Extensions string
}

var (
	d7Salt = regexp.MustCompile(`\$drupal_hash_salt\s*=\s*'([^'\\]+)'\s*;`)
	d8Salt = regexp.MustCompile(`\$settings\[\s*'hash_salt'\s*\]\s*=\s*'([^'\\]+)'\s*;`)
)

// WriteSettings writes sites/<uri>/settings.php, 0440, and the site's
// aliases in sites/sites.php. The database settings read the cloaked
// db_* parameters from $_SERVER (FastCGI) or the environment (command
// line), so the file never holds a password. The hash salt of an existing
// settings.php is kept, so one-time links and sessions survive a verify.
func (d *Drupal) WriteSettings(ctx context.Context, s *aegir.AppSite) error {
	if err := checkSite(s); err != nil {
		return err
	}
	_, major, ok := detect(s.Root)
	if !ok {
		return errNoDrupal(s.Root)
	}
	path := filepath.Join(siteDir(s), d.SettingsFile())
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	b, err := renderSettings(s, major, old)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(siteDir(s), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", siteDir(s), err)
	}
	if err := phpfile.WriteKeepingGroup(path, b, 0o440); err != nil {
		return err
	}
	return writeSitesPHP(s.Root, s.URI, s.Aliases)
}

// renderSettings renders the settings of a site for a Drupal of that major
// version, keeping the hash salt found in old when there is one.
func renderSettings(s *aegir.AppSite, major int, old []byte) ([]byte, error) {
	data := settingsData{URI: s.URI, HashSalt: existingSalt(old), Hosts: []string{s.URI},
		Extensions: phpfile.SiteBlock(s.Custom, s.SettingsIncludes)}
	data.Private, data.Temp, data.ConfigSync = privatePaths(s)
	for _, a := range s.Aliases {
		if a != s.URI && !slices.Contains(data.Hosts, a) {
			data.Hosts = append(data.Hosts, a)
		}
	}
	if data.HashSalt == "" {
		salt, err := randomKey()
		if err != nil {
			return nil, err
		}
		data.HashSalt = salt
	}
	name := "settings8.php.tmpl"
	if major == 7 {
		name = "settings7.php.tmpl"
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// privatePaths are the site's private files, temporary and config sync
// directories as its settings name them: the private directory, under the
// site's PrivateDir or sites/<uri>/private, with temp/ and config/sync/ in
// it. The two are laid out alike so that a backup's private/ is the
// private directory itself, moved in or out in one rename.
func privatePaths(s *aegir.AppSite) (private, temp, sync string) {
	base := "sites/" + s.URI + "/private"
	if s.PrivateDir != "" {
		base = s.PrivateDir
	}
	return base, base + "/temp", base + "/config/sync"
}

// existingSalt returns the hash salt of a Drupal 7 or 8+ settings file.
func existingSalt(b []byte) string {
	for _, re := range []*regexp.Regexp{d7Salt, d8Salt} {
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	return ""
}

// randomKey returns 32 random bytes in URL-safe base64, as Drupal's own
// drupal_random_key() does.
func randomKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hostPattern is the trusted_host_patterns entry matching exactly host.
func hostPattern(host string) string {
	return "^" + strings.ReplaceAll(host, ".", `\.`) + "$"
}

// sitesLine matches one alias line of sites/sites.php.
var sitesLine = regexp.MustCompile(`^\s*\$sites\[\s*'([^'\\]*)'\s*\]\s*=\s*'([^'\\]*)'\s*;\s*$`)

// writeSitesPHP makes sites/sites.php map each alias to uri: the lines of
// uri, and any line for one of its aliases, are replaced; every other line
// is kept as it is. With an empty uri it only makes sure the file exists.
// Aliases are validated domain names, so they never need escaping.
func writeSitesPHP(root, uri string, aliases []string) error {
	sitesDir := filepath.Join(root, "sites")
	unlock, err := lockDir(sitesDir)
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(sitesDir, "sites.php")
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		old = nil
	} else if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var out bytes.Buffer
	if len(bytes.TrimSpace(old)) == 0 {
		header, err := files.ReadFile("files/sites.php")
		if err != nil {
			return err
		}
		out.Write(header)
	} else {
		mine := map[string]bool{}
		for _, a := range aliases {
			mine[a] = true
		}
		for _, line := range strings.SplitAfter(string(old), "\n") {
			if m := sitesLine.FindStringSubmatch(strings.TrimRight(line, "\r\n")); m != nil && uri != "" && (m[2] == uri || mine[m[1]]) {
				continue
			}
			out.WriteString(line)
		}
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
	}
	if uri != "" {
		for _, a := range aliases {
			if a == uri {
				continue
			}
			fmt.Fprintf(&out, "$sites[%s] = %s;\n", phpfile.Quote(a), phpfile.Quote(uri))
		}
	}
	if old != nil && bytes.Equal(old, out.Bytes()) {
		return nil
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	return phpfile.WriteKeepingGroup(path, out.Bytes(), mode)
}

// RemoveAliases removes every alias of uri from the platform's
// sites/sites.php, leaving the other sites' lines. A site delete calls it.
func RemoveAliases(root, uri string) error {
	if err := aegir.ValidateURI("uri", uri); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "sites", "sites.php")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return writeSitesPHP(root, uri, nil)
}

// DeleteSite removes what the driver wrote outside the site directory: the
// site's lines in sites/sites.php. The site directory itself is the
// caller's to remove.
func (d *Drupal) DeleteSite(ctx context.Context, s *aegir.AppSite) error {
	if err := checkSite(s); err != nil {
		return err
	}
	return RemoveAliases(s.Root, s.URI)
}

// lockDir takes an exclusive advisory lock on a directory, so two tasks on
// sites of one platform never rewrite sites/sites.php at the same time.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

var _ aegir.App = (*Drupal)(nil)
