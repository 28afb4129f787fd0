package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// TestUserCommandManagesUsers creates a client user from the command line
// with a password on stdin, prints a login link that logs them in once,
// disables them, and lists them.
func TestUserCommandManagesUsers(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	ctx := t.Context()
	run := func(stdin string, args ...string) (string, string, error) {
		m, stdout, stderr := testMain(home)
		m.Stdin = strings.NewReader(stdin)
		err := m.Run(ctx, args)
		return stdout.String(), stderr.String(), err
	}
	store, err := aegir.OpenStore(ctx, filepath.Join(home, "hosting.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateClient(ctx, &aegir.Client{Name: "acme"}); err != nil {
		t.Fatal(err)
	}

	out, _, err := run("a long password\n", "user", "create", "ann", "--role", "client", "--email", "ann@example.com", "--clients", "acme", "--password-stdin")
	if err != nil || !strings.Contains(out, "created user ann (client)") {
		t.Fatalf("create: %v %q", err, out)
	}
	u, err := store.GetUserByName(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != aegir.RoleClient || len(u.Clients) != 1 || !hosting.VerifyPassword("a long password", u.PasswordHash) {
		t.Fatalf("ann: %+v", u)
	}
	if _, _, err := run("", "user", "create", "ann"); aegir.ErrorCode(err) != aegir.ECONFLICT {
		t.Fatalf("second create: %v", err)
	}
	if _, _, err := run("short\n", "user", "create", "bo", "--password-stdin"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("short password: %v", err)
	}

	out, stderr, err := run("", "user", "login-link", "ann", "--url", "https://aegir.example.com/")
	if err != nil || !strings.HasPrefix(out, "https://aegir.example.com/login/link/") || !strings.Contains(stderr, "shown only now") {
		t.Fatalf("login-link: %v %q %q", err, out, stderr)
	}
	secret := strings.TrimSpace(strings.TrimPrefix(out, "https://aegir.example.com/login/link/"))
	svc := &hosting.Service{Store: store}
	if got, err := svc.UseLoginLink(ctx, hosting.Actor{}, secret); err != nil || got.Name != "ann" {
		t.Fatalf("using the link: %v %v", got, err)
	}
	if _, err := svc.UseLoginLink(ctx, hosting.Actor{}, secret); aegir.ErrorCode(err) != aegir.EUNAUTHORIZED {
		t.Fatalf("using the link twice: %v", err)
	}

	if out, _, err := run("", "user", "disable", "ann"); err != nil || !strings.Contains(out, "disabled user ann") {
		t.Fatalf("disable: %v %q", err, out)
	}
	if _, _, err := run("", "user", "login-link", "ann"); aegir.ErrorCode(err) != aegir.ECONFLICT {
		t.Fatalf("login link of a disabled user: %v", err)
	}
	out, _, err = run("", "user", "list")
	if err != nil || !strings.Contains(out, "ann") || !strings.Contains(out, "disabled") {
		t.Fatalf("list: %v %q", err, out)
	}
	if _, _, err := run("", "user", "frobnicate", "ann"); err == nil {
		t.Fatal("an unknown subcommand worked")
	}
	audit, _, err := store.ListAudit(context.Background(), aegir.AuditFilter{Object: "user:ann"})
	if err != nil || len(audit) < 3 {
		t.Fatalf("audit of ann: %v %+v", err, audit)
	}
}
