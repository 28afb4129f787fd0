package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

func TestCreateServerPlatformSite(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		a := b.do(t, "POST", "/api/servers", map[string]any{"name": "@server_master", "http_port": 8080,
			"master_db": "mysql://root:hunter2@127.0.0.1:3306"}).want(t, 201)
		if a.obj(t, "server")["http_port"] != float64(8080) || a.obj(t, "task")["type"] != "verify" {
			t.Fatalf("server answer %s", a.raw)
		}
		a = b.do(t, "POST", "/api/platforms", `{"name": "platform_wp", "root": "/var/aegir/platforms/wp"}`).want(t, 201)
		if p := a.obj(t, "platform"); p["web_server"] != "@server_master" || p["root"] != "/var/aegir/platforms/wp" {
			t.Fatalf("platform answer %s", a.raw)
		}
		if task := a.obj(t, "task"); task["type"] != "verify" || task["exclusive"] != true {
			t.Fatalf("platform task %s", a.raw)
		}

		a = b.do(t, "POST", "/api/sites", `{"uri": "example.com", "platform": "@platform_wp"}`).want(t, 201)
		site, task := a.obj(t, "site"), a.obj(t, "task")
		if site["name"] != "example.com" || site["status"] != "installing" || site["platform"] != "@platform_wp" || site["db_server"] != "@server_master" {
			t.Fatalf("site %s", a.raw)
		}
		if task["type"] != "install" || task["status"] != "queued" || task["id"] == nil || task["object"] != "example.com" {
			t.Fatalf("task %s", a.raw)
		}

		// The task is in the queue with its creator.
		a = b.do(t, "GET", fmt.Sprintf("/api/tasks/%v", task["id"]), nil).want(t, 200)
		if a.obj(t, "task")["creator"] != "admin" || a.body["log"] == nil {
			t.Fatalf("task %s", a.raw)
		}
		a = b.do(t, "GET", "/api/tasks?status=queued&object=@example.com", nil).want(t, 200)
		if a.body["total"] != float64(1) {
			t.Fatalf("queued tasks of example.com %s", a.raw)
		}

		// GET shows the site; a leading @ in the path is accepted.
		a = b.do(t, "GET", "/api/sites/@example.com", nil).want(t, 200)
		if a.obj(t, "site")["uri"] != "example.com" {
			t.Fatalf("get %s", a.raw)
		}
		// A site's db password is masked, in the object and in lists.
		r, err := b.store.GetSite(t.Context(), "example.com")
		must(t, err)
		r.Site.DBName, r.Site.DBUser, r.Site.DBPassword = "examplecom", "examplecom", "topsecret"
		must(t, b.store.UpdateSite(t.Context(), r))
		for _, path := range []string{"/api/sites/example.com", "/api/sites"} {
			a = b.do(t, "GET", path, nil).want(t, 200)
			if strings.Contains(a.raw, "topsecret") || !strings.Contains(a.raw, `"db_passwd": "********"`) || !strings.Contains(a.raw, `"db_name": "examplecom"`) {
				t.Fatalf("GET %s: %s", path, a.raw)
			}
		}
		// The server's db password is masked.
		a = b.do(t, "GET", "/api/servers/server_master", nil).want(t, 200)
		if strings.Contains(a.raw, "hunter2") || a.obj(t, "server")["master_db"] != "mysql://root:***@127.0.0.1:3306" {
			t.Fatalf("secret shown: %s", a.raw)
		}
	})
}

func TestBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		b.do(t, "POST", "/api/sites", map[string]any{"uri": "taken.example.com", "platform": "platform_wp", "aliases": []string{"www.taken.example.com"}}).want(t, 201)
		tests := []struct {
			name, method, path string
			body               any
			status             int
			code, field        string
		}{
			{"bad uri", "POST", "/api/sites", map[string]any{"uri": "Not A Domain", "platform": "platform_wp"}, 400, "invalid", "uri"},
			{"unknown property", "POST", "/api/sites", map[string]any{"uri": "a.example.com", "platform": "platform_wp", "colour": "red"}, 400, "invalid", "colour"},
			{"internal property", "POST", "/api/sites", map[string]any{"uri": "a.example.com", "platform": "platform_wp", "db_passwd": "x"}, 400, "invalid", "db_passwd"},
			{"read-only field", "POST", "/api/sites", map[string]any{"uri": "a.example.com", "platform": "platform_wp", "status": "enabled"}, 400, "invalid", "status"},
			{"no platform", "POST", "/api/sites", map[string]any{"uri": "a.example.com"}, 400, "invalid", "platform"},
			{"missing platform", "POST", "/api/sites", map[string]any{"uri": "a.example.com", "platform": "@platform_nope"}, 400, "invalid", "platform"},
			{"missing db server", "POST", "/api/sites", map[string]any{"uri": "a.example.com", "platform": "platform_wp", "db_server": "@server_nope"}, 400, "invalid", "db_server"},
			{"wrong type", "POST", "/api/servers", map[string]any{"name": "server_x", "http_port": "eighty"}, 400, "invalid", "http_port"},
			{"object as value", "POST", "/api/servers", map[string]any{"name": "server_x", "http_port": map[string]any{}}, 400, "invalid", "http_port"},
			{"relative root", "POST", "/api/platforms", map[string]any{"name": "platform_x", "root": "relative/path"}, 400, "invalid", "root"},
			{"not json", "POST", "/api/sites", "{not json", 400, "invalid", ""},
			{"empty body", "POST", "/api/sites", "", 400, "invalid", ""},
			{"bad page", "GET", "/api/sites?page=zero", nil, 400, "invalid", "page"},
			{"bad task status", "GET", "/api/tasks?status=sleeping", nil, 400, "invalid", "status"},
			{"duplicate site", "POST", "/api/sites", map[string]any{"uri": "taken.example.com", "platform": "platform_wp"}, 409, "conflict", ""},
			{"duplicate platform", "POST", "/api/platforms", map[string]any{"name": "platform_wp", "root": "/srv/x"}, 409, "conflict", ""},
			{"uri is an alias", "POST", "/api/sites", map[string]any{"uri": "www.taken.example.com", "platform": "platform_wp"}, 409, "conflict", "uri"},
			{"alias taken", "POST", "/api/sites", map[string]any{"uri": "b.example.com", "platform": "platform_wp", "aliases": "www.taken.example.com"}, 409, "conflict", "aliases"},
			{"rename", "PATCH", "/api/sites/taken.example.com", map[string]any{"uri": "other.example.com"}, 400, "invalid", "uri"},
			{"no such site", "GET", "/api/sites/nope.example.com", nil, 404, "not_found", ""},
			{"no such task", "GET", "/api/tasks/999999", nil, 404, "not_found", ""},
			{"no such path", "GET", "/api/widgets", nil, 404, "not_found", ""},
			{"wrong method", "PUT", "/api/sites/taken.example.com", map[string]any{}, 405, "method_not_allowed", ""},
			{"unknown task", "POST", "/api/sites/taken.example.com/tasks", map[string]any{"type": "frobnicate"}, 400, "invalid", "type"},
			{"task of another object type", "POST", "/api/servers/server_master/tasks", map[string]any{"type": "backup"}, 400, "invalid", "type"},
			{"platform in use", "DELETE", "/api/platforms/platform_wp", nil, 409, "conflict", ""},
			{"server in use", "DELETE", "/api/servers/server_master", nil, 409, "conflict", ""},
			{"platform in use, as a task", "POST", "/api/platforms/platform_wp/tasks", map[string]any{"type": "delete"}, 409, "conflict", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b.do(t, tt.method, tt.path, tt.body).wantError(t, tt.status, tt.code, tt.field)
			})
		}
		a := b.do(t, "PUT", "/api/sites/taken.example.com", map[string]any{})
		if allow := a.header.Get("Allow"); !strings.Contains(allow, "PATCH") {
			t.Fatalf("405 without Allow: %q", allow)
		}
	})
}

func TestSitesPaginateAndFilter(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		ctx := t.Context()
		for i := range 120 {
			uri := fmt.Sprintf("site%03d.example.com", i)
			if i%4 == 0 {
				uri = fmt.Sprintf("blog%03d.example.org", i)
			}
			must(t, b.store.CreateSite(ctx, &aegir.SiteRecord{Name: uri, Site: aegir.Site{URI: uri, Platform: "@platform_wp", DBServer: "@server_master"}, Status: aegir.SiteEnabled}))
		}
		a := b.do(t, "GET", "/api/sites?per_page=50&page=2", nil).want(t, 200)
		if list := a.body["sites"].([]any); len(list) != 50 || a.body["total"] != float64(120) || a.body["page"] != float64(2) || a.body["per_page"] != float64(50) {
			t.Fatalf("page 2: %d sites, total %v", len(list), a.body["total"])
		}
		a = b.do(t, "GET", "/api/sites?per_page=50&page=3", nil).want(t, 200)
		if list := a.body["sites"].([]any); len(list) != 20 {
			t.Fatalf("page 3: %d sites", len(list))
		}
		a = b.do(t, "GET", "/api/sites?q=blog&per_page=10", nil).want(t, 200)
		if list := a.body["sites"].([]any); len(list) != 10 || a.body["total"] != float64(30) {
			t.Fatalf("q=blog: %d sites, total %v", len(list), a.body["total"])
		}
		if first := a.body["sites"].([]any)[0].(map[string]any); first["name"] != "blog000.example.org" {
			t.Fatalf("first %v", first["name"])
		}
		a = b.do(t, "GET", "/api/sites?platform=@platform_wp&status=enabled", nil).want(t, 200)
		if a.body["total"] != float64(120) || a.body["per_page"] != float64(aegir.DefaultPerPage) {
			t.Fatalf("filter %v %v", a.body["total"], a.body["per_page"])
		}
		a = b.do(t, "GET", "/api/sites?status=disabled", nil).want(t, 200)
		if a.body["total"] != float64(0) || len(a.body["sites"].([]any)) != 0 {
			t.Fatalf("disabled %s", a.raw)
		}
		b.do(t, "GET", "/api/platforms?q=wp", nil).want(t, 200)
		b.do(t, "GET", "/api/servers", nil).want(t, 200)
		b.do(t, "GET", "/api/clients", nil).want(t, 200)
	})
}

func TestSiteChangesAndTaskRules(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		b.do(t, "POST", "/api/sites", map[string]any{"uri": "example.com", "platform": "platform_wp"}).want(t, 201)
		b.do(t, "POST", "/api/sites", map[string]any{"uri": "other.example.com", "platform": "platform_wp", "aliases": []string{"www.other.example.com"}}).want(t, 201)

		// A site being installed takes no verify on change.
		a := b.do(t, "PATCH", "/api/sites/example.com", map[string]any{"profile": "minimal"}).want(t, 200)
		if a.body["task"] != nil || a.obj(t, "site")["profile"] != "minimal" {
			t.Fatalf("patch of an installing site %s", a.raw)
		}
		// An enabled one does.
		b.setStatus(t, "example.com", aegir.SiteEnabled)
		a = b.do(t, "PATCH", "/api/sites/example.com", map[string]any{"aliases": []string{"www.example.com"}, "redirection": "www.example.com"}).want(t, 200)
		if task := a.obj(t, "task"); task["type"] != "verify" || task["status"] != "queued" {
			t.Fatalf("patch task %s", a.raw)
		}
		site := a.obj(t, "site")
		if fmt.Sprint(site["aliases"]) != "[www.example.com]" || site["redirection"] != "www.example.com" {
			t.Fatalf("patched site %s", a.raw)
		}
		b.do(t, "PATCH", "/api/sites/example.com", map[string]any{"aliases": []string{"www.example.com", "www.other.example.com"}}).wantError(t, 409, "conflict", "aliases")
		b.do(t, "PATCH", "/api/sites/example.com", map[string]any{"platform": "platform_wp2"}).wantError(t, 400, "invalid", "platform")

		// Tasks on an enabled site.
		a = b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "backup", "args": map[string]any{"format": "zst"}}).want(t, 201)
		if task := a.obj(t, "task"); task["type"] != "backup" || task["args"].(map[string]any)["format"] != "zst" {
			t.Fatalf("backup %s", a.raw)
		}
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "backup"}).wantError(t, 409, "conflict", "")
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "enable"}).wantError(t, 409, "conflict", "")
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "migrate"}).wantError(t, 400, "invalid", "args.platform")
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "clone", "args": map[string]any{}}).wantError(t, 400, "invalid", "args.new_uri")
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "restore"}).wantError(t, 400, "invalid", "args.file")
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "backup-delete", "args": map[string]any{"files": []string{}}}).wantError(t, 400, "invalid", "args.files")
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "cron", "extra": 1}).wantError(t, 400, "invalid", "extra")
		a = b.do(t, "DELETE", "/api/sites/example.com", nil).wantError(t, 409, "conflict", "")
		if !strings.Contains(a.body["message"].(string), "disable") {
			t.Fatalf("delete of an enabled site: %s", a.raw)
		}
		must(t, b.store.AddBackup(t.Context(), &aegir.Backup{Site: "example.com", File: "/var/aegir/backups/example.com-20250101.000000.tar.gz"}))
		a = b.do(t, "POST", "/api/sites/@example.com/tasks", map[string]any{"type": "backup-delete",
			"args": map[string]any{"files": []string{"example.com-20250101.000000.tar.gz"}}}).want(t, 201)
		if a.obj(t, "task")["args"].(map[string]any)["files"] != "/var/aegir/backups/example.com-20250101.000000.tar.gz" {
			t.Fatalf("backup-delete %s", a.raw)
		}

		// A disabled site takes only enable and delete.
		b.setStatus(t, "example.com", aegir.SiteDisabled)
		a = b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "backup"}).wantError(t, 409, "conflict", "")
		if msg := a.body["message"].(string); !strings.Contains(msg, "disabled") || !strings.Contains(msg, "enable") {
			t.Fatalf("message %q", msg)
		}
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "enable"}).want(t, 201)
		a = b.do(t, "DELETE", "/api/sites/example.com", nil).want(t, 202)
		if a.obj(t, "task")["type"] != "delete" {
			t.Fatalf("delete %s", a.raw)
		}
		// A deleted site takes nothing.
		b.setStatus(t, "example.com", aegir.SiteDeleted)
		b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "enable"}).wantError(t, 409, "conflict", "")

		// Servers and platforms: changes queue verify; tasks on them.
		a = b.do(t, "PATCH", "/api/servers/server_master", map[string]any{"http_port": "8081"}).want(t, 200)
		if a.obj(t, "server")["http_port"] != float64(8081) {
			t.Fatalf("server patch %s", a.raw)
		}
		a = b.do(t, "PATCH", "/api/platforms/platform_wp", map[string]any{"locked": true}).want(t, 200)
		if a.body["task"] != nil || a.obj(t, "platform")["locked"] != true {
			t.Fatalf("lock %s", a.raw)
		}
		b.do(t, "POST", "/api/sites", map[string]any{"uri": "new.example.com", "platform": "platform_wp"}).wantError(t, 409, "conflict", "platform")
		b.do(t, "POST", "/api/platforms/platform_wp/tasks", map[string]any{"type": "verify"}).wantError(t, 409, "conflict", "")
	})
}

func TestClients(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		a := b.do(t, "POST", "/api/clients", map[string]any{"name": "acme", "title": "Acme Inc.", "email": "ops@acme.example"}).want(t, 201)
		if a.obj(t, "client")["title"] != "Acme Inc." || a.body["task"] != nil {
			t.Fatalf("client %s", a.raw)
		}
		b.do(t, "POST", "/api/clients", map[string]any{"name": "acme"}).wantError(t, 409, "conflict", "")
		b.do(t, "POST", "/api/clients", map[string]any{"name": "much-too-long-client-name"}).wantError(t, 400, "invalid", "name")
		b.do(t, "POST", "/api/clients", map[string]any{"name": "x", "phone": "1"}).wantError(t, 400, "invalid", "phone")
		a = b.do(t, "PATCH", "/api/clients/acme", map[string]any{"title": "Acme"}).want(t, 200)
		if c := a.obj(t, "client"); c["title"] != "Acme" || c["email"] != "ops@acme.example" {
			t.Fatalf("patched client %s", a.raw)
		}
		a = b.do(t, "POST", "/api/sites", map[string]any{"uri": "acme.example.com", "platform": "platform_wp", "client": "acme"}).want(t, 201)
		if a.obj(t, "site")["client"] != "acme" {
			t.Fatalf("site client %s", a.raw)
		}
		b.do(t, "GET", "/api/sites?client=acme", nil).want(t, 200)
		b.do(t, "DELETE", "/api/clients/acme", nil).wantError(t, 409, "conflict", "")
		b.do(t, "POST", "/api/clients", map[string]any{"name": "spare"}).want(t, 201)
		b.do(t, "DELETE", "/api/clients/spare", nil).want(t, 204)
		b.do(t, "GET", "/api/clients/spare", nil).wantError(t, 404, "not_found", "")
	})
}

func TestCancelAndRetry(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		ctx := t.Context()
		a := b.do(t, "POST", "/api/sites", map[string]any{"uri": "example.com", "platform": "platform_wp"}).want(t, 201)
		id := a.obj(t, "task")["id"]
		a = b.do(t, "POST", fmt.Sprintf("/api/tasks/%v/cancel", id), nil).want(t, 200)
		if a.obj(t, "task")["status"] != "cancelled" {
			t.Fatalf("cancel %s", a.raw)
		}
		b.do(t, "POST", fmt.Sprintf("/api/tasks/%v/cancel", id), nil).wantError(t, 409, "conflict", "")
		b.do(t, "POST", fmt.Sprintf("/api/tasks/%v/retry", id), nil).wantError(t, 409, "conflict", "")

		// A failed install is retried as a new queued task.
		a = b.do(t, "POST", "/api/sites/example.com/tasks", map[string]any{"type": "install"}).want(t, 201)
		install := int64(a.obj(t, "task")["id"].(float64))
		claimUntil(t, b.store, install)
		must(t, b.store.FinishTask(ctx, install, aegir.StatusFailed, nil))
		b.setStatus(t, "example.com", aegir.SiteFailed)
		a = b.do(t, "POST", fmt.Sprintf("/api/tasks/%d/retry", install), nil).want(t, 201)
		if task := a.obj(t, "task"); task["status"] != "queued" || task["type"] != "install" || task["id"] == float64(install) {
			t.Fatalf("retry %s", a.raw)
		}
		b.do(t, "POST", "/api/tasks/abc/retry", nil).wantError(t, 404, "not_found", "")
	})
}

// claimUntil claims tasks, finishing the others, until it holds task id.
func claimUntil(t *testing.T, s aegir.Store, id int64) *aegir.Task {
	t.Helper()
	for range 100 {
		task, err := s.ClaimTask(t.Context(), "test/0")
		must(t, err)
		if task == nil {
			t.Fatalf("task %d never became runnable", id)
		}
		if task.ID == id {
			return task
		}
		must(t, s.FinishTask(t.Context(), task.ID, aegir.StatusSuccess, nil))
	}
	t.Fatalf("task %d not claimed", id)
	return nil
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		ctx := t.Context()
		b.doWith(t, "GET", "/api/openapi.json", nil, nil).want(t, 200)
		a := b.doWith(t, "GET", "/api/sites", nil, nil).wantError(t, 401, "unauthorized", "")
		if a.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
		b.doWith(t, "GET", "/api/sites", nil, map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}).wantError(t, 401, "unauthorized", "")
		b.doWith(t, "GET", "/api/sites", nil, map[string]string{"Authorization": "Bearer aegir_nope"}).wantError(t, 401, "unauthorized", "")
		b.doWith(t, "POST", "/api/sites", map[string]any{"uri": "x.example.com"}, nil).wantError(t, 401, "unauthorized", "")

		tok, secret, err := b.svc.CreateToken(ctx, "admin", "ci")
		must(t, err)
		bearer := map[string]string{"Authorization": "Bearer " + secret}
		b.doWith(t, "GET", "/api/sites", nil, bearer).want(t, 200)
		must(t, b.svc.RevokeToken(ctx, tok.ID))
		b.doWith(t, "GET", "/api/sites", nil, bearer).wantError(t, 401, "unauthorized", "")

		u, err := b.store.GetUserByName(ctx, "admin")
		must(t, err)
		u.Disabled = true
		must(t, b.store.UpdateUser(ctx, u))
		b.do(t, "GET", "/api/sites", nil).wantError(t, 401, "unauthorized", "")
	})
}

func TestCrossOriginWritesAreRefused(t *testing.T) {
	t.Parallel()
	b := newBundle(t, stores[0].open(t))
	b.seed(t)
	site := map[string]any{"uri": "x.example.com", "platform": "platform_wp"}
	auth := "Bearer " + b.token
	b.doWith(t, "POST", "/api/sites", site, map[string]string{"Authorization": auth, "Sec-Fetch-Site": "cross-site"}).wantError(t, 403, "forbidden", "")
	b.doWith(t, "POST", "/api/sites", site, map[string]string{"Authorization": auth, "Origin": "https://evil.example"}).wantError(t, 403, "forbidden", "")
	b.doWith(t, "DELETE", "/api/clients/x", nil, map[string]string{"Authorization": auth, "Sec-Fetch-Site": "cross-site"}).wantError(t, 403, "forbidden", "")
	// Reads are safe; same-origin and non-browser writes pass.
	b.doWith(t, "GET", "/api/sites", nil, map[string]string{"Authorization": auth, "Sec-Fetch-Site": "cross-site"}).want(t, 200)
	b.doWith(t, "POST", "/api/sites", site, map[string]string{"Authorization": auth, "Sec-Fetch-Site": "same-origin"}).want(t, 201)
	if _, err := b.store.GetSite(t.Context(), "x.example.com"); err != nil {
		t.Fatal(err)
	}
}

// brokenStore is the real store whose lists fail with an error that holds
// something no client may see.
type brokenStore struct{ aegir.Store }

func (brokenStore) ListServers(context.Context, aegir.ListFilter) ([]*aegir.ServerRecord, int, error) {
	return nil, 0, errors.New("dial tcp 10.0.0.5:5432: password authentication failed for user aegir_secret_user")
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	t.Parallel()
	store := stores[0].open(t)
	b := newBundle(t, store)
	broken := brokenStore{store}
	logs := &syncBuffer{}
	srv := &Server{Service: &hosting.Service{Store: broken}, Store: broken, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	h := httptest.NewServer(srv.Handler())
	defer h.Close()
	b.http = h
	a := b.do(t, "GET", "/api/servers", nil).wantError(t, 500, "internal", "")
	if strings.Contains(a.raw, "aegir_secret_user") || strings.Contains(a.raw, "10.0.0.5") {
		t.Fatalf("internal error leaked: %s", a.raw)
	}
	if !strings.Contains(logs.String(), "aegir_secret_user") {
		t.Fatalf("internal error not logged: %s", logs.String())
	}
}
