package drupal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/aegir-hosting/aegir"
)

// account1 is what Drupal's one-time login hash is made of: user 1's row.
type account1 struct {
	Pass   string
	Login  int64
	Mail   string
	Status int
}

// resetHash is Drupal's user_pass_rehash() of Drupal 7.x (7.50 and later)
// and 8+ alike: an HMAC-SHA256 of "timestamp:login:uid:mail" keyed with the
// hash salt followed by the password hash, in URL-safe base64 without
// padding (Crypt::hmacBase64, drupal_hmac_base64).
func resetHash(salt string, a account1, uid int, timestamp int64) string {
	mac := hmac.New(sha256.New, []byte(salt+a.Pass))
	fmt.Fprintf(mac, "%d:%d:%d:%s", timestamp, a.Login, uid, a.Mail)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// resetLink is user_pass_reset_url($account) . '/login' for user 1 of the
// site at url, made at timestamp.
func resetLink(url, salt string, a account1, timestamp int64) string {
	return fmt.Sprintf("%s/user/reset/1/%d/%s/login", url, timestamp, resetHash(salt, a, 1, timestamp))
}

// directLoginLink makes user 1's one-time login link as Drupal would, from
// the hash salt in the site's settings.php and user 1's row read from its
// database: no PHP, no Drupal bootstrap (drush user:login costs one, ~0.7 s
// on Drupal 10). ok is false when only Drupal can tell the salt: a
// local.settings.php may override it, a settings.php aegir did not write may
// compute it, and a database other than MySQL/MariaDB is not read here.
func (d *Drupal) directLoginLink(ctx context.Context, s *aegir.AppSite, major int) (link string, ok bool, err error) {
	if s.DB == nil || s.DB.Type != aegir.ServiceMySQL || s.DB.Name == "" {
		return "", false, nil
	}
	if exists(filepath.Join(siteDir(s), "local.settings.php")) {
		return "", false, nil
	}
	b, err := os.ReadFile(filepath.Join(siteDir(s), d.SettingsFile()))
	if err != nil {
		return "", false, err
	}
	salt := existingSalt(b)
	if salt == "" {
		return "", false, nil
	}
	a, err := readAccount1(ctx, s.DB, major)
	if err != nil {
		return "", true, fmt.Errorf("login link for %s: %w", s.URI, err)
	}
	if a.Status == 0 {
		return "", true, aegir.Errorf(aegir.EINVALID, "no login link: user 1 of %s is blocked", s.URI)
	}
	// Drupal takes a link whose timestamp is not before the last login and
	// not in the future.
	ts := max(time.Now().Unix(), a.Login)
	return resetLink(siteURL(s), salt, a, ts), true, nil
}

// readAccount1 reads user 1's password hash, last login, mail and status
// from the site's database, connecting as the site does: over TCP to its
// host and port, or through the server's socket for "localhost", as PHP's
// mysql drivers do.
func readAccount1(ctx context.Context, db *aegir.DBCredentials, major int) (account1, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = db.User, db.Password, db.Name
	cfg.Timeout = 10 * time.Second
	// Errors are returned; the driver must not print them.
	cfg.Logger = &mysql.NopLogger{}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(db.Host, strconv.Itoa(db.Port))
	if db.Host == "localhost" {
		cfg.Net, cfg.Addr = "unix", mysqlSocket()
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return account1{}, err
	}
	h := sql.OpenDB(conn)
	defer h.Close()
	// Drupal 8+ keeps the account's fields in users_field_data, one row
	// per translation: the default one is the account's own.
	q := "SELECT pass, login, mail, status FROM users_field_data WHERE uid = 1 AND default_langcode = 1"
	if major == 7 {
		q = "SELECT pass, login, mail, status FROM users WHERE uid = 1"
	}
	var pass, mail sql.NullString
	var login sql.NullInt64
	var a account1
	err = h.QueryRowContext(ctx, q).Scan(&pass, &login, &mail, &a.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return account1{}, aegir.Errorf(aegir.EINVALID, "the site has no user 1")
	}
	if err != nil {
		return account1{}, fmt.Errorf("read user 1 from %s: %w", db.Name, err)
	}
	a.Pass, a.Login, a.Mail = pass.String, login.Int64, mail.String
	return a, nil
}

// mysqlSocket is the MariaDB/MySQL server's socket, where Debian puts it.
func mysqlSocket() string {
	for _, p := range []string{"/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/run/mysqld/mysqld.sock"
}
