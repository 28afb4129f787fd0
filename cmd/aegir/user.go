package main

import (
	"bufio"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/aegir-hosting/aegir/web"
)

// defaultFrontEndURL is where login links point unless --url says.
const defaultFrontEndURL = "http://" + defaultListen

// userCommand manages the front end's users from the command line, as the
// administrator of the machine: create one (role client unless told),
// print a one-time login link (the way to a first password, or a new one
// when no mail is set up), disable or enable one, list them. Changes are
// in the audit log with no user as their actor.
func (m *Main) userCommand() *cobra.Command {
	cmd, database := storeCommands("user", "manage front-end users: create, login-link, disable, enable, list")
	cli := hosting.Actor{}

	create := &cobra.Command{
		Use:   "create NAME",
		Short: "create a user (role client unless told)",
		Args:  takes(1),
	}
	role := addOption(create.Flags(), "role", "ROLE", "administrator, platform_manager, account_manager or client (default client)")
	role.values = hosting.Roles
	email := addOption(create.Flags(), "email", "ADDR", "the user's mail address")
	clients := addOption(create.Flags(), "clients", "C1,C2", "the clients the user belongs to")
	passwordStdin := addSwitch(create.Flags(), "password_stdin", "read the user's password from the first line of standard input")
	create.RunE = m.withService(database, func(cmd *cobra.Command, args []string, svc *hosting.Service) error {
		in := hosting.UserInput{Name: args[0]}
		if role.given {
			in.Role = &role.value
		}
		if email.given {
			in.Email = &email.value
		}
		if clients.given {
			list := strings.FieldsFunc(clients.value, func(r rune) bool { return r == ',' || r == ' ' })
			in.Clients = &list
		}
		if passwordStdin.on() {
			line, err := bufio.NewReader(m.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return usageErrorf("--password-stdin: no password on the standard input")
			}
			password := strings.TrimRight(line, "\r\n")
			in.Password = &password
		}
		u, err := svc.CreateUser(cmd.Context(), cli, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "created user %s (%s)\n", u.Name, strings.ReplaceAll(u.Role, "_", " "))
		if u.PasswordHash == "" {
			fmt.Fprintf(m.Stdout, "it has no password: give it a login link (aegir user login-link %s)\n", u.Name)
		}
		return nil
	})

	loginLink := &cobra.Command{
		Use:   "login-link NAME",
		Short: "print a one-time login link for a user (no mail needed)",
		Args:  takes(1),
	}
	url := addOption(loginLink.Flags(), "url", "URL", "the front end's address (default "+defaultFrontEndURL+")")
	ttl := addOption(loginLink.Flags(), "ttl", "DURATION", "how long the link is valid, such as 24h")
	var valid time.Duration // 0: the default
	loginLink.PreRunE = func(*cobra.Command, []string) error {
		var err error
		if ttl.given {
			if valid, err = time.ParseDuration(ttl.value); err != nil || valid <= 0 {
				return usageErrorf("--ttl takes a duration such as 24h, not %q", ttl.value)
			}
		}
		return nil
	}
	loginLink.RunE = m.withService(database, func(cmd *cobra.Command, args []string, svc *hosting.Service) error {
		base := defaultFrontEndURL
		if url.value != "" {
			base = strings.TrimRight(url.value, "/")
		}
		secret, l, err := svc.NewLoginLink(cmd.Context(), cli, args[0], valid)
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, web.LoginLinkURL(base, secret))
		fmt.Fprintf(m.Stderr, "a one-time login link for %s, valid until %s; it is shown only now\n", args[0], l.ExpiresAt.Local().Format(time.DateTime))
		return nil
	})

	cmd.AddCommand(create, loginLink, m.userSwitchCommand(database, "disable"), m.userSwitchCommand(database, "enable"))

	list := &cobra.Command{
		Use:   "list",
		Short: "list the users",
		Args:  takes(0),
	}
	list.RunE = m.withService(database, func(cmd *cobra.Command, _ []string, svc *hosting.Service) error {
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tCLIENTS\tEMAIL\tSTATE")
		for page := 1; ; page++ {
			users, total, err := svc.ListUsers(cmd.Context(), aegir.ListFilter{Page: page, PerPage: aegir.MaxPerPage})
			if err != nil {
				return err
			}
			for _, u := range users {
				state := "enabled"
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, strings.Join(u.Clients, ","), u.Email, state)
			}
			if page*aegir.MaxPerPage >= total {
				break
			}
		}
		return w.Flush()
	})
	cmd.AddCommand(list)
	for _, c := range cmd.Commands() {
		c.ValidArgsFunction = cobra.NoFileCompletions
	}
	return cmd
}

// userSwitchCommand is aegir user disable or enable.
func (m *Main) userSwitchCommand(database *option, verb string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: verb + " a user",
		Args:  takes(1),
		RunE: m.withService(database, func(cmd *cobra.Command, args []string, svc *hosting.Service) error {
			disabled := verb == "disable"
			if _, err := svc.UpdateUser(cmd.Context(), hosting.Actor{}, args[0], hosting.UserInput{Disabled: &disabled}); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%sd user %s\n", verb, args[0])
			return nil
		}),
	}
}
