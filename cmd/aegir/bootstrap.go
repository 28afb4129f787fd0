package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/ssh"
)

// bootstrapCommand prepares a remote server once, as root over SSH; after
// it, the master reaches the server as its aegir user only.
func (m *Main) bootstrapCommand() *cobra.Command {
	cmd := m.freeformCommand(&cobra.Command{
		Use:   "bootstrap @SERVER [--root_login=root] [--root_key=FILE]",
		Short: "prepare a remote server once, as root over SSH",
		Long: `Bootstrap connects once as root (key auth) to a server saved with a remote_host, pins its
host key in $AEGIR_HOME/.ssh/known_hosts, and prepares it, idempotently: the packages its
services need (installed with apt when missing), the aegir user in the web group with the
master's public key, its home and config tree, a sudo rule for the web server's test and
reload only, the include link of the web server, and for a db server (http_service_type
null) a MariaDB administrator aegir_root, saved in the server's master_db. Afterwards
nothing runs as root there. The root key defaults to the master's own
$AEGIR_HOME/.ssh/id_ed25519: put its .pub into root's authorized_keys on the new server.`,
		GroupID: groupHosting,
	}, m.bootstrap)
	addOption(cmd.Flags(), "root_login", "NAME", "the user to log in as (default root)")
	addOption(cmd.Flags(), "root_key", "FILE", "its private key (default $AEGIR_HOME/.ssh/id_ed25519)")
	return cmd
}

// bootstrap runs aegir bootstrap.
func (m *Main) bootstrap(ctx context.Context, paths aegir.Paths, o *options) error {
	if len(o.args) != 1 {
		return usageErrorf("usage: aegir bootstrap @SERVER [--root_login=root] [--root_key=FILE]")
	}
	login, ok := o.take("root_login")
	if !ok {
		login = "root"
	}
	if err := aegir.ValidateUnixUser("root_login", login); err != nil {
		return err
	}
	key, ok := o.take("root_key")
	if !ok {
		key = paths.SSHKey()
	}
	if err := o.noMore(); err != nil {
		return err
	}
	store := contextfile.New(paths)
	c, err := store.Get(ctx, aegir.ContextName(o.args[0]))
	if err != nil {
		return err
	}
	if c.Type != aegir.ServerContext {
		return aegir.Errorf(aegir.EINVALID, "@%s is a %s, not a server", c.Name, c.Type)
	}
	// The defaults are bootstrap's to use, not to save.
	srv := c.Clone().Server
	srv.Defaults()
	if srv.IsLocal() {
		return aegir.FieldErrorf("remote_host", "@%s is this machine (%s): bootstrap prepares remote servers; use aegir setup here", c.Name, srv.RemoteHost)
	}
	master, err := ssh.EnsureKey(paths.SSHKey())
	if err != nil {
		return err
	}
	b := &ssh.Bootstrap{Name: c.Name, Server: srv, Paths: paths, RootLogin: login, RootKeyFile: key,
		MasterKey: master.PublicKey(), Log: func(format string, args ...any) { fmt.Fprintf(m.Stdout, format+"\n", args...) }}
	if err := b.Run(ctx); err != nil {
		return err
	}
	if srv.MasterDB != c.Server.MasterDB {
		c.Server.MasterDB, c.Server.DBServiceType = srv.MasterDB, srv.DBServiceType
		if err := store.Put(ctx, c); err != nil {
			return err
		}
	}
	fmt.Fprintf(m.Stdout, "bootstrapped @%s; next: aegir verify @%s\n", c.Name, c.Name)
	return nil
}
