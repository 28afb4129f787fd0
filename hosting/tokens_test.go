package hosting_test

import (
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// TestUsersManageTheirOwnTokens: everyone may list, make and revoke their
// own API tokens, administrators those of anyone, nobody else those of
// another; and a token is revoked only as its owner's.
func TestUsersManageTheirOwnTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	_, err := b.svc.CreateClient(ctx, hosting.ClientInput{Name: "acme"})
	must(t, err)
	users := map[string]*aegir.User{}
	for name, role := range map[string]string{"admin": aegir.RoleAdministrator, "am": aegir.RoleAccountManager, "ann": aegir.RoleClient, "bob": aegir.RoleClient} {
		in := hosting.UserInput{Name: name, Role: &role}
		if role == aegir.RoleClient {
			in.Clients = &[]string{"acme"}
		}
		users[name], err = b.svc.CreateUser(ctx, hosting.Actor{}, in)
		must(t, err)
	}
	for _, action := range []string{hosting.ActList, hosting.ActCreate, hosting.ActDelete} {
		must(t, b.svc.Authorize(ctx, users["ann"], action, "token:ann"))
		must(t, b.svc.Authorize(ctx, users["am"], action, "token:am"))
		must(t, b.svc.Authorize(ctx, users["admin"], action, "token:ann"))
		wantCode(t, b.svc.Authorize(ctx, users["ann"], action, "token:bob"), hosting.EFORBIDDEN, "")
		wantCode(t, b.svc.Authorize(ctx, users["am"], action, "token:ann"), hosting.EFORBIDDEN, "")
	}

	annTok, secret, err := b.svc.CreateTokenAs(ctx, hosting.Actor{Name: "ann"}, "ann", "ci")
	must(t, err)
	bobTok, _, err := b.svc.CreateTokenAs(ctx, hosting.Actor{Name: "bob"}, "bob", "")
	must(t, err)
	if bobTok.Name != "api" {
		t.Errorf("a token without a name is named %q", bobTok.Name)
	}
	_, err = b.svc.RevokeTokenOf(ctx, hosting.Actor{Name: "bob"}, "bob", annTok.ID)
	wantCode(t, err, aegir.ENOTFOUND, "")
	if _, err := b.svc.Authenticate(ctx, secret); err != nil {
		t.Fatalf("ann's token stopped working after bob's try: %v", err)
	}
	revoked, err := b.svc.RevokeTokenOf(ctx, hosting.Actor{Name: "ann"}, "ann", annTok.ID)
	must(t, err)
	if revoked.RevokedAt == nil {
		t.Errorf("revoked token %+v", revoked)
	}
	_, err = b.svc.Authenticate(ctx, secret)
	wantCode(t, err, aegir.EUNAUTHORIZED, "")
	again, err := b.svc.RevokeTokenOf(ctx, hosting.Actor{Name: "ann"}, "ann", annTok.ID)
	must(t, err)
	if again.RevokedAt == nil || again.ID != annTok.ID {
		t.Errorf("a second revoke: %+v", again)
	}
	audit, _, err := b.store.ListAudit(ctx, aegir.AuditFilter{PerPage: 10})
	must(t, err)
	var byAnn int
	for _, e := range audit {
		if e.Actor == "ann" && (e.Action == "token.create" || e.Action == "token.revoke") {
			byAnn++
		}
	}
	if byAnn != 2 {
		t.Errorf("the audit log names ann for %d token changes, want 2: %+v", byAnn, audit)
	}
}

// TestOnlyThoseWhoSeeServersSeePaths: the paths on servers go with the
// servers' names, to those who may list servers.
func TestOnlyThoseWhoSeeServersSeePaths(t *testing.T) {
	t.Parallel()
	for role, want := range map[string]bool{aegir.RoleAdministrator: true, aegir.RolePlatformManager: true,
		aegir.RoleAccountManager: false, aegir.RoleClient: false} {
		if got := hosting.ShowsMachines(&aegir.User{Name: "u", Role: role}); got != want {
			t.Errorf("%s users see paths: %v, want %v", role, got, want)
		}
	}
	if hosting.ShowsMachines(nil) || hosting.ShowsMachines(&aegir.User{Role: aegir.RoleAdministrator, Disabled: true}) {
		t.Error("nobody, or a disabled user, sees paths")
	}
}
