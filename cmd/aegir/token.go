package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

const tokenUsage = "usage: aegir token create USER [--name NAME] | aegir token revoke ID|- | aegir token list USER  [--home DIR] [--database URL]"

// token manages the API tokens of front-end users: create prints a new
// token's secret (shown once; only its hash is stored), revoke ends one by
// ID, or every token whose secret is on standard input with "-" (for
// secrets that leaked: a secret never goes on a command line), list shows a
// user's tokens.
func (m *Main) token(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErrorf("%s", tokenUsage)
	}
	sub := args[0]
	o, err := parseOptions(args[1:])
	if err != nil {
		return err
	}
	paths := m.paths(o)
	dbURL := databaseURL(o, paths)
	var name string
	if sub == "create" {
		name, _ = o.take("name")
	}
	if err := o.noMore(); err != nil {
		return err
	}
	if len(o.args) != 1 || (sub != "create" && sub != "revoke" && sub != "list") {
		return usageErrorf("%s", tokenUsage)
	}
	var id int64
	if sub == "revoke" && o.args[0] == "-" {
		id = -1
	} else if sub == "revoke" {
		if id, err = strconv.ParseInt(o.args[0], 10, 64); err != nil || id < 1 {
			return usageErrorf("token ID %q is not a number", o.args[0])
		}
	}
	// A store file made by root would be root's.
	if err := m.refuseRoot(); err != nil {
		return err
	}
	store, err := aegir.OpenStore(ctx, dbURL)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := &hosting.Service{Store: store}

	switch sub {
	case "create":
		t, secret, err := svc.CreateToken(ctx, o.args[0], name)
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, secret)
		fmt.Fprintf(m.Stderr, "token %d (%s) for %s; the secret above is shown only now\n", t.ID, t.Name, o.args[0])
	case "revoke":
		if id == -1 {
			return m.revokeSecrets(ctx, svc)
		}
		if err := svc.RevokeToken(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked token %d\n", id)
	case "list":
		list, err := svc.ListTokens(ctx, o.args[0])
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, t := range list {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Local().Format(time.DateTime), timeOrDash(t.LastUsed), timeOrDash(t.RevokedAt))
		}
		return w.Flush()
	}
	return nil
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
