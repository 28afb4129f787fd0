package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/ssh"
)

// setupCommand turns this machine into a hosting server, as Aegir's
// hostmaster-install does: the $AEGIR_HOME tree, the aegir user in the web
// group, @server_master, the link into the system web server, a sudoers
// rule for the reload, and a verify of the server. Running it again
// changes only what the options change.
func (m *Main) setupCommand() *cobra.Command {
	cmd := m.freeformCommand(&cobra.Command{
		Use:   "setup [--aegir_user NAME] [--sudoers FILE] [--PROPERTY=VALUE ...]",
		Short: "turn this machine into a hosting server (as root)",
		Long: `Setup turns this machine into a hosting server, as Aegir's hostmaster-install does: the
$AEGIR_HOME tree, the aegir user in the web group, @server_master (from the server
properties given), the link into the system web server, a sudoers rule for its test and
reload, and a verify of the server. Running it again changes only what the options change.
Run as root; run as another user it sets up for that user, with no user or sudoers rule.

Properties of @server_master:
` + propertiesHelp(aegir.ServerContext),
		GroupID: groupHosting,
	}, m.setup)
	addOption(cmd.Flags(), "aegir_user", "NAME", "the user that owns the home and runs the back end (default aegir)")
	addOption(cmd.Flags(), "sudoers", "FILE", "where the sudoers rule goes (default /etc/sudoers.d/aegir)")
	addOption(cmd.Flags(), "frontend_uri", "NAME", "serve the front end at this name on @server_master's web server, proxying to aegir serve")
	addOption(cmd.Flags(), "frontend_ssl_enabled", "N", "the front end's HTTPS, as a site's ssl_enabled: 0 off, 1 on, 2 required")
	addOption(cmd.Flags(), "frontend_ssl_provider", "NAME", "where the front end's certificate comes from: self-signed (default) or acme")
	addOption(cmd.Flags(), "frontend_listen", "ADDR", "where aegir serve listens, which the front end's vhost proxies to (default "+defaultListen+")")
	cmd.ValidArgsFunction = cobra.NoFileCompletions
	return cmd
}

// setup runs aegir setup.
func (m *Main) setup(ctx context.Context, paths aegir.Paths, o *options) error {
	if len(o.args) > 0 {
		return usageErrorf("usage: aegir setup [--home DIR] [--aegir_user NAME] [--sudoers FILE] [--php_fpm_include FILE] [--server_property=value ...]")
	}
	fpmInclude, ok := o.take("php_fpm_include")
	if !ok {
		fpmInclude = "/etc/php/8.2/fpm/pool.d/aegir.conf"
	}
	aegirUser, ok := o.take("aegir_user")
	if !ok {
		aegirUser = "aegir"
	}
	sudoers, ok := o.take("sudoers")
	if !ok {
		sudoers = "/etc/sudoers.d/aegir"
	}
	asRoot := m.Geteuid() == 0
	if !asRoot || aegirUser == "root" {
		// Without root there is no user to make: set up for whoever runs it.
		if err := m.refuseRoot(); err != nil {
			return err
		}
		aegirUser = ""
	}
	if err := provision.MakeHome(paths); err != nil {
		return err
	}
	// The key the master logs in to remote servers with (aegir bootstrap).
	if _, err := ssh.EnsureKey(paths.SSHKey()); err != nil {
		return err
	}
	front, err := frontendOption(o)
	if err != nil {
		return err
	}
	server, err := m.setupServer(ctx, paths, o, aegirUser != "")
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "saved @%s (%s http on port %d, %s db)\n", aegir.MasterServer, server.HTTPServiceType, server.HTTPPort, server.DBServiceType)
	if aegirUser != "" {
		if err := m.setupUser(ctx, paths, aegirUser, server.WebGroup); err != nil {
			return err
		}
		key := paths.SSHKey()
		for _, p := range []string{filepath.Dir(key), key, key + ".pub"} {
			if err := chownToUser(p, aegirUser); err != nil {
				return err
			}
		}
		if err := writeSudoers(ctx, sudoers, aegirUser, server); err != nil {
			return err
		}
		if server.PHPFPMPools {
			if err := writePHPPoolInclude(fpmInclude, paths.PHPPoolDir(aegir.MasterServer)); err != nil {
				return err
			}
		}
	}
	if err := m.repairLogs(ctx, paths, aegirUser); err != nil {
		return err
	}
	if err := m.linkServerFile(paths, server); err != nil {
		return err
	}
	if err := m.setupVerify(ctx, paths, aegirUser); err != nil {
		return err
	}
	if front == nil {
		return nil
	}
	return m.writeFrontend(ctx, paths, *front, aegirUser)
}

// setupServer creates or updates @server_master from the options.
func (m *Main) setupServer(ctx context.Context, paths aegir.Paths, o *options, withSudo bool) (*aegir.Server, error) {
	store := contextfile.New(paths)
	c, err := store.Get(ctx, aegir.MasterServer)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		c, err = aegir.NewContext(aegir.MasterServer, aegir.ServerContext)
	}
	if err != nil {
		return nil, err
	}
	if c.Type != aegir.ServerContext {
		return nil, aegir.Errorf(aegir.ECONFLICT, "@%s exists and is a %s", aegir.MasterServer, c.Type)
	}
	for _, prop := range o.rest() {
		if err := c.SetProperty(prop, o.flags[prop]); err != nil {
			return nil, err
		}
	}
	// An earlier setup's nginx reload, which parses the whole configuration
	// only to find the master's pid, becomes the signal to the master (the
	// sudoers rule written below follows).
	if withSudo && slices.Equal(c.Server.HTTPRestartCmd, []string{"sudo", "-n", lookPath("nginx", "/usr/sbin/nginx"), "-s", "reload"}) {
		c.Server.HTTPRestartCmd = nil
		c.Server.HTTPTestCmd = nil
	}
	// The aegir user tests and reloads the system web server through sudo.
	if withSudo && len(c.Server.HTTPTestCmd) == 0 && len(c.Server.HTTPRestartCmd) == 0 {
		switch c.Server.HTTPServiceType {
		case "", aegir.ServiceNginx:
			nginx := lookPath("nginx", "/usr/sbin/nginx")
			c.Server.HTTPTestCmd = []string{"sudo", "-n", nginx, "-t"}
			// The master is signalled directly, as aegir.NginxRestartCmd does.
			ssd := lookPath("start-stop-daemon", "/usr/sbin/start-stop-daemon")
			c.Server.HTTPRestartCmd = append([]string{"sudo", "-n", ssd}, aegir.NginxRestartCmd()[1:]...)
			c.Server.HTTPRestartCmd[len(c.Server.HTTPRestartCmd)-1] = nginx
		case aegir.ServiceApache:
			ctl := lookPath("apache2ctl", "/usr/sbin/apache2ctl")
			c.Server.HTTPTestCmd = []string{"sudo", "-n", ctl, "configtest"}
			c.Server.HTTPRestartCmd = []string{"sudo", "-n", ctl, "graceful"}
		}
	}
	// With per-site pools, php-fpm is tested and reloaded through sudo too.
	if withSudo && c.Server.PHPFPMPools && len(c.Server.PHPFPMTestCmd) == 0 && len(c.Server.PHPFPMReloadCmd) == 0 {
		fpm := lookPath("php-fpm8.2", "/usr/sbin/php-fpm8.2")
		c.Server.PHPFPMTestCmd = []string{"sudo", "-n", fpm, "-t"}
		ssd := lookPath("start-stop-daemon", "/usr/sbin/start-stop-daemon")
		c.Server.PHPFPMReloadCmd = append([]string{"sudo", "-n", ssd}, aegir.PHPFPMReloadCmd()[1:]...)
		c.Server.PHPFPMReloadCmd[len(c.Server.PHPFPMReloadCmd)-1] = fpm
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := store.Put(ctx, c); err != nil {
		return nil, err
	}
	s := *c.Server
	s.Defaults()
	return &s, nil
}

func lookPath(name, fallback string) string {
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return fallback
}

// setupUser creates the aegir user in the web group and gives it the home.
func (m *Main) setupUser(ctx context.Context, paths aegir.Paths, name, webGroup string) error {
	run := &local.Runner{}
	if _, err := user.LookupGroup(webGroup); err != nil {
		if _, err := run.Run(ctx, aegir.Command{Args: []string{"groupadd", "--system", webGroup}}); err != nil {
			return aegir.FieldErrorf("web_group", "create group %s: %v", webGroup, err)
		}
	}
	if _, err := user.Lookup(name); err != nil {
		if _, err := run.Run(ctx, aegir.Command{Args: []string{"useradd", "--system", "--user-group", "--home-dir", paths.Home, "--shell", "/bin/bash", "--groups", webGroup, name}}); err != nil {
			return aegir.FieldErrorf("aegir_user", "create user %s: %v", name, err)
		}
		fmt.Fprintf(m.Stdout, "created user %s in group %s\n", name, webGroup)
	} else if _, err := run.Run(ctx, aegir.Command{Args: []string{"usermod", "--append", "--groups", webGroup, name}}); err != nil {
		return aegir.FieldErrorf("aegir_user", "add %s to group %s: %v", name, webGroup, err)
	}
	uid, gid, err := userIDs(name)
	if err != nil {
		return err
	}
	// The tree aegir writes to; platforms and backups can be large, so only
	// their top directories are given, not walked.
	if err := os.Chown(paths.Home, uid, gid); err != nil {
		return err
	}
	for _, dir := range []string{paths.Contexts(), paths.Config(), paths.Backups(), paths.Platforms(), paths.Clients()} {
		walk := dir == paths.Contexts() || dir == paths.Config()
		if err := chownTree(dir, uid, gid, walk); err != nil {
			return err
		}
	}
	return nil
}

func chownTree(root string, uid, gid int, walk bool) error {
	if !walk {
		return os.Lchown(root, uid, gid)
	}
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// writeSudoers lets the aegir user run exactly the web server's test and
// reload commands as root, and, when the server gives each site its own
// php-fpm pool, php-fpm's test and reload and the site-user helper; nothing
// else.
func writeSudoers(ctx context.Context, path, aegirUser string, server *aegir.Server) error {
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return aegir.FieldErrorf("sudoers", "%s: %v (install sudo)", filepath.Dir(path), err)
	}
	cmds := server.SudoCommands()
	if server.PHPFPMPools {
		// The privileged helper for sites' Unix users, which checks its
		// arguments itself (cmd/aegir/site_user.go, siteuser.Local).
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		cmds = append(cmds, exe+" site-user *")
	}
	if len(cmds) == 0 {
		return nil
	}
	rule := fmt.Sprintf("# Written by aegir setup: the aegir user tests and reloads the web server.\n%s ALL=(root) NOPASSWD: %s\n", aegirUser, strings.Join(cmds, ", "))
	tmp := path + ".aegir-new"
	if err := os.WriteFile(tmp, []byte(rule), 0o440); err != nil {
		return aegir.FieldErrorf("sudoers", "%v", err)
	}
	if visudo, err := exec.LookPath("visudo"); err == nil {
		if _, err := (&local.Runner{}).Run(ctx, aegir.Command{Args: []string{visudo, "-cf", tmp}}); err != nil {
			os.Remove(tmp)
			return aegir.FieldErrorf("sudoers", "rule rejected by visudo: %v", err)
		}
	}
	return os.Rename(tmp, path)
}

// writePHPPoolInclude makes the system php-fpm include the pools aegir
// writes for the sites of @server_master (php_fpm_pools): a file in its
// pool.d that includes poolDir/*.conf. php-fpm reads it at its next reload.
// It also sets two global settings the pools need: a file limit for the
// master, which holds one listening socket per site, and a grace period
// for requests under way when a pool change reloads php-fpm (by default
// they are cut off).
func writePHPPoolInclude(path, poolDir string) error {
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return aegir.FieldErrorf("php_fpm_include", "%s: %v (install php8.2-fpm)", filepath.Dir(path), err)
	}
	text := fmt.Sprintf(`; Written by aegir setup: the php-fpm pools of the sites aegir hosts, one per site.
[global]
; The master holds one listening socket per site.
rlimit_files = 65536
; A pool change reloads php-fpm: requests under way get this long to end.
process_control_timeout = 10s
include = %s/*.conf
`, poolDir)
	return os.WriteFile(path, []byte(text), 0o644)
}

// linkServerFile links the server file into the system web server, which
// usually needs root; verify leaves a correct link alone.
func (m *Main) linkServerFile(paths aegir.Paths, server *aegir.Server) error {
	var target string
	switch server.HTTPServiceType {
	case aegir.ServiceNginx:
		target = filepath.Join(paths.ServerConfig(aegir.MasterServer), "nginx.conf")
	case aegir.ServiceApache:
		target = filepath.Join(paths.ServerConfig(aegir.MasterServer), "apache.conf")
	default:
		return nil
	}
	link := server.HTTPConfLink
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return nil
	}
	if st, err := os.Lstat(link); err == nil && st.Mode()&fs.ModeSymlink == 0 {
		return aegir.FieldErrorf("http_conf_link", "%s exists and is not a link; move it away first", link)
	}
	if _, err := os.Stat(filepath.Dir(link)); err != nil {
		return aegir.FieldErrorf("http_conf_link", "directory %s: %v (is nginx installed?)", filepath.Dir(link), err)
	}
	os.Remove(link)
	if err := os.Symlink(target, link); err != nil && !errors.Is(err, fs.ErrExist) {
		return aegir.FieldErrorf("http_conf_link", "%v", err)
	}
	fmt.Fprintf(m.Stdout, "linked %s -> %s\n", link, target)
	return nil
}

// setupVerify verifies @server_master as the aegir user.
func (m *Main) setupVerify(ctx context.Context, paths aegir.Paths, aegirUser string) error {
	if aegirUser == "" {
		return m.Run(ctx, []string{"verify", "@" + aegir.MasterServer, "--home", paths.Home})
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := (&local.Runner{}).Run(ctx, aegir.Command{
		Args: []string{"runuser", "-u", aegirUser, "--", self, "verify", "@" + aegir.MasterServer, "--home", paths.Home},
	})
	m.Stdout.Write(out)
	return err
}

// repairLogs mends what older versions left in $AEGIR_HOME's log files (the
// ones scripts/run.sh writes): the first `aegir serve` printed the admin's
// API token there, in a file every hosted site could read. Each *.log at the
// top of the home is made 0600 and the aegir user's; the tokens whose
// secrets it holds are revoked (as the aegir user, the secrets on a pipe)
// and the secrets are cut out of it. aegirUser "" is whoever runs setup.
func (m *Main) repairLogs(ctx context.Context, paths aegir.Paths, aegirUser string) error {
	logs, err := filepath.Glob(filepath.Join(paths.Home, "*.log"))
	if err != nil {
		return err
	}
	for _, path := range logs {
		if st, err := os.Lstat(path); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := os.Chmod(path, 0o600); err != nil {
			return err
		}
		if aegirUser != "" {
			if err := chownToUser(path, aegirUser); err != nil {
				return err
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		secrets := hosting.FindSecrets(data)
		if len(secrets) == 0 {
			continue
		}
		if _, err := os.Stat(filepath.Join(paths.Home, "hosting.db")); err == nil {
			if err := m.revokeAs(ctx, paths, aegirUser, strings.Join(secrets, "\n")); err != nil {
				return fmt.Errorf("revoking the API tokens found in %s: %w", path, err)
			}
		}
		// Rewritten in place (not renamed over) so that a running serve
		// appending to it keeps writing into the repaired file.
		if err := os.WriteFile(path, hosting.RedactSecrets(data), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "removed %d API token secret(s) from %s, now readable by its owner only\n", len(secrets), path)
	}
	return nil
}

// revokeAs runs `aegir token revoke -` with secrets on its standard input,
// as aegirUser (the store is theirs) or in this process when it is "".
func (m *Main) revokeAs(ctx context.Context, paths aegir.Paths, aegirUser, secrets string) error {
	if aegirUser == "" {
		sub := *m
		sub.Stdin = strings.NewReader(secrets)
		return sub.Run(ctx, []string{"token", "revoke", "-", "--home", paths.Home})
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := (&local.Runner{}).Run(ctx, aegir.Command{
		Args:  []string{"runuser", "-u", aegirUser, "--", self, "token", "revoke", "-", "--home", paths.Home},
		Stdin: strings.NewReader(secrets),
	})
	m.Stdout.Write(out)
	return err
}

// chownToUser gives path to the named user and their group.
func chownToUser(path, name string) error {
	uid, gid, err := userIDs(name)
	if err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}

// userIDs returns the uid and primary gid of the named user.
func userIDs(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}
