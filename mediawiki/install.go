package mediawiki

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

// loginTTL is how long a login link stays valid.
const loginTTL = 24 * time.Hour

// loginFile holds a login token's hash, relative to the site directory.
var loginFile = filepath.Join("private", "aegir-login.json")

// languagePattern is what a MediaWiki language code looks like.
var languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{1,8})*$`)

// Install runs maintenance/install.php for the wiki: title the site's URI,
// the admin account admin (MediaWiki capitalises it), the wiki's address
// s.URL, its LocalSettings.php written in the site directory. The database
// and admin passwords reach the installer in 0600 temporary files, removed
// afterwards. The generated LocalSettings.php is then cloaked: its
// credentials are removed and it requires aegir.settings.php.
func (m *MediaWiki) Install(ctx context.Context, s *aegir.AppSite, admin aegir.Admin) error {
	if m.env.Runner == nil {
		return aegir.Errorf(aegir.EINTERNAL, "mediawiki: no runner")
	}
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return err
	}
	if s.DB == nil || s.DB.Name == "" {
		return aegir.Errorf(aegir.EINVALID, "mediawiki site %s has no database", s.URI)
	}
	lang := s.Language
	if lang == "" {
		lang = "en"
	}
	if !languagePattern.MatchString(lang) {
		return aegir.FieldErrorf("language", "%q is not a MediaWiki language code", lang)
	}
	settings := filepath.Join(s.SiteDir, m.SettingsFile())
	if _, err := os.Stat(settings); err == nil {
		return aegir.Errorf(aegir.ECONFLICT, "%s exists: the wiki is already installed", settings)
	}
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		return err
	}
	dbPass, err := secretFile(s.DB.Password)
	if err != nil {
		return err
	}
	defer os.Remove(dbPass)
	adminPass, err := secretFile(admin.Password)
	if err != nil {
		return err
	}
	defer os.Remove(adminPass)

	dbType := "mysql"
	if s.DB.Type == "pgsql" {
		dbType = "postgres"
	}
	args := []string{"php", "maintenance/install.php",
		"--dbtype=" + dbType,
		"--dbserver=" + s.DB.Host + ":" + strconv.Itoa(s.DB.Port),
		"--dbname=" + s.DB.Name,
		"--dbuser=" + s.DB.User,
		"--dbpassfile=" + dbPass,
		"--passfile=" + adminPass,
		"--server=" + strings.TrimRight(s.URL, "/"),
		"--scriptpath=",
		"--lang=" + lang,
		"--confpath=" + s.SiteDir,
		s.URI, admin.Name,
	}
	stdout, err := m.env.Runner.Run(ctx, aegir.Command{
		Args: args,
		Dir:  s.Root,
		// MW_CONFIG_FILE names the wiki's own settings, still missing: the
		// installer must not take the platform loader for an installed wiki.
		Env: append(s.DB.Env(), m.siteEnv(s)...),
	})
	if err != nil {
		return installError(s.URI, err, stdout)
	}
	if _, err := os.Stat(settings); err != nil {
		return fmt.Errorf("install mediawiki site %s: the installer wrote no %s: %s", s.URI, settings, lastLine(stdout))
	}
	if err := m.WriteSettings(ctx, s); err != nil {
		return err
	}
	m.infof("installed MediaWiki site %s, admin %s", s.URL, admin.Name)
	return nil
}

// siteEnv is the environment of a PHP run for the wiki, beside its database
// credentials: what the web server passes as parameters.
func (m *MediaWiki) siteEnv(s *aegir.AppSite) []string {
	var env []string
	for _, p := range m.Params(s) {
		env = append(env, p.Name+"="+p.Value)
	}
	return env
}

// installError makes the error of a failed install.php: the installer
// tells why on the last line of its standard output ("Cannot access the
// database: ... Access denied ..."), which is the message, with the exit
// status. When the runner's error carries something else (PHP's standard
// error: a fatal error), that is kept too.
func installError(uri string, err error, stdout []byte) error {
	last := lastLine(stdout)
	if last == "" || !strings.Contains(err.Error(), last) {
		if last != "" {
			return fmt.Errorf("install mediawiki site %s: %w (last output: %s)", uri, err, last)
		}
		return fmt.Errorf("install mediawiki site %s: %w", uri, err)
	}
	cause := errors.Unwrap(err)
	if cause == nil {
		cause = err
	}
	return fmt.Errorf("install mediawiki site %s: %s (%w)", uri, last, cause)
}

// lastLine is the last non-blank line of a command's output.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// secretFile writes secret to a new 0600 temporary file and returns its
// path, for a command that reads a password from a file.
func secretFile(secret string) (string, error) {
	f, err := os.CreateTemp("", "aegir-secret-*")
	if err != nil {
		return "", err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if _, err := f.WriteString(secret); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// LoginLink makes a one-time login link for the wiki's first
// administrator, valid for a day: the token's sha256 and expiry go to
// private/aegir-login.json, which the hook of aegir.settings.php checks and
// deletes.
func (m *MediaWiki) LoginLink(ctx context.Context, s *aegir.AppSite) (string, error) {
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(s.SiteDir, m.SettingsFile())); err != nil {
		return "", aegir.Errorf(aegir.ENOTFOUND, "mediawiki site %s is not installed: %v", s.URI, err)
	}
	gid, err := phpfile.GroupID(s.WebGroup)
	if err != nil {
		return "", err
	}
	private := filepath.Join(s.SiteDir, "private")
	if _, err := os.Stat(private); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(private, 0o770); err != nil {
			return "", err
		}
		if gid >= 0 {
			if err := os.Chown(private, -1, gid); err != nil {
				return "", fmt.Errorf("chgrp %s: %w", private, err)
			}
		}
		// 02770: Go spells the setgid bit os.ModeSetgid (0o2000 would be
		// dropped), and Chmod, unlike Mkdir, ignores the umask.
		if err := os.Chmod(private, 0o770|os.ModeSetgid); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	data, err := json.Marshal(map[string]any{
		"hash":    hex.EncodeToString(sum[:]),
		"expires": time.Now().Add(loginTTL).Unix(),
	})
	if err != nil {
		return "", err
	}
	// PHP, as the web server's user, reads and deletes the file.
	if err := phpfile.Write(filepath.Join(s.SiteDir, loginFile), data, 0o660, s.WebGroup); err != nil {
		return "", err
	}
	return strings.TrimRight(s.URL, "/") + "/index.php?aegir_login=" + token, nil
}
