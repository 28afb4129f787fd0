package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/siteuser"
	"github.com/spf13/cobra"
)

// siteUserCommand is aegir site-user.
func (m *Main) siteUserCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "site-user ensure NAME WEB_USER | own NAME DIR [WRITABLE...] | remove NAME",
		Short:   "the privileged helper for sites' Unix users (as root, through sudo)",
		GroupID: groupHosting,
		// Its arguments are checked by siteUser alone: none is an option.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.siteUser(cmd.Context(), args)
		},
	}
}

// siteUser is the privileged helper the aegir user runs through sudo
// ("sudo -n /usr/bin/aegir site-user ..."; aegir setup writes the rule) to
// create and remove the Unix users sites' PHP runs as, and to give a site
// directory to its user's group:
//
//	aegir site-user ensure NAME WEB_USER      prints "created" or "exists"
//	aegir site-user own NAME DIR [WRITABLE...]
//	aegir site-user remove NAME
//
// It runs as root and trusts none of its arguments: NAME must be a site
// user's (s- and 12 hex digits), DIR a sites/<uri> directory without a
// symbolic link in its path and owned by the user who ran sudo (SUDO_UID),
// WRITABLE local paths under it (siteuser.Local checks them all).
func (m *Main) siteUser(ctx context.Context, args []string) error {
	const usage = "usage: aegir site-user ensure NAME WEB_USER | own NAME DIR [WRITABLE...] | remove NAME (as root)"
	if m.Geteuid() != 0 {
		return usageErrorf("site-user must run as root (through sudo): %s", usage)
	}
	caller := 0
	if v := m.Getenv("SUDO_UID"); v != "" {
		uid, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("SUDO_UID %q: %v", v, err)
		}
		caller = uid
	}
	l := siteuser.Local{Caller: caller, Warnf: func(format string, a ...any) {
		fmt.Fprintf(m.Stderr, "warning: "+format+"\n", a...)
	}}
	switch {
	case len(args) == 3 && args[0] == "ensure":
		created, err := l.Ensure(ctx, args[1], args[2])
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintln(m.Stdout, "created")
		} else {
			fmt.Fprintln(m.Stdout, "exists")
		}
		return nil
	case len(args) >= 3 && args[0] == "own":
		return l.Own(ctx, args[1], args[2], args[3:])
	case len(args) == 2 && args[0] == "remove":
		return l.Remove(ctx, args[1])
	}
	return usageErrorf("%s", usage)
}

// siteUsers is how the back end manages sites' Unix users: in this
// process when it runs as root (tests, containers), else through the
// site-user helper and sudo.
func (m *Main) siteUsers() aegir.SiteUsers {
	if m.Geteuid() == 0 {
		return siteuser.Local{Caller: 0}
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/usr/bin/aegir"
	}
	return siteuser.Sudo{Runner: &local.Runner{}, Program: exe}
}
