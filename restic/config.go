package restic

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/aegir-hosting/aegir"
)

// Config is the off-site target, $AEGIR_HOME/offsite.yml. One target
// serves the whole master: every server's sites go to it, tagged by site.
type Config struct {
	// Repository is s3:http[s]://host[:port]/bucket[/prefix],
	// sftp:user@host:/path or sftp://user@host[:port]//path.
	Repository string `yaml:"repository"`
	// KeyFile holds the repository's key; default offsite.key beside
	// offsite.yml.
	KeyFile string `yaml:"key_file,omitempty"`
	// S3AccessKeyID and S3SecretAccessKey are the S3 credentials.
	S3AccessKeyID     string `yaml:"s3_access_key_id,omitempty"`
	S3SecretAccessKey string `yaml:"s3_secret_access_key,omitempty"`
	// SSHIdentity and SSHKnownHosts are the private key and known_hosts
	// file ssh uses for an SFTP target; empty takes ssh's defaults.
	SSHIdentity   string `yaml:"ssh_identity,omitempty"`
	SSHKnownHosts string `yaml:"ssh_known_hosts,omitempty"`
	// Keep is the retention of each site's snapshots, applied after each
	// upload; zero fields take DefaultKeep's.
	aegir.Keep `yaml:",inline"`
}

// DefaultKeep is the retention of off-site snapshots when offsite.yml
// says none: the local backups' defaults, and a year of months.
var DefaultKeep = aegir.Keep{Daily: 7, Weekly: 4, Monthly: 12}

// ConfigFile and KeyFile are where the settings and the key live.
func ConfigFile(p aegir.Paths) string { return filepath.Join(p.Home, "offsite.yml") }

// KeyFile returns where the repository's key is kept by default.
func KeyFile(p aegir.Paths) string { return filepath.Join(p.Home, "offsite.key") }

var (
	hostPattern   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`)
	userPattern   = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,62}(/[A-Za-z0-9._-]+)*$`)
	// remotePath is a path on an SFTP server: absolute, plain characters
	// (restic and ssh split what they are given on white space).
	remotePath = regexp.MustCompile(`^/[A-Za-z0-9._/-]*$`)
	localPath  = regexp.MustCompile(`^/[A-Za-z0-9._/+@-]*$`)
)

// target is a parsed repository address.
type target struct {
	kind string // s3 or sftp
	user string
	host string
	port int
	path string
}

// ValidateRepository checks a repository address (field names the
// setting) and returns it parsed.
func parseRepository(field, repo string) (*target, error) {
	switch {
	case strings.HasPrefix(repo, "s3:"):
		u, err := url.Parse(strings.TrimPrefix(repo, "s3:"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, aegir.FieldErrorf(field, "%q is not s3:http[s]://host[:port]/bucket (credentials go in s3_access_key_id and s3_secret_access_key)", repo)
		}
		host, port, err := splitPort(u.Host)
		if err != nil || !hostPattern.MatchString(host) {
			return nil, aegir.FieldErrorf(field, "%q has no valid host", repo)
		}
		bucket := strings.Trim(u.Path, "/")
		if !bucketPattern.MatchString(bucket) {
			return nil, aegir.FieldErrorf(field, "%q names no valid bucket (lowercase letters, digits, dots and dashes)", repo)
		}
		return &target{kind: "s3", host: host, port: port, path: bucket}, nil
	case strings.HasPrefix(repo, "sftp://"):
		u, err := url.Parse(repo)
		if err != nil || u.User == nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, aegir.FieldErrorf(field, "%q is not sftp://user@host[:port]//path", repo)
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			return nil, aegir.FieldErrorf(field, "%q holds a password: SFTP targets log in by key (ssh_identity)", repo)
		}
		host, port, err := splitPort(u.Host)
		if err != nil {
			return nil, aegir.FieldErrorf(field, "%q: %v", repo, err)
		}
		return checkSFTP(field, repo, u.User.Username(), host, port, strings.TrimPrefix(u.Path, "/"))
	case strings.HasPrefix(repo, "sftp:"):
		rest := strings.TrimPrefix(repo, "sftp:")
		at := strings.IndexByte(rest, '@')
		colon := strings.IndexByte(rest, ':')
		if at < 0 || colon < at {
			return nil, aegir.FieldErrorf(field, "%q is not sftp:user@host:/path", repo)
		}
		return checkSFTP(field, repo, rest[:at], rest[at+1:colon], 0, rest[colon+1:])
	}
	return nil, aegir.FieldErrorf(field, "%q is neither an S3 (s3:http[s]://host/bucket) nor an SFTP (sftp:user@host:/path) repository", repo)
}

func checkSFTP(field, repo, user, host string, port int, path string) (*target, error) {
	if !userPattern.MatchString(user) {
		return nil, aegir.FieldErrorf(field, "%q: %q is not a valid user name", repo, user)
	}
	if !hostPattern.MatchString(host) {
		return nil, aegir.FieldErrorf(field, "%q: %q is not a valid host", repo, host)
	}
	if !remotePath.MatchString(path) || strings.Contains(path, "..") {
		return nil, aegir.FieldErrorf(field, "%q: the path must be absolute, of letters, digits and ._/-", repo)
	}
	return &target{kind: "sftp", user: user, host: host, port: port, path: path}, nil
}

func splitPort(hostport string) (string, int, error) {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport, 0, nil // no port
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a port number", p)
	}
	return host, port, nil
}

// Validate checks the settings, naming the field at fault.
func (c *Config) Validate() error {
	if _, err := parseRepository("repository", c.Repository); err != nil {
		return err
	}
	for _, f := range []struct{ name, path string }{
		{"key_file", c.KeyFile}, {"ssh_identity", c.SSHIdentity}, {"ssh_known_hosts", c.SSHKnownHosts},
	} {
		if f.path != "" && (!localPath.MatchString(f.path) || strings.Contains(f.path, "..")) {
			return aegir.FieldErrorf(f.name, "%q must be an absolute path of letters, digits and ._/+@-", f.path)
		}
	}
	if (c.S3AccessKeyID == "") != (c.S3SecretAccessKey == "") {
		return aegir.FieldErrorf("s3_secret_access_key", "give both s3_access_key_id and s3_secret_access_key, or neither")
	}
	for name, n := range map[string]int{"keep_daily": c.Daily, "keep_weekly": c.Weekly, "keep_monthly": c.Monthly} {
		if n < 0 || n > 10000 {
			return aegir.FieldErrorf(name, "%d is not between 0 and 10000", n)
		}
	}
	return nil
}

// LoadConfig reads offsite.yml; it returns nil and no error when there is
// none (no off-site target is configured). A file others may read is
// refused: it holds credentials.
func LoadConfig(p aegir.Paths) (*Config, error) {
	file := ConfigFile(p)
	st, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, aegir.Errorf(aegir.EINVALID, "%s is readable by others (%v): chmod 600 it", file, st.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "%s: %v", file, err)
	}
	if c.KeyFile == "" {
		c.KeyFile = KeyFile(p)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &c, nil
}

// SaveConfig writes offsite.yml, 0600, replacing it whole.
func SaveConfig(p aegir.Paths, c *Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return writeSecret(ConfigFile(p), b)
}

// NewKey makes a repository key: 32 random bytes, base64.
func NewKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// WriteKey stores a key at path, 0600; an existing key is never
// replaced: the repository it opens would be lost.
func WriteKey(path, key string) error {
	if _, err := os.Stat(path); err == nil {
		return aegir.Errorf(aegir.ECONFLICT, "%s exists: it holds the key of a repository, keep it (remove it by hand only if that repository is gone)", path)
	}
	return writeSecret(path, []byte(key+"\n"))
}

// writeSecret writes a file 0600 through a temporary file, so a reader
// never sees half of it.
func writeSecret(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
