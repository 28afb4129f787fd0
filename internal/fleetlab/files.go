//go:build linux

package fleetlab

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// upper is a server's overlay upper directory: every file the server
// writes lands here, and what is made here before the mount is what the
// server has that the host has not.
type upper string

// path returns the upper's copy of the server's absolute path p.
func (u upper) path(p string) string { return filepath.Join(string(u), p) }

// mkdir makes the server's directory p with mode and owner, and the
// directories above it as the host has them (an upper directory's own
// mode and owner win over the host's in the merged view).
func (u upper) mkdir(p string, mode os.FileMode, uid, gid int) error {
	p = filepath.Clean("/" + p)
	if p == "/" {
		return nil
	}
	if err := u.mkdirLikeHost(filepath.Dir(p)); err != nil {
		return err
	}
	dst := u.path(p)
	if err := os.Mkdir(dst, mode); err != nil && !os.IsExist(err) {
		return err
	}
	if err := os.Chmod(dst, mode); err != nil {
		return err
	}
	return os.Lchown(dst, uid, gid)
}

// mkdirLikeHost makes the server's directory p and those above it with
// the host's mode and owner (root 0755 where the host has none).
func (u upper) mkdirLikeHost(p string) error {
	p = filepath.Clean("/" + p)
	if p == "/" {
		return nil
	}
	if _, err := os.Lstat(u.path(p)); err == nil {
		return nil
	}
	mode, uid, gid := os.FileMode(0o755), 0, 0
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		st := fi.Sys().(*syscall.Stat_t)
		mode, uid, gid = fi.Mode()&(os.ModePerm|os.ModeSticky|os.ModeSetgid), int(st.Uid), int(st.Gid)
	}
	return u.mkdir(p, mode, uid, gid)
}

// hide makes the server's directory p empty whatever the host has there:
// an opaque directory of the overlay.
func (u upper) hide(p string, mode os.FileMode, uid, gid int) error {
	if err := u.mkdir(p, mode, uid, gid); err != nil {
		return err
	}
	return unix.Setxattr(u.path(p), "trusted.overlay.opaque", []byte("y"), 0)
}

// remove makes the server's path p absent whatever the host has there: a
// whiteout of the overlay (a 0/0 character device).
func (u upper) remove(p string) error {
	if err := u.mkdirLikeHost(filepath.Dir(p)); err != nil {
		return err
	}
	if err := os.RemoveAll(u.path(p)); err != nil { // e.g. hidden by Options.Hide
		return err
	}
	return unix.Mknod(u.path(p), unix.S_IFCHR, 0)
}

// write writes the server's file p, owned by root.
func (u upper) write(p string, data string, mode os.FileMode) error {
	if err := u.mkdirLikeHost(filepath.Dir(p)); err != nil {
		return err
	}
	if err := os.WriteFile(u.path(p), []byte(data), mode); err != nil {
		return err
	}
	return os.Chmod(u.path(p), mode)
}

// symlink makes the server's path p a symbolic link to target.
func (u upper) symlink(target, p string) error {
	if err := u.mkdirLikeHost(filepath.Dir(p)); err != nil {
		return err
	}
	return os.Symlink(target, u.path(p))
}

// newHostKey returns a new ed25519 host key as sshd reads it (OpenSSH
// PEM) and its public half.
func newHostKey(comment string) ([]byte, ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), sshPub, nil
}

// sshdConfig is every server's sshd configuration: keys only, root by key,
// and PAM so that a locked account (the aegir user, as adduser --system
// makes it) may log in by key.
const sshdConfig = `Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
UsePAM yes
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u
UseDNS no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp /usr/lib/openssh/sftp-server
`

// myCnf is a db server's whole MariaDB configuration: bound to the
// server's address, with a small buffer pool and redo log (also given to
// mariadb-install-db for the template, so the datadir fits).
const myCnf = `[client-server]
socket = /run/mysqld/mysqld.sock
[mysqld]
user = mysql
pid-file = /run/mysqld/mysqld.pid
datadir = /var/lib/mysql
bind-address = %s
port = 3306
skip-name-resolve
log-error = /var/log/mysql/error.log
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
innodb_temp_data_file_path = ibtmp1:1M:autoextend
performance_schema = OFF
`

// prepare makes the server's upper directory: its sshd, names, hidden
// directories and role's configuration.
func (s *Server) prepare(opts *Options, hosts string) error {
	u := s.upper
	www, err := lookupIDs("www-data")
	if err != nil {
		return err
	}
	mysql := ids{}
	if s.Role == RoleDB {
		if mysql, err = lookupIDs("mysql"); err != nil {
			return err
		}
	}
	// Hidden: what the host (the master) has there is not the server's.
	hidden := []dir{
		{"/run", 0o755, 0, 0}, {"/tmp", 0o1777 | os.ModeSticky, 0, 0}, {"/root", 0o700, 0, 0},
		{"/var/log", 0o755, 0, 0}, {"/var/www", 0o755, 0, 0}, {"/var/lib/mysql", 0o755, mysql.uid, mysql.gid},
		{"/etc/nginx/conf.d", 0o755, 0, 0}, {"/etc/nginx/sites-enabled", 0o755, 0, 0},
		{"/etc/apache2/sites-enabled", 0o755, 0, 0}, {"/etc/sudoers.d", 0o750, 0, 0},
		{baseDir, 0o755, 0, 0},
	}
	if tmp := filepath.Clean(os.TempDir()); tmp != "/" {
		hidden = append(hidden, dir{tmp, 0o1777 | os.ModeSticky, 0, 0})
	}
	for _, p := range opts.Hide {
		hidden = append(hidden, dir{p, 0o755, 0, 0})
	}
	for _, d := range hidden {
		if under(d.path, hidden) {
			continue // hidden with the directory above it
		}
		if err := u.hide(d.path, d.mode, d.uid, d.gid); err != nil {
			return fmt.Errorf("hide %s: %v", d.path, err)
		}
	}
	dirs := []dir{
		{"/etc/ssh/authorized_keys", 0o755, 0, 0}, {"/run/sshd", 0o755, 0, 0}, {"/run/lock", 0o1777 | os.ModeSticky, 0, 0},
		{"/run/php", 0o755, www.uid, www.gid}, {"/run/mysqld", 0o755, mysql.uid, mysql.gid},
		{"/var/log/nginx", 0o755, 0, 0}, {"/var/log/apache2", 0o750, 0, 0}, {"/var/log/mysql", 0o750, mysql.uid, mysql.gid},
		{"/run/apache2", 0o755, 0, 0}, {"/run/lock/apache2", 0o755, www.uid, www.gid},
	}
	for _, d := range dirs {
		if err := u.mkdir(d.path, d.mode, d.uid, d.gid); err != nil {
			return fmt.Errorf("mkdir %s: %v", d.path, err)
		}
	}
	// The aegir user as Aegir's install guide makes it: the host's when it
	// has one, else a new system user; in the web group; owner of its home.
	// A raw server has none.
	acc, err := readAccounts()
	if err != nil {
		return err
	}
	if opts.AegirUser {
		aegir, ok := acc.ids("aegir")
		if !ok {
			if aegir, err = acc.addUser("aegir", "/var/aegir", "/bin/bash"); err != nil {
				return err
			}
		}
		if err := acc.addToGroup("aegir", "www-data"); err != nil {
			return err
		}
		if err := u.hide("/var/aegir", 0o755, aegir.uid, aegir.gid); err != nil {
			return err
		}
	} else {
		acc.removeUser("aegir")
		if err := u.remove("/var/aegir"); err != nil {
			return fmt.Errorf("remove /var/aegir: %v", err)
		}
	}
	if err := acc.write(u); err != nil {
		return fmt.Errorf("accounts: %v", err)
	}
	key, pub, err := newHostKey("fleetlab-" + s.Name)
	if err != nil {
		return err
	}
	s.HostKey = pub
	authorized := string(ssh.MarshalAuthorizedKey(opts.AuthorizedKey))
	files := []file{
		{"/etc/ssh/ssh_host_ed25519_key", string(key), 0o600},
		// sshd checks the key against its .pub beside it (else the host's).
		{"/etc/ssh/ssh_host_ed25519_key.pub", string(ssh.MarshalAuthorizedKey(pub)), 0o644},
		{"/etc/ssh/sshd_config", sshdConfig, 0o644},
		{"/etc/ssh/authorized_keys/root", authorized, 0o644},
		{"/etc/hosts", "127.0.0.1 localhost " + s.Name + "\n" + hosts, 0o644},
		// No DNS server: a lookup fails at once instead of hanging.
		{"/etc/resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n", 0o644},
		{"/etc/hostname", s.Name + "\n", 0o644},
	}
	if opts.AegirUser {
		files = append(files,
			file{"/etc/ssh/authorized_keys/aegir", authorized, 0o644},
			file{"/etc/sudoers.d/aegir", sudoRule(s.HTTP), 0o440})
	}
	if s.Role == RoleDB {
		files = append(files, file{"/etc/mysql/my.cnf", fmt.Sprintf(myCnf, s.Addr), 0o644})
	}
	for _, f := range files {
		if err := u.write(f.path, f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %v", f.path, err)
		}
	}
	if s.Role == RoleWeb && s.HTTP == HTTPApache {
		return enableApacheModules(u)
	}
	return nil
}

// dir is a directory of a server's upper directory.
type dir struct {
	path     string
	mode     os.FileMode
	uid, gid int
}

// under reports whether p is inside (not equal to) one of the dirs.
func under(p string, dirs []dir) bool {
	for _, d := range dirs {
		if rel, err := filepath.Rel(d.path, p); err == nil && rel != "." && filepath.IsLocal(rel) {
			return true
		}
	}
	return false
}

// file is a file of a server's upper directory.
type file struct {
	path, data string
	mode       os.FileMode
}

// sudoRule lets the aegir user test and reload the web server, nothing
// else, with the commands `aegir setup` allows (aegir's defaults, run
// through sudo -n).
func sudoRule(http string) string {
	cmds := []string{"/usr/sbin/apache2ctl configtest", "/usr/sbin/apache2ctl graceful"}
	if http != HTTPApache {
		reload := aegir.NginxRestartCmd()
		reload[0] = "/usr/sbin/" + reload[0]
		cmds = []string{"/usr/sbin/nginx -t", strings.Join(reload, " ")}
	}
	return "aegir ALL=(root) NOPASSWD: " + strings.Join(cmds, ", ") + "\n"
}

// enableApacheModules enables, as a2enmod does, the modules aegir's Apache
// driver needs that Debian does not enable by default.
func enableApacheModules(u upper) error {
	mpm, _ := filepath.Glob("/etc/apache2/mods-enabled/mpm_*.load")
	for _, m := range teststack.ApacheModules {
		if strings.HasPrefix(m, "mpm_") && len(mpm) > 0 {
			continue // one MPM only: keep the one the host enables
		}
		for _, ext := range []string{".load", ".conf"} {
			name := m + ext
			if _, err := os.Stat("/etc/apache2/mods-available/" + name); err != nil {
				if ext == ".load" {
					return fmt.Errorf("apache2 module %s is not installed", m)
				}
				continue
			}
			if _, err := os.Lstat("/etc/apache2/mods-enabled/" + name); err == nil {
				continue
			}
			if err := u.symlink("../mods-available/"+name, "/etc/apache2/mods-enabled/"+name); err != nil {
				return err
			}
		}
	}
	return nil
}

// ids are a host user's uid and its group's gid.
type ids struct{ uid, gid int }

// lookupIDs returns a system user's ids on the host, which are also the
// servers' (the host's /etc/passwd is the overlay's lower layer).
func lookupIDs(name string) (ids, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return ids{}, fmt.Errorf("the host has no user %s (is its package installed?): %v", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return ids{}, fmt.Errorf("user %s: ids %s:%s are not numbers", name, u.Uid, u.Gid)
	}
	return ids{uid, gid}, nil
}
