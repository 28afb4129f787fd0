package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// names returns the "name" of each object in a list answer.
func names(t *testing.T, a answer, key string) []string {
	t.Helper()
	list, ok := a.body[key].([]any)
	if !ok {
		t.Fatalf("no list %q in %s", key, a.raw)
	}
	var out []string
	for _, v := range list {
		m := v.(map[string]any)
		if n, ok := m["name"]; ok {
			out = append(out, fmt.Sprint(n))
		} else {
			out = append(out, fmt.Sprint(m["object"]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestClientUserSeesOnlyTheirClientsObjects is the isolation of clients on
// the API: ann, a client user of acme, sees nothing of beta. Its site, its
// tasks and its backups answer 404 as if they did not exist, lists leave
// them out, and she can neither queue tasks on beta's site nor put a site
// on the platform reserved to beta.
func TestClientUserSeesOnlyTheirClientsObjects(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		ann := func(method, path string, body any) answer { t.Helper(); return w.as(t, "ann", method, path, body) }

		if got := names(t, ann("GET", "/api/sites", nil).want(t, 200), "sites"); !slices.Equal(got, []string{"a.example"}) {
			t.Fatalf("ann's sites: %v", got)
		}
		if got := names(t, ann("GET", "/api/sites?client=beta", nil).want(t, 200), "sites"); len(got) != 0 {
			t.Fatalf("ann's sites of beta: %v", got)
		}
		if got := names(t, ann("GET", "/api/tasks", nil).want(t, 200), "tasks"); !slices.Equal(got, []string{"a.example"}) {
			t.Fatalf("ann's tasks are on %v", got)
		}
		if got := names(t, ann("GET", "/api/clients", nil).want(t, 200), "clients"); !slices.Equal(got, []string{"acme"}) {
			t.Fatalf("ann's clients: %v", got)
		}
		if got := names(t, ann("GET", "/api/platforms", nil).want(t, 200), "platforms"); !slices.Equal(got, []string{"platform_a", "platform_open"}) {
			t.Fatalf("ann's platforms: %v", got)
		}
		// Nor does she learn which servers are behind her site: a client
		// user's answers leave the server properties out, an admin's have them.
		for _, a := range []answer{ann("GET", "/api/sites/a.example", nil).want(t, 200), ann("GET", "/api/sites", nil).want(t, 200),
			ann("GET", "/api/platforms/platform_a", nil).want(t, 200), ann("GET", "/api/platforms", nil).want(t, 200)} {
			if strings.Contains(a.raw, "web_server") || strings.Contains(a.raw, "db_server") || strings.Contains(a.raw, "server_master") {
				t.Errorf("a client user is shown the servers: %s", a.raw)
			}
		}
		if a := w.as(t, "admin", "GET", "/api/sites/a.example", nil).want(t, 200); a.obj(t, "site")["db_server"] != "@server_master" {
			t.Errorf("the admin is not shown the site's db server: %s", a.raw)
		}

		// Everything of beta is 404, with the message a missing object gets.
		for _, path := range []string{"/api/sites/b.example", "/api/sites/b.example/backups", "/api/sites/b.example/offsite-snapshots", fmt.Sprintf("/api/tasks/%d", w.taskB),
			fmt.Sprintf("/api/tasks/%d/log", w.taskB), "/api/platforms/platform_b", "/api/clients/beta", "/api/users/bob"} {
			a := ann("GET", path, nil).wantError(t, 404, "not_found", "")
			if strings.Contains(a.raw, "allowed") || strings.Contains(a.raw, "may not") {
				t.Errorf("GET %s tells more than that it does not exist: %s", path, a.raw)
			}
		}
		missing := ann("GET", "/api/sites/nosuch.example", nil).wantError(t, 404, "not_found", "")
		hidden := ann("GET", "/api/sites/b.example", nil)
		if strings.Replace(hidden.raw, "b.example", "nosuch.example", 1) != missing.raw {
			t.Errorf("a hidden site answers differently from a missing one:\n%s\n%s", hidden.raw, missing.raw)
		}
		ann("POST", "/api/sites/b.example/tasks", map[string]any{"type": "backup"}).wantError(t, 404, "not_found", "")
		ann("PATCH", "/api/sites/b.example", map[string]any{"aliases": []string{"x.b.example"}}).wantError(t, 404, "not_found", "")
		ann("DELETE", "/api/sites/b.example", nil).wantError(t, 404, "not_found", "")
		ann("POST", fmt.Sprintf("/api/tasks/%d/cancel", w.taskBQueued), nil).wantError(t, 404, "not_found", "")
		ann("POST", fmt.Sprintf("/api/tasks/%d/retry", w.taskBFailed), nil).wantError(t, 404, "not_found", "")

		// No site on beta's platform, none for beta, none moved there.
		a := ann("POST", "/api/sites", map[string]any{"uri": "new.example", "platform": "platform_b"}).wantError(t, 400, "invalid", "platform")
		if !strings.Contains(a.raw, "does not exist") {
			t.Errorf("the reserved platform is not hidden: %s", a.raw)
		}
		ann("POST", "/api/sites", map[string]any{"uri": "new.example", "platform": "platform_a", "client": "beta"}).wantError(t, 400, "invalid", "client")
		ann("POST", "/api/sites/a.example/tasks", map[string]any{"type": "migrate", "args": map[string]string{"platform": "platform_b"}}).
			wantError(t, 400, "invalid", "args.platform")
		ann("POST", "/api/sites/a.example/tasks", map[string]any{"type": "clone", "args": map[string]string{"new_uri": "c.example", "platform": "platform_b"}}).
			wantError(t, 400, "invalid", "args.platform")
		ann("PATCH", "/api/sites/a.example", map[string]any{"client": "beta"}).wantError(t, 400, "invalid", "client")
		ann("PATCH", "/api/sites/a.example", map[string]any{"db_server": "@server_other"}).wantError(t, 400, "invalid", "db_server")
		if _, err := b.store.GetSite(t.Context(), "new.example"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
			t.Fatalf("a refused site was created: %v", err)
		}

		// What is hers works: a new site is acme's without asking, on
		// a platform open to acme.
		a = ann("POST", "/api/sites", map[string]any{"uri": "new.example", "platform": "platform_open"}).want(t, 201)
		if a.obj(t, "site")["client"] != "acme" || a.obj(t, "task")["creator"] != "ann" {
			t.Fatalf("ann's new site: %s", a.raw)
		}
		ann("POST", "/api/sites/a.example/tasks", map[string]any{"type": "backup"}).want(t, 201)
		ann("GET", "/api/sites/a.example/backups", nil).want(t, 200)
		// Tasks a client user may not queue at all are 403, on her site too.
		ann("POST", "/api/sites/a.example/tasks", map[string]any{"type": "import"}).wantError(t, 403, "forbidden", "")
		ann("POST", "/api/servers/server_master/tasks", map[string]any{"type": "verify"}).wantError(t, 403, "forbidden", "")
		ann("GET", "/api/users", nil).wantError(t, 403, "forbidden", "")
		ann("PATCH", "/api/users/ann", map[string]any{"clients": []string{"acme", "beta"}}).wantError(t, 403, "forbidden", "")
		ann("PATCH", "/api/users/ann", map[string]any{"role": "administrator"}).wantError(t, 403, "forbidden", "")
		ann("PATCH", "/api/users/ann", map[string]any{"email": "ann@acme.example"}).want(t, 200)
	})
}

// TestRolesKeepToTheirWork checks the managers: an account manager manages
// clients and users but runs no technical task and gives no role above
// their own; a platform manager manages servers and platforms but not
// users, clients or sites.
func TestRolesKeepToTheirWork(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		am := func(method, path string, body any) answer { t.Helper(); return w.as(t, "am", method, path, body) }
		pm := func(method, path string, body any) answer { t.Helper(); return w.as(t, "pm", method, path, body) }

		for _, typ := range []string{"backup", "verify", "migrate", "delete", "login-reset"} {
			am("POST", "/api/sites/a.example/tasks", map[string]any{"type": typ}).wantError(t, 403, "forbidden", "")
		}
		am("POST", "/api/platforms/platform_a/tasks", map[string]any{"type": "verify"}).wantError(t, 403, "forbidden", "")
		am("POST", "/api/sites", map[string]any{"uri": "x.example", "platform": "platform_open"}).wantError(t, 403, "forbidden", "")
		am("GET", "/api/servers", nil).wantError(t, 403, "forbidden", "")
		if got := names(t, am("GET", "/api/tasks", nil).want(t, 200), "tasks"); slices.Contains(got, "server_master") {
			t.Fatalf("the account manager sees server tasks: %v", got)
		}
		am("GET", fmt.Sprintf("/api/tasks/%d", w.taskServer), nil).wantError(t, 404, "not_found", "")
		am("POST", "/api/clients", map[string]any{"name": "gamma"}).want(t, 201)
		a := am("POST", "/api/users", map[string]any{"name": "gina", "email": "gina@gamma.example", "role": "client", "clients": []string{"gamma"}}).want(t, 201)
		if u := a.obj(t, "user"); u["role"] != "client" || fmt.Sprint(u["clients"]) != "[gamma]" || u["has_password"] != false {
			t.Fatalf("new user %s", a.raw)
		}
		am("POST", "/api/users", map[string]any{"name": "root2", "role": "administrator"}).wantError(t, 403, "forbidden", "")
		am("POST", "/api/users", map[string]any{"name": "pm2", "role": "platform_manager"}).wantError(t, 403, "forbidden", "")
		am("PATCH", "/api/users/gina", map[string]any{"role": "administrator"}).wantError(t, 403, "forbidden", "")
		am("PATCH", "/api/users/pm", map[string]any{"disabled": true}).wantError(t, 403, "forbidden", "")
		am("PATCH", "/api/users/am", map[string]any{"role": "administrator"}).wantError(t, 403, "forbidden", "")
		am("PATCH", "/api/users/gina", map[string]any{"disabled": true}).want(t, 200)
		a = am("POST", "/api/users/bob/login-link", nil).want(t, 201)
		if link, _ := a.body["url"].(string); !strings.HasPrefix(link, w.http.URL+"/login/link/") {
			t.Fatalf("login link %s", a.raw)
		}

		pm("GET", "/api/users", nil).wantError(t, 403, "forbidden", "")
		pm("POST", "/api/users", map[string]any{"name": "x", "role": "client"}).wantError(t, 403, "forbidden", "")
		pm("PATCH", "/api/users/bob", map[string]any{"disabled": true}).wantError(t, 403, "forbidden", "")
		pm("POST", "/api/clients", map[string]any{"name": "delta"}).wantError(t, 403, "forbidden", "")
		pm("POST", "/api/sites/a.example/tasks", map[string]any{"type": "backup"}).wantError(t, 403, "forbidden", "")
		pm("POST", "/api/platforms", map[string]any{"name": "platform_c", "root": "/var/aegir/platforms/c", "clients": []string{"acme"}}).want(t, 201)
		pm("POST", "/api/servers/server_master/tasks", map[string]any{"type": "verify"}).want(t, 201)

		// The platform manager reads sites' tasks but not the login link
		// an install left: only those who may ask for one see it.
		for _, c := range []struct {
			user string
			see  bool
		}{{"pm", false}, {"am", false}, {"bob", true}, {"admin", true}} {
			a := w.as(t, c.user, "GET", fmt.Sprintf("/api/tasks/%d", w.taskB), nil).want(t, 200)
			if got := strings.Contains(a.raw, "/login/secret"); got != c.see {
				t.Errorf("%s sees the login link: %v, want %v: %s", c.user, got, c.see, a.raw)
			}
		}

		// The audit log says who did what.
		a = w.as(t, "admin", "GET", "/api/audit?object=user:gina", nil).want(t, 200)
		for _, want := range []string{`"actor": "am"`, `"action": "user.create"`, `"action": "user.disable"`} {
			if !strings.Contains(a.raw, want) {
				t.Errorf("audit log lacks %s: %s", want, a.raw)
			}
		}
		am("GET", "/api/audit", nil).wantError(t, 403, "forbidden", "")
	})
}

// TestUsersAPI covers the users' life: create, read, disable (their token
// stops working), reset by login link, and the guards on the last
// administrator.
func TestUsersAPI(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		b.svc.Argon2 = fastArgon2
		ctx := t.Context()
		b.do(t, "POST", "/api/clients", map[string]any{"name": "acme"}).want(t, 201)
		a := b.do(t, "POST", "/api/users", map[string]any{"name": "ann", "email": "ann@example.com", "role": "client", "clients": []string{"acme"}}).want(t, 201)
		if strings.Contains(a.raw, "password") && !strings.Contains(a.raw, "has_password") {
			t.Fatalf("the answer shows a password: %s", a.raw)
		}
		b.do(t, "POST", "/api/users", map[string]any{"name": "ann", "role": "client"}).wantError(t, 409, "conflict", "name")
		b.do(t, "POST", "/api/users", map[string]any{"name": "bo", "role": "client", "clients": []string{"nope"}}).wantError(t, 400, "invalid", "clients")
		b.do(t, "POST", "/api/users", map[string]any{"name": "bo", "role": "root"}).wantError(t, 400, "invalid", "role")
		b.do(t, "POST", "/api/users", map[string]any{"name": "bo", "password": "short"}).wantError(t, 400, "invalid", "password")
		b.do(t, "POST", "/api/users", map[string]any{"name": "bo", "hash": "x"}).wantError(t, 400, "invalid", "hash")
		b.do(t, "GET", "/api/users/ann", nil).want(t, 200)
		b.do(t, "GET", "/api/users/nobody", nil).wantError(t, 404, "not_found", "")

		_, secret, err := b.svc.CreateToken(ctx, "ann", "ci")
		must(t, err)
		annAuth := map[string]string{"Authorization": "Bearer " + secret}
		me := b.doWith(t, "GET", "/api/me", nil, annAuth).want(t, 200)
		if me.obj(t, "user")["name"] != "ann" {
			t.Fatalf("me: %s", me.raw)
		}
		b.do(t, "PATCH", "/api/users/ann", map[string]any{"disabled": true}).want(t, 200)
		b.doWith(t, "GET", "/api/me", nil, annAuth).wantError(t, 401, "unauthorized", "")
		b.do(t, "PATCH", "/api/users/ann", map[string]any{"disabled": false, "password": "a long new password"}).want(t, 200)
		b.doWith(t, "GET", "/api/me", nil, annAuth).want(t, 200)
		u, err := b.store.GetUserByName(ctx, "ann")
		must(t, err)
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$") || !hosting.VerifyPassword("a long new password", u.PasswordHash) {
			t.Fatalf("password hash %q", u.PasswordHash)
		}

		// The last administrator stays one, and nobody deletes themselves.
		b.do(t, "PATCH", "/api/users/admin", map[string]any{"role": "client"}).wantError(t, 409, "conflict", "")
		b.do(t, "PATCH", "/api/users/admin", map[string]any{"disabled": true}).wantError(t, 400, "invalid", "disabled")
		b.do(t, "DELETE", "/api/users/admin", nil).wantError(t, 409, "conflict", "")
		b.do(t, "DELETE", "/api/users/ann", nil).want(t, http.StatusNoContent)
		b.doWith(t, "GET", "/api/me", nil, annAuth).wantError(t, 401, "unauthorized", "")
		a = b.do(t, "GET", "/api/audit", nil).want(t, 200)
		for _, want := range []string{"user.create", "user.disable", "user.enable", "user.password", "user.delete", "token.create"} {
			if !strings.Contains(a.raw, `"action": "`+want+`"`) {
				t.Errorf("audit log lacks %s", want)
			}
		}
	})
}

// TestOnlyAdministratorsSetServerCommands: a platform manager who could set
// a server's test or reload command would run any command as the aegir
// user. Those properties (and the paths aegir writes or opens) are the
// administrators'; a command that would run other code is refused to
// everyone.
func TestOnlyAdministratorsSetServerCommands(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		pm := func(method, path string, body any) answer { t.Helper(); return w.as(t, "pm", method, path, body) }
		admin := func(method, path string, body any) answer { t.Helper(); return w.as(t, "admin", method, path, body) }
		attack := map[string]any{"name": "server_evil", "http_service_type": "nginx", "http_test_cmd": []string{"sh", "-c", "id > /tmp/owned"}}
		pm("POST", "/api/servers", attack).wantError(t, 403, "forbidden", "http_test_cmd")
		pm("GET", "/api/servers/server_evil", nil).wantError(t, 404, "not_found", "")
		for _, prop := range []string{"http_restart_cmd", "http_conf_link", "php_fpm_socket", "web_group"} {
			pm("PATCH", "/api/servers/server_master", map[string]any{prop: "/tmp/x"}).wantError(t, 403, "forbidden", prop)
		}
		// What a platform manager does set still works.
		pm("POST", "/api/servers", map[string]any{"name": "server_web9", "http_service_type": "nginx", "http_port": 8081}).want(t, 201)
		// Administrators set commands, but not ones that run other code.
		admin("POST", "/api/servers", attack).wantError(t, 400, "invalid", "http_test_cmd")
		admin("PATCH", "/api/servers/server_web9", map[string]any{"http_test_cmd": []string{"sudo", "-n", "/usr/sbin/nginx", "-t"}}).want(t, 200)
	})
}

// TestASiteSharesOnlyItsClientsCertificates: naming another client's site
// as ssl_key would reissue that site's certificate with both names and put
// its private key in our vhost. bob (beta) may not, on a new site or his own
// site, and the refusal does not say whose the name is; a site of his own
// client is fine.
func TestASiteSharesOnlyItsClientsCertificates(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		bob := func(method, path string, body any) answer { t.Helper(); return w.as(t, "bob", method, path, body) }
		a := bob("PATCH", "/api/sites/b.example", map[string]any{"ssl_key": "a.example"}).wantError(t, 400, "invalid", "ssl_key")
		if strings.Contains(a.raw, "acme") {
			t.Fatalf("the refusal names the other client: %s", a.raw)
		}
		bob("POST", "/api/sites", map[string]any{"uri": "b2.example", "platform": "platform_b", "ssl_key": "a.example", "ssl_enabled": 1}).wantError(t, 400, "invalid", "ssl_key")
		bob("PATCH", "/api/sites/b.example", map[string]any{"ssl_key": "nosuch.example"}).wantError(t, 400, "invalid", "ssl_key")
		bob("POST", "/api/sites", map[string]any{"uri": "b2.example", "platform": "platform_b", "ssl_key": "b.example", "ssl_enabled": 1}).want(t, 201)
		if r, err := b.store.GetSite(t.Context(), "b.example"); err != nil || r.Site.SSLKey != "" {
			t.Fatalf("b.example after the refusals: %+v %v", r, err)
		}
	})
}

// TestADeletedSitesPastIsNotHandedToWhoeverTakesItsName: bob's b.example
// is deleted; ann (another client) creates a site of that name. She sees
// none of the old site's backups (its database and files) or tasks (their
// logs hold login links), cannot restore or delete them, and the
// administrator still finds them.
func TestADeletedSitesPastIsNotHandedToWhoeverTakesItsName(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		ctx := t.Context()
		ann := func(method, path string, body any) answer { t.Helper(); return w.as(t, "ann", method, path, body) }
		old, err := b.store.ListBackups(ctx, "b.example")
		must(t, err)
		// The queued task ends first: a site with a queued task is not deleted.
		must(t, b.store.CancelTask(ctx, w.taskBQueued))
		b.setStatus(t, "b.example", aegir.SiteDeleted)

		ann("POST", "/api/sites", map[string]any{"uri": "b.example", "platform": "platform_a", "client": "acme"}).want(t, 201)
		if got := ann("GET", "/api/sites/b.example/backups", nil).want(t, 200); strings.Contains(got.raw, old[0].File) {
			t.Fatalf("ann sees bob's backups: %s", got.raw)
		}
		for _, id := range []int64{w.taskB, w.taskBFailed} {
			ann("GET", fmt.Sprintf("/api/tasks/%d", id), nil).wantError(t, 404, "not_found", "")
		}
		b.setStatus(t, "b.example", aegir.SiteEnabled)
		ann("POST", "/api/sites/b.example/tasks", map[string]any{"type": "restore", "args": map[string]string{"file": old[0].File}}).wantError(t, 400, "invalid", "args.file")
		ann("POST", "/api/sites/b.example/tasks", map[string]any{"type": "backup-delete", "args": map[string]string{"files": old[0].File}}).wantError(t, 400, "invalid", "args.files")
		// The administrator still has them.
		kept, err := b.store.GetBackup(ctx, old[0].ID)
		must(t, err)
		if !strings.HasPrefix(kept.Site, "b.example~deleted-") {
			t.Fatalf("bob's backup is now of %q", kept.Site)
		}
		w.as(t, "admin", "GET", fmt.Sprintf("/api/tasks/%d", w.taskB), nil).want(t, 200)
	})
}

// TestOwnPasswordChangeNeedsTheCurrentOne: over the API, as on the account
// page, a user who has a password gives it to set another; an
// administrator resetting someone's password does not.
func TestOwnPasswordChangeNeedsTheCurrentOne(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		ann := func(method, path string, body any) answer { t.Helper(); return w.as(t, "ann", method, path, body) }
		ann("PATCH", "/api/users/ann", map[string]any{"password": "second-Passw0rd-ann"}).wantError(t, 400, "invalid", "current_password")
		ann("PATCH", "/api/users/ann", map[string]any{"password": "second-Passw0rd-ann", "current_password": "wrong"}).wantError(t, 400, "invalid", "current_password")
		ann("PATCH", "/api/users/ann", map[string]any{"password": "second-Passw0rd-ann", "current_password": testPassword}).want(t, 200)
		ann("PATCH", "/api/users/ann", map[string]any{"email": "ann@acme.example", "current_password": "x"}).wantError(t, 400, "invalid", "current_password")
		w.as(t, "admin", "PATCH", "/api/users/ann", map[string]any{"password": "reset-Passw0rd-by-admin"}).want(t, 200)
	})
}

// TestTheServerFormOffersCommandsToAdministratorsOnly: the fields a
// platform manager may not set (commands, paths, per-site pools) are not
// on the form a platform manager gets, and what the form posts is only
// what that user may set; an administrator gets them all and can turn
// per-site pools on from the form.
func TestTheServerFormOffersCommandsToAdministratorsOnly(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		_, page, _ := w.login(t, "pm").get("/servers/new")
		for _, f := range hosting.AdminServerProps {
			if strings.Contains(page, `name="`+f+`"`) {
				t.Errorf("a platform manager's server form offers %s", f)
			}
		}
		if !strings.Contains(page, `name="http_port"`) {
			t.Fatalf("a platform manager's server form has no port:\n%s", page)
		}
		// Posting an admin-only field anyway is not passed on.
		status, _, _ := w.login(t, "pm").post("/servers", url.Values{"name": {"server_pm"}, "http_service_type": {"nginx"},
			"http_port": {"8082"}, "db_service_type": {"null"}, "http_test_cmd": {"/bin/true"}})
		if status != http.StatusSeeOther {
			t.Fatalf("a platform manager's server: %d", status)
		}
		if r, err := b.store.GetServer(t.Context(), "server_pm"); err != nil || len(r.Server.HTTPTestCmd) != 0 {
			t.Fatalf("server_pm: %+v %v", r, err)
		}

		admin := w.login(t, "admin")
		_, page, _ = admin.get("/servers/new")
		for _, f := range hosting.AdminServerProps {
			if !strings.Contains(page, `name="`+f+`"`) {
				t.Errorf("an administrator's server form has no %s", f)
			}
		}
		status, body, _ := admin.post("/servers", url.Values{"name": {"server_pools"}, "http_service_type": {"nginx"},
			"http_port": {"8083"}, "db_service_type": {"null"}, "php_fpm_pools": {"1"}})
		if status != http.StatusSeeOther {
			t.Fatalf("an administrator's server with pools: %d\n%s", status, body)
		}
		if r, err := b.store.GetServer(t.Context(), "server_pools"); err != nil || !r.Server.PHPFPMPools {
			t.Fatalf("server_pools: %+v %v", r, err)
		}
		// A cluster of two servers; one of a server that does not exist is
		// refused naming the field.
		status, body, _ = admin.post("/servers", url.Values{"name": {"server_cluster1"}, "http_service_type": {"cluster"},
			"cluster_web_servers": {"@server_pools,@server_nowhere"}, "db_service_type": {"null"}})
		if status == http.StatusSeeOther || !strings.Contains(body, "server_nowhere") {
			t.Fatalf("a cluster of a server that does not exist: %d\n%s", status, body)
		}
		status, body, _ = admin.post("/servers", url.Values{"name": {"server_cluster1"}, "http_service_type": {"cluster"},
			"cluster_web_servers": {"@server_pools"}, "db_service_type": {"null"}})
		if status != http.StatusSeeOther {
			t.Fatalf("a cluster: %d\n%s", status, body)
		}
		if r, err := b.store.GetServer(t.Context(), "server_cluster1"); err != nil || len(r.Server.ClusterWebServers) != 1 {
			t.Fatalf("server_cluster1: %+v %v", r, err)
		}
	})
}
