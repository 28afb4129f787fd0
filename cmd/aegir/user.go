package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/aegir-hosting/aegir/web"
)

const userUsage = `usage: aegir user create NAME [--role ROLE] [--email ADDR] [--clients C1,C2] [--password-stdin]
       aegir user login-link NAME [--url URL] [--ttl DURATION]
       aegir user disable NAME | aegir user enable NAME | aegir user list
       (each takes [--home DIR] [--database URL])`

// defaultFrontEndURL is where login links point unless --url says.
const defaultFrontEndURL = "http://" + defaultListen

// user manages the front end's users from the command line, as the
// administrator of the machine: create one (role client unless told),
// print a one-time login link (the way to a first password, or a new one
// when no mail is set up), disable or enable one, list them. Changes are
// in the audit log with no user as their actor.
func (m *Main) user(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErrorf("%s", userUsage)
	}
	sub := args[0]
	o, err := parseOptions(args[1:], "password_stdin")
	if err != nil {
		return err
	}
	paths := m.paths(o)
	dbURL := databaseURL(o, paths)
	var in hosting.UserInput
	var readPassword bool
	base, ttl := defaultFrontEndURL, time.Duration(0)
	switch sub {
	case "create":
		if v, ok := o.take("role"); ok {
			in.Role = &v
		}
		if v, ok := o.take("email"); ok {
			in.Email = &v
		}
		if v, ok := o.take("clients"); ok {
			list := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
			in.Clients = &list
		}
		if readPassword, err = o.bool("password_stdin"); err != nil {
			return err
		}
	case "login-link":
		if v, ok := o.take("url"); ok && v != "" {
			base = strings.TrimRight(v, "/")
		}
		if v, ok := o.take("ttl"); ok {
			if ttl, err = time.ParseDuration(v); err != nil || ttl <= 0 {
				return usageErrorf("--ttl takes a duration such as 24h, not %q", v)
			}
		}
	case "disable", "enable", "list":
	default:
		return usageErrorf("%s", userUsage)
	}
	if err := o.noMore(); err != nil {
		return err
	}
	if (sub == "list") != (len(o.args) == 0) || len(o.args) > 1 {
		return usageErrorf("%s", userUsage)
	}
	// A store file made by root would be root's.
	if err := m.refuseRoot(); err != nil {
		return err
	}
	if readPassword {
		line, err := bufio.NewReader(m.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return usageErrorf("--password-stdin: no password on the standard input")
		}
		password := strings.TrimRight(line, "\r\n")
		in.Password = &password
	}
	store, err := aegir.OpenStore(ctx, dbURL)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := &hosting.Service{Store: store}
	cli := hosting.Actor{}

	switch sub {
	case "create":
		in.Name = o.args[0]
		u, err := svc.CreateUser(ctx, cli, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "created user %s (%s)\n", u.Name, strings.ReplaceAll(u.Role, "_", " "))
		if u.PasswordHash == "" {
			fmt.Fprintf(m.Stdout, "it has no password: give it a login link (aegir user login-link %s)\n", u.Name)
		}
	case "login-link":
		secret, l, err := svc.NewLoginLink(ctx, cli, o.args[0], ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, web.LoginLinkURL(base, secret))
		fmt.Fprintf(m.Stderr, "a one-time login link for %s, valid until %s; it is shown only now\n", o.args[0], l.ExpiresAt.Local().Format(time.DateTime))
	case "disable", "enable":
		disabled := sub == "disable"
		if _, err := svc.UpdateUser(ctx, cli, o.args[0], hosting.UserInput{Disabled: &disabled}); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%sd user %s\n", sub, o.args[0])
	case "list":
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tCLIENTS\tEMAIL\tSTATE")
		for page := 1; ; page++ {
			list, total, err := svc.ListUsers(ctx, aegir.ListFilter{Page: page, PerPage: aegir.MaxPerPage})
			if err != nil {
				return err
			}
			for _, u := range list {
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
	}
	return nil
}
