package ssh

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aegir-hosting/aegir"
	xssh "golang.org/x/crypto/ssh"
)

// Bootstrap is what aegir bootstrap needs to prepare one server.
type Bootstrap struct {
	Name   string        // the server context's name
	Server *aegir.Server // with defaults applied
	Paths  aegir.Paths   // the master's; the same paths are made there
	// RootLogin and RootKeyFile log in once as root (root, and the
	// master's own key, by default).
	RootLogin, RootKeyFile string
	// MasterKey is the key the aegir user will accept.
	MasterKey xssh.PublicKey
	// Log says what was done, one line each.
	Log func(format string, args ...any)
}

// adminUser is the MariaDB administrator bootstrap makes on a db server.
const adminUser = "aegir_root"

// Run prepares the server, idempotently, as Aegir's install guide does by
// hand: it pins the host key (learned now), checks and installs packages,
// makes the aegir user in the web group with the master's key, its home and
// config tree, the sudo rule for the web server's test and reload only
// (checked by visudo), the include link, and for a db server a MariaDB
// administrator, whose mysql:// URL it sets as the server's master_db. It
// is the only code that runs as root on a remote server.
func (b *Bootstrap) Run(ctx context.Context) error {
	t := TargetOf(b.Name, b.Server)
	t.User = b.RootLogin
	pool := &Pool{KeyFile: b.RootKeyFile, KnownHosts: b.Paths.KnownHosts(), Learn: true}
	defer pool.Close()
	root := pool.Runner(t)
	run := func(args ...string) ([]byte, error) { return root.Run(ctx, aegir.Command{Args: args}) }
	write := func(path, mode, data string) error {
		tmp := path + ".aegir-new"
		if _, err := root.Run(ctx, aegir.Command{Args: []string{"tee", tmp}, Stdout: io.Discard, Stdin: strings.NewReader(data)}); err != nil {
			return err
		}
		if _, err := run("chmod", mode, tmp); err != nil {
			return err
		}
		_, err := run("mv", "-f", tmp, path)
		return err
	}
	web := b.Server.HTTPServiceType != aegir.ServiceNull

	// Packages: checked, installed when missing.
	pkgs := []string{"rsync", "sudo"}
	switch b.Server.HTTPServiceType {
	case aegir.ServiceNginx:
		pkgs = append(pkgs, "nginx", "php8.2-fpm")
	case aegir.ServiceApache:
		pkgs = append(pkgs, "apache2", "php8.2-fpm")
	}
	if !web {
		pkgs = append(pkgs, "mariadb-server")
	}
	var missing []string
	for _, p := range pkgs {
		out, err := run("dpkg-query", "-W", "-f=${Status}", p)
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "installed") {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		b.Log("installing %s", strings.Join(missing, " "))
		if _, err := root.Run(ctx, aegir.Command{Env: []string{"DEBIAN_FRONTEND=noninteractive"},
			Args: append([]string{"apt-get", "install", "-y", "--no-install-recommends"}, missing...)}); err != nil {
			return err
		}
	}

	// The aegir user, in the web group, with the master's key.
	user, group, home := or(b.Server.SSHUser, aegir.DefaultSSHUser), b.Server.WebGroup, b.Paths.Home
	if _, err := run("getent", "group", group); err != nil {
		if _, err := run("groupadd", "--system", group); err != nil {
			return err
		}
	}
	if _, err := run("id", "-u", user); err != nil {
		if _, err := run("useradd", "--system", "--user-group", "--home-dir", home, "--shell", "/bin/bash", "--groups", group, user); err != nil {
			return err
		}
		b.Log("created user %s in group %s", user, group)
	} else if _, err := run("usermod", "--append", "--groups", group, user); err != nil {
		return err
	}
	serverDir := b.Paths.ServerConfig(b.Name)
	for _, d := range []string{home, b.Paths.Config(), serverDir, b.Paths.Includes(), b.Paths.Platforms()} {
		if _, err := run("install", "-d", "-o", user, "-g", user, "-m", "0755", d); err != nil {
			return err
		}
	}
	sshDir := filepath.Join(home, ".ssh")
	if _, err := run("install", "-d", "-o", user, "-g", user, "-m", "0700", sshDir); err != nil {
		return err
	}
	keys := filepath.Join(sshDir, "authorized_keys")
	have, _ := run("cat", keys)
	line := strings.TrimSpace(string(xssh.MarshalAuthorizedKey(b.MasterKey)))
	if !slices.Contains(strings.Split(string(have), "\n"), line) {
		if err := write(keys, "0600", strings.TrimRight(string(have), "\n")+"\n"+line+"\n"); err != nil {
			return err
		}
		b.Log("authorized the master's key for %s", user)
	}
	if _, err := run("chown", user+":"+user, keys); err != nil {
		return err
	}

	if web {
		// The sudo rule: the web server's test and reload, nothing else.
		// sudoers names programs by full path; sudo finds them the same
		// way (its secure_path) when the rule is used.
		var cmds []string
		for _, c := range b.Server.SudoCommands() {
			prog, args, _ := strings.Cut(c, " ")
			if !strings.HasPrefix(prog, "/") {
				out, err := run("which", prog)
				if err != nil {
					return aegir.FieldErrorf("http_test_cmd", "%s is not installed on server %s", prog, b.Name)
				}
				prog = strings.TrimSpace(string(out))
			}
			cmds = append(cmds, strings.TrimSpace(prog+" "+args))
		}
		if len(cmds) > 0 {
			rule := fmt.Sprintf("# Written by aegir bootstrap: the aegir user tests and reloads the web server.\n%s ALL=(root) NOPASSWD: %s\n", user, strings.Join(cmds, ", "))
			tmp := "/etc/sudoers.d/aegir.aegir-new"
			if _, err := root.Run(ctx, aegir.Command{Args: []string{"tee", tmp}, Stdout: io.Discard, Stdin: strings.NewReader(rule)}); err != nil {
				return err
			}
			if _, err := run("chmod", "0440", tmp); err != nil {
				return err
			}
			if _, err := run("visudo", "-cf", tmp); err != nil {
				run("rm", "-f", tmp)
				return aegir.FieldErrorf("http_test_cmd", "the sudo rule was rejected by visudo: %v", err)
			}
			if _, err := run("mv", "-f", tmp, "/etc/sudoers.d/aegir"); err != nil {
				return err
			}
			b.Log("sudo rule: %s may run %s", user, strings.Join(cmds, ", "))
		}
		// The include link, to a server file that exists (empty until the
		// first verify pushes it), so the web server's test passes now.
		file := filepath.Join(serverDir, b.Server.HTTPServiceType+".conf")
		if _, err := run("test", "-e", file); err != nil {
			if _, err := run("install", "-o", user, "-g", user, "-m", "0644", "/dev/null", file); err != nil {
				return err
			}
		}
		if _, err := run("ln", "-sfn", file, b.Server.HTTPConfLink); err != nil {
			return err
		}
		b.Log("linked %s to %s", b.Server.HTTPConfLink, file)
	}

	if !web {
		// A server without an http service is a db server.
		if err := b.dbAdmin(ctx, root); err != nil {
			return err
		}
	}
	return nil
}

// dbAdmin makes (or sets the password of) the MariaDB administrator the
// master connects as, from the master's address as the server sees it,
// and sets master_db. The SQL goes on standard input, never in argv.
func (b *Bootstrap) dbAdmin(ctx context.Context, root *Runner) error {
	out, err := root.Run(ctx, aegir.Command{Args: []string{"printenv", "SSH_CLIENT"}})
	if err != nil {
		return err
	}
	from, err := netip.ParseAddr(strings.Fields(string(out) + " x")[0])
	if err != nil {
		return aegir.Errorf(aegir.EINTERNAL, "the master's address as server %s sees it: %q", b.Name, out)
	}
	pw := ""
	if m, err := aegir.ParseMasterDB(b.Server.MasterDB); err == nil && m.User == adminUser && m.Password != "" {
		pw = m.Password // idempotent: keep the one saved
	} else if pw, err = password(32); err != nil {
		return err
	}
	host := from.String()
	sql := fmt.Sprintf("CREATE USER IF NOT EXISTS '%[1]s'@'%[2]s' IDENTIFIED BY '%[3]s';\n"+
		"ALTER USER '%[1]s'@'%[2]s' IDENTIFIED BY '%[3]s';\n"+
		"GRANT ALL PRIVILEGES ON *.* TO '%[1]s'@'%[2]s' WITH GRANT OPTION;\n", adminUser, host, pw)
	if _, err := root.Run(ctx, aegir.Command{Args: []string{"mysql"}, Stdin: strings.NewReader(sql)}); err != nil {
		return err
	}
	b.Server.DBServiceType = aegir.ServiceMySQL
	b.Server.MasterDB = fmt.Sprintf("mysql://%s:%s@%s:3306", adminUser, pw, hostPort(b.Server.RemoteHost))
	b.Log("MariaDB administrator %s@%s saved in master_db", adminUser, host)
	return nil
}

// hostPort brackets an IPv6 address for a URL.
func hostPort(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// password returns n random letters and digits: nothing to quote in SQL
// or a URL.
func password(n int) (string, error) {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			return "", err
		}
		b[i] = chars[k.Int64()]
	}
	return string(b), nil
}

// or returns v, or def when v is empty.
func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
