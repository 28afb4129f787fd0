package aegir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
)

// SiteUserPrefix begins the name of every Unix user a site's PHP runs as.
// The privileged helper (aegir site-user) touches no other user.
const SiteUserPrefix = "s-"

// siteUserPattern is a site user's name: the prefix and 12 hex digits,
// 14 characters, well within Linux's 32.
var siteUserPattern = regexp.MustCompile(`^s-[0-9a-f]{12}$`)

// SiteUser returns the Unix user (and group) the PHP of the site uri runs
// as when its server gives each site its own php-fpm pool: "s-" and the
// first 12 hex digits of the SHA-256 of the URI. It is derived, never
// chosen, so every task and every server names the same user, and a
// renamed site gets another.
func SiteUser(uri string) string {
	sum := sha256.Sum256([]byte(uri))
	return SiteUserPrefix + hex.EncodeToString(sum[:])[:12]
}

// ValidateSiteUser reports why name is not a site user's name.
func ValidateSiteUser(field, name string) error {
	if !siteUserPattern.MatchString(name) {
		return FieldErrorf(field, "%q is not a site user (%s and 12 hex digits)", name, SiteUserPrefix)
	}
	return nil
}

// PHPPoolDir is where the php-fpm pools of the server's sites are written:
// config/<server>/php-fpm, which the system php-fpm includes.
func (p Paths) PHPPoolDir(server string) string {
	return filepath.Join(p.ServerConfig(server), "php-fpm")
}

// PHPPoolSocket is the socket of the pool of user on server s: beside the
// server's shared socket (php_fpm_socket), aegir-<user>.sock.
func (s *Server) PHPPoolSocket(user string) string {
	return filepath.Join(filepath.Dir(s.PHPFPMSocket), "aegir-"+user+".sock")
}

// PHPPool is one site's php-fpm pool: its PHP runs as User (user and
// group), may open files under Root (the platform), SiteDir and TempDir
// only (open_basedir), and listens on Socket, which only the web server
// may open.
type PHPPool struct {
	User    string
	Root    string
	SiteDir string
	TempDir string
	// PrivateDir is the site's private directory outside the root
	// (AppSite.PrivateDir), "" when it has none.
	PrivateDir string
	Socket     string
}

// PHPPools is an HTTPService that can run each site's PHP in a pool of its
// own. Pools are written, tested and reloaded as vhosts are: changes made
// at the same time share one test and one reload, and a pool php-fpm
// rejects is put back.
type PHPPools interface {
	// WritePool writes the pool of p.User, tests php-fpm's configuration
	// and reloads it; the returned Undo puts back the previous pool, or
	// removes it.
	WritePool(ctx context.Context, p *PHPPool) (Undo, error)
	// DeletePool removes the pool of user, tests and reloads; a missing
	// pool is not an error. The Undo writes it back.
	DeletePool(ctx context.Context, user string) (Undo, error)
}

// SiteUsers creates and removes the Unix users sites' PHP runs as, and
// gives a site's directory to its user's group. These need root: the back
// end, which runs as aegir, reaches them through a narrow privileged
// helper (aegir site-user, through sudo) that validates every argument.
type SiteUsers interface {
	// Ensure creates the user name (a ValidateSiteUser name) with a group
	// of the same name, when missing, and adds the web server's user
	// webUser to that group, so the web server reads the site's files. It
	// reports whether it created the user.
	Ensure(ctx context.Context, name, webUser string) (created bool, err error)
	// Own gives the site directory dir (sites/<uri> of a platform, owned
	// by the caller) to the group name: the directory 02750, everything in
	// it in the group, and the writable directories (relative to dir)
	// writable by the group.
	Own(ctx context.Context, name, dir string, writable []string) error
	// Remove removes the user name and its group; a missing one is not an
	// error.
	Remove(ctx context.Context, name string) error
}
