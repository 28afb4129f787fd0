package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// tokenCommand manages the API tokens of front-end users: create prints a
// new token's secret (shown once; only its hash is stored), revoke ends one
// by ID, or every token whose secret is on standard input with "-" (for
// secrets that leaked: a secret never goes on a command line), list shows
// a user's tokens.
func (m *Main) tokenCommand() *cobra.Command {
	cmd, database := storeCommands("token", "manage API tokens: create, revoke, list")

	create := &cobra.Command{
		Use:   "create USER",
		Short: "make an API token for a user and print its secret, shown only now",
		Args:  takes(1),
	}
	name := addOption(create.Flags(), "name", "NAME", "what the token is for")
	create.RunE = m.withService(database, func(cmd *cobra.Command, args []string, svc *hosting.Service) error {
		t, secret, err := svc.CreateToken(cmd.Context(), args[0], name.value)
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, secret)
		fmt.Fprintf(m.Stderr, "token %d (%s) for %s; the secret above is shown only now\n", t.ID, t.Name, args[0])
		return nil
	})

	revoke := &cobra.Command{
		Use:   "revoke ID|-",
		Short: "revoke a token by its ID, or with - every token whose secret is on standard input",
		Long: `Revoke ends a token by its ID, or with - every token whose secret is on standard input, one
or more per line among other text (a log file can be piped in as it is): a secret never goes
on a command line.`,
		Args: takes(1),
	}
	var id int64 // 0: the secrets on standard input
	revoke.PreRunE = func(_ *cobra.Command, args []string) error {
		var err error
		if args[0] != "-" {
			if id, err = strconv.ParseInt(args[0], 10, 64); err != nil || id < 1 {
				return usageErrorf("token ID %q is not a number", args[0])
			}
		}
		return nil
	}
	revoke.RunE = m.withService(database, func(cmd *cobra.Command, _ []string, svc *hosting.Service) error {
		if id == 0 {
			return m.revokeSecrets(cmd.Context(), svc)
		}
		if err := svc.RevokeToken(cmd.Context(), id); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked token %d\n", id)
		return nil
	})

	list := &cobra.Command{
		Use:   "list USER",
		Short: "list a user's tokens",
		Args:  takes(1),
	}
	list.RunE = m.withService(database, func(cmd *cobra.Command, args []string, svc *hosting.Service) error {
		tokens, err := svc.ListTokens(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, t := range tokens {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Local().Format(time.DateTime), timeOrDash(t.LastUsed), timeOrDash(t.RevokedAt))
		}
		return w.Flush()
	})

	for _, c := range []*cobra.Command{create, revoke, list} {
		c.ValidArgsFunction = cobra.NoFileCompletions
		cmd.AddCommand(c)
	}
	return cmd
}

// storeCommands makes a command that groups others working on the front
// end's store (token, user), and the --database they share.
func storeCommands(use, short string) (*cobra.Command, *option) {
	cmd := &cobra.Command{Use: use, Short: short, GroupID: groupHosting, Args: cobra.ArbitraryArgs, RunE: chooseCommand}
	return cmd, addDatabaseOption(cmd.PersistentFlags())
}

// withService makes the run of a command of token or user: run gets the
// front end's store, opened for it and closed after. The command runs as
// the aegir user: a store file made by root would be root's.
func (m *Main) withService(database *option, run func(cmd *cobra.Command, args []string, svc *hosting.Service) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := m.refuseRoot(); err != nil {
			return err
		}
		paths := m.paths(homeOption(cmd))
		store, err := aegir.OpenStore(cmd.Context(), databaseURL(database, paths))
		if err != nil {
			return err
		}
		defer store.Close()
		return run(cmd, args, &hosting.Service{Store: store})
	}
}

// revokeSecrets revokes the token of each secret found on standard input,
// one or more per line among other text (a log file can be piped in as it
// is), and says which it revoked; secrets of no live token are counted.
func (m *Main) revokeSecrets(ctx context.Context, svc *hosting.Service) error {
	data, err := io.ReadAll(io.LimitReader(m.Stdin, 64<<20))
	if err != nil {
		return err
	}
	unknown := 0
	for _, secret := range hosting.FindSecrets(data) {
		t, err := svc.RevokeSecret(ctx, secret)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			unknown++
			continue
		} else if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked token %d (%s)\n", t.ID, t.Name)
	}
	if unknown > 0 {
		fmt.Fprintf(m.Stdout, "%d secret(s) matched no live token\n", unknown)
	}
	return nil
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}
