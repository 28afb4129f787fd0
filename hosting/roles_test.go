package hosting_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

var cheap = hosting.Argon2Params{Time: 1, Memory: 8 * 1024, Threads: 1}

func TestPasswordHashesAreArgon2idInPHCFormat(t *testing.T) {
	t.Parallel()
	h := hosting.HashPassword("a long password", cheap)
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=8192,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(h) {
		t.Fatalf("hash %q", h)
	}
	if h == hosting.HashPassword("a long password", cheap) {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !hosting.VerifyPassword("a long password", h) || hosting.VerifyPassword("a long passwore", h) {
		t.Fatal("verify")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // a gigabyte too many
		"$argon2id$v=19$m=8192,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA"} {
		if hosting.VerifyPassword("x", bad) {
			t.Errorf("%q matched", bad)
		}
	}
	wantCode(t, hosting.CheckPasswordRules("password", "short"), aegir.EINVALID, "password")
	wantCode(t, hosting.CheckPasswordRules("password", strings.Repeat("x", 300)), aegir.EINVALID, "password")
}

func TestRoleRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role, kind, action string
		want               bool
	}{
		{aegir.RoleAdministrator, hosting.KindAudit, hosting.ActRead, true},
		{aegir.RolePlatformManager, hosting.KindServer, hosting.ActCreate, true},
		{aegir.RolePlatformManager, hosting.KindPlatform, "task:migrate-platform", true},
		{aegir.RolePlatformManager, hosting.KindSite, "task:backup", false},
		{aegir.RolePlatformManager, hosting.KindUser, hosting.ActList, false},
		{aegir.RoleAccountManager, hosting.KindUser, hosting.ActCreate, true},
		{aegir.RoleAccountManager, hosting.KindClient, hosting.ActDelete, true},
		{aegir.RoleAccountManager, hosting.KindSite, "task:verify", false},
		{aegir.RoleAccountManager, hosting.KindServer, hosting.ActRead, false},
		{aegir.RoleClient, hosting.KindSite, "task:backup", true},
		{aegir.RoleClient, hosting.KindSite, "task:import", false},
		{aegir.RoleClient, hosting.KindSite, "task:cron", false},
		{aegir.RoleClient, hosting.KindServer, hosting.ActList, false},
		{aegir.RoleClient, hosting.KindPlatform, hosting.ActCreate, false},
		{aegir.RoleClient, hosting.KindAudit, hosting.ActRead, false},
		{aegir.RoleAdministrator, hosting.KindDispatcher, hosting.ActList, true},
		{aegir.RolePlatformManager, hosting.KindDispatcher, hosting.ActList, false},
		{aegir.RoleClient, hosting.KindDispatcher, hosting.ActList, false},
		{"nobody", hosting.KindSite, hosting.ActRead, false},
	}
	for _, tt := range tests {
		if got := hosting.RoleAllows(tt.role, tt.kind, tt.action); got != tt.want {
			t.Errorf("RoleAllows(%s, %s, %s) = %v", tt.role, tt.kind, tt.action, got)
		}
	}
	client := &aegir.User{Role: aegir.RoleClient, Clients: []string{"acme"}}
	scope, types := hosting.ListScope(client, hosting.KindTask)
	if !scope.Limited || !slices.Equal(scope.Clients, []string{"acme"}) || !slices.Contains(types, aegir.SiteContext) || slices.Contains(types, aegir.ServerContext) {
		t.Fatalf("client task scope %+v %v", scope, types)
	}
	if scope, types := hosting.ListScope(&aegir.User{Role: aegir.RoleAdministrator}, hosting.KindTask); scope.Limited || types != nil {
		t.Fatalf("admin task scope %+v %v", scope, types)
	}
	if _, types := hosting.ListScope(&aegir.User{Role: aegir.RoleAccountManager}, hosting.KindTask); slices.Contains(types, aegir.ServerContext) {
		t.Fatalf("account manager task types %v", types)
	}
}

func TestAuthorizeHidesOtherClientsObjects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	for _, c := range []string{"acme", "beta"} {
		_, err := b.svc.CreateClient(ctx, hosting.ClientInput{Name: c})
		must(t, err)
	}
	r, err := b.store.GetSite(ctx, "live.example.com")
	must(t, err)
	r.Client = "beta"
	must(t, b.store.UpdateSite(ctx, r))
	ann := &aegir.User{Name: "ann", Role: aegir.RoleClient, Clients: []string{"acme"}}
	bob := &aegir.User{Name: "bob", Role: aegir.RoleClient, Clients: []string{"beta"}}
	wantCode(t, b.svc.Authorize(ctx, ann, hosting.ActRead, "site:live.example.com"), aegir.ENOTFOUND, "")
	must(t, b.svc.Authorize(ctx, bob, hosting.ActRead, "site:live.example.com"))
	must(t, b.svc.Authorize(ctx, bob, "task:backup", "site:live.example.com"))
	wantCode(t, b.svc.Authorize(ctx, bob, "task:import", "site:live.example.com"), hosting.EFORBIDDEN, "")
	wantCode(t, b.svc.Authorize(ctx, ann, hosting.ActRead, "site:nosuch.example.com"), aegir.ENOTFOUND, "")
	wantCode(t, b.svc.Authorize(ctx, ann, hosting.ActRead, "client:beta"), aegir.ENOTFOUND, "")
	wantCode(t, b.svc.Authorize(ctx, nil, hosting.ActRead, "sites"), aegir.EUNAUTHORIZED, "")
	wantCode(t, b.svc.Authorize(ctx, &aegir.User{Role: aegir.RoleAdministrator, Disabled: true}, hosting.ActRead, "sites"), aegir.EUNAUTHORIZED, "")
	// A platform reserved to beta is missing for ann, as a field error
	// when she names it for a site.
	p, err := b.store.GetPlatform(ctx, "platform_b")
	must(t, err)
	p.Clients = []string{"beta"}
	must(t, b.store.UpdatePlatform(ctx, p))
	wantCode(t, b.svc.CheckUse(ctx, ann, hosting.KindPlatform, "platform_b", "platform"), aegir.EINVALID, "platform")
	must(t, b.svc.CheckUse(ctx, bob, hosting.KindPlatform, "platform_b", "platform"))
	must(t, b.svc.CheckUse(ctx, ann, hosting.KindPlatform, "platform_a", "platform"))
	// Tasks: a client user reads the tasks of their sites only.
	task, err := b.svc.CreateTask(ctx, hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: "live.example.com", Type: aegir.TaskBackup}, "bob")
	must(t, err)
	must(t, b.svc.Authorize(ctx, bob, hosting.ActCancel, "task:"+itoa(task.ID)))
	wantCode(t, b.svc.Authorize(ctx, ann, hosting.ActRead, "task:"+itoa(task.ID)), aegir.ENOTFOUND, "")
	wantCode(t, b.svc.Authorize(ctx, ann, hosting.ActRead, "task:x"), aegir.ENOTFOUND, "")
	// Account managers give only the roles below administrators and
	// platform managers.
	am := &aegir.User{Name: "am", Role: aegir.RoleAccountManager}
	must(t, b.svc.Authorize(ctx, am, hosting.ActGrant, "role:client"))
	wantCode(t, b.svc.Authorize(ctx, am, hosting.ActGrant, "role:administrator"), hosting.EFORBIDDEN, "")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestFailedLoginsLookAlike(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.svc.Argon2 = cheap
	ctx := t.Context()
	a := hosting.Actor{Address: "192.0.2.1"}
	_, err := b.svc.CreateUser(ctx, a, hosting.UserInput{Name: "ann", Password: ptr("a long password")})
	must(t, err)
	_, err = b.svc.CreateUser(ctx, a, hosting.UserInput{Name: "nopass"})
	must(t, err)
	_, err = b.svc.CreateUser(ctx, a, hosting.UserInput{Name: "off", Password: ptr("a long password"), Disabled: ptr(true)})
	must(t, err)
	var msgs []string
	for _, c := range [][2]string{{"ann", "wrong password"}, {"nobody", "a long password"}, {"nopass", ""}, {"off", "a long password"}} {
		_, err := b.svc.Login(ctx, a, c[0], c[1])
		wantCode(t, err, aegir.EUNAUTHORIZED, "")
		msgs = append(msgs, err.Error())
	}
	if len(slices.Compact(slices.Clone(msgs))) != 1 {
		t.Fatalf("failed logins differ: %q", msgs)
	}
	u, err := b.svc.Login(ctx, a, "ann", "a long password")
	must(t, err)
	if u.Name != "ann" || u.Role != aegir.RoleClient {
		t.Fatalf("login: %+v", u)
	}
	list, _, err := b.store.ListAudit(ctx, aegir.AuditFilter{Object: "user:off"})
	must(t, err)
	if len(list) != 2 || list[0].Action != "login.failed" || list[0].Detail != "user disabled" || list[0].Address != "192.0.2.1" {
		t.Fatalf("audit of off: %+v", list[0])
	}
}

func ptr[T any](v T) *T { return &v }
