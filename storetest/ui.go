package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

// This file tests what the web UI and the role model need: client
// scopes on lists, sessions, login links, the audit log and the
// dashboard's aggregates.

// scoped is a Scope limited to clients.
func scoped(clients ...string) aegir.Scope { return aegir.Scope{Limited: true, Clients: clients} }

func testScopes(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateClient(ctx, &aegir.Client{Name: "c3"}))
	// pa is open to c1, pb to every client, pc to c2 and c3.
	for name, clients := range map[string][]string{"pa": {"c1"}, "pc": {"c3", "c2"}} {
		p, err := s.GetPlatform(ctx, name)
		must(t, err)
		p.Clients = clients
		must(t, s.UpdatePlatform(ctx, p))
	}
	for _, r := range []struct{ name, platform, client string }{
		{"a1.example", "pa", "c1"}, {"a2.example", "pb", "c1"}, {"b1.example", "pc", "c2"}, {"x.example", "pb", ""},
	} {
		rec := site(r.name, r.platform)
		rec.Client = r.client
		must(t, s.CreateSite(ctx, rec))
		enqueue(t, s, siteTask("verify", r.name, r.platform))
	}
	enqueue(t, s, &aegir.Task{Type: "verify", ObjectType: aegir.ServerContext, Object: "server_master"},
		&aegir.Task{Type: "verify", ObjectType: aegir.PlatformContext, Object: "pa", Platform: "pa", Exclusive: true})
	for _, u := range []*aegir.User{
		{Name: "u1", Role: aegir.RoleClient, Clients: []string{"c1"}},
		{Name: "u12", Role: aegir.RoleClient, Clients: []string{"c1", "c2"}},
		{Name: "u2", Role: aegir.RoleClient, Clients: []string{"c2"}},
		{Name: "admin", Role: aegir.RoleAdministrator},
	} {
		must(t, s.CreateUser(ctx, u))
	}

	siteNames := func(sc aegir.Scope, extra aegir.SiteFilter) ([]string, int) {
		t.Helper()
		extra.Scope = sc
		list, total, err := s.ListSites(ctx, extra)
		must(t, err)
		return names(list), total
	}
	for _, c := range []struct {
		scope aegir.Scope
		want  []string
	}{
		{aegir.Scope{}, []string{"a1.example", "a2.example", "b1.example", "x.example"}},
		{scoped("c1"), []string{"a1.example", "a2.example"}},
		{scoped("c1", "c2"), []string{"a1.example", "a2.example", "b1.example"}},
		{scoped("c3"), nil},
		{scoped(), nil},
		{aegir.Scope{Clients: []string{"c1"}}, []string{"a1.example", "a2.example", "b1.example", "x.example"}}, // not limited
	} {
		got, total := siteNames(c.scope, aegir.SiteFilter{})
		wantEqual(t, "ListSites scope", got, c.want)
		if total != len(c.want) {
			t.Fatalf("ListSites(%+v) total = %d, want %d", c.scope, total, len(c.want))
		}
	}
	// The scope combines with the other filters and pages.
	got, total := siteNames(scoped("c1", "c2"), aegir.SiteFilter{Query: "1.", PerPage: 1, Page: 2})
	if total != 2 || len(got) != 1 || got[0] != "b1.example" {
		t.Fatalf("ListSites(scope, query, page 2) = %v of %d", got, total)
	}

	plist, ptotal, err := s.ListPlatforms(ctx, aegir.ListFilter{Scope: scoped("c1")})
	must(t, err)
	if wantEqual(t, "ListPlatforms(c1)", names(plist), []string{"pa", "pb"}); ptotal != 2 {
		t.Fatalf("ListPlatforms(c1) total = %d", ptotal)
	}
	plist, _, err = s.ListPlatforms(ctx, aegir.ListFilter{Scope: scoped("c2")})
	must(t, err)
	wantEqual(t, "ListPlatforms(c2)", names(plist), []string{"pb", "pc"})
	plist, _, err = s.ListPlatforms(ctx, aegir.ListFilter{Scope: scoped()})
	must(t, err)
	wantEqual(t, "ListPlatforms(no client)", names(plist), []string{"pb"})

	clist, ctotal, err := s.ListClients(ctx, aegir.ListFilter{Scope: scoped("c2", "c3")})
	must(t, err)
	if wantEqual(t, "ListClients scope", names(clist), []string{"c2", "c3"}); ctotal != 2 {
		t.Fatalf("ListClients total = %d", ctotal)
	}
	ulist, _, err := s.ListUsers(ctx, aegir.ListFilter{Scope: scoped("c2")})
	must(t, err)
	wantEqual(t, "ListUsers scope", names(ulist), []string{"u12", "u2"})

	tasks := func(f aegir.TaskFilter) []string {
		t.Helper()
		list, total, err := s.ListTasks(ctx, f)
		must(t, err)
		if total != len(list) {
			t.Fatalf("ListTasks(%+v) total %d for %d tasks", f, total, len(list))
		}
		var out []string
		for _, task := range list {
			out = append(out, task.Object)
		}
		return out
	}
	wantEqual(t, "ListTasks(c1)", tasks(aegir.TaskFilter{Scope: scoped("c1")}), []string{"a2.example", "a1.example"})
	wantEqual(t, "ListTasks(c2)", tasks(aegir.TaskFilter{Scope: scoped("c2"), Status: aegir.StatusQueued}), []string{"b1.example"})
	wantEqual(t, "ListTasks(no client)", tasks(aegir.TaskFilter{Scope: scoped()}), []string(nil))
	wantEqual(t, "ListTasks(platforms and servers)", tasks(aegir.TaskFilter{ObjectTypes: []aegir.ContextType{aegir.PlatformContext, aegir.ServerContext}}),
		[]string{"pa", "server_master"})
	wantEqual(t, "ListTasks(sites of c1 on pa)", tasks(aegir.TaskFilter{Scope: scoped("c1"), Object: "a1.example"}), []string{"a1.example"})
	wantEqual(t, "ListTasks(sites of c1, not b1)", tasks(aegir.TaskFilter{Scope: scoped("c1"), Object: "b1.example"}), []string(nil))
}

func testSessions(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	hash := aegir.HashToken("session-one")
	_, found, err := s.FindSession(ctx, hash)
	must(t, err)
	if found {
		t.Fatal("FindSession found a session before any commit")
	}
	later := time.Now().Add(time.Hour)
	must(t, s.CommitSession(ctx, hash, []byte("one"), later))
	data, found, err := s.FindSession(ctx, hash)
	must(t, err)
	if !found || !bytes.Equal(data, []byte("one")) {
		t.Fatalf("FindSession = %q, %v", data, found)
	}
	must(t, s.CommitSession(ctx, hash, []byte("two"), later))
	data, _, err = s.FindSession(ctx, hash)
	must(t, err)
	if string(data) != "two" {
		t.Fatalf("FindSession after a second commit = %q", data)
	}
	// An expired session is not found, and pruning removes it.
	old := aegir.HashToken("session-old")
	must(t, s.CommitSession(ctx, old, []byte("old"), time.Now().Add(-time.Second)))
	if _, found, err = s.FindSession(ctx, old); err != nil || found {
		t.Fatalf("FindSession(expired) = %v, %v", found, err)
	}
	n, err := s.PruneSessions(ctx, time.Now())
	must(t, err)
	if n != 1 {
		t.Fatalf("PruneSessions removed %d, want 1", n)
	}
	must(t, s.DeleteSession(ctx, hash))
	must(t, s.DeleteSession(ctx, hash))
	if _, found, err = s.FindSession(ctx, hash); err != nil || found {
		t.Fatalf("FindSession(deleted) = %v, %v", found, err)
	}
	wantCode(t, s.CommitSession(ctx, "", nil, later), aegir.EINVALID, "hash")
}

func testLoginLinks(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	u := &aegir.User{Name: "ann", Role: aegir.RoleClient}
	must(t, s.CreateUser(ctx, u))
	l := &aegir.LoginLink{Hash: aegir.HashToken("link"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
	must(t, s.CreateLoginLink(ctx, l))
	if l.CreatedAt.IsZero() {
		t.Fatal("CreateLoginLink did not set CreatedAt")
	}
	wantCode(t, s.CreateLoginLink(ctx, &aegir.LoginLink{Hash: l.Hash, UserID: u.ID, ExpiresAt: l.ExpiresAt}), aegir.ECONFLICT)
	wantCode(t, s.CreateLoginLink(ctx, &aegir.LoginLink{Hash: aegir.HashToken("x"), UserID: u.ID + 100, ExpiresAt: l.ExpiresAt}), aegir.EINVALID, "user_id")
	wantCode(t, s.CreateLoginLink(ctx, &aegir.LoginLink{Hash: "short", UserID: u.ID, ExpiresAt: l.ExpiresAt}), aegir.EINVALID, "hash")

	got, err := s.UseLoginLink(ctx, l.Hash, time.Now())
	must(t, err)
	if got.UserID != u.ID || got.Hash != l.Hash {
		t.Fatalf("UseLoginLink = %+v", got)
	}
	_, err = s.UseLoginLink(ctx, l.Hash, time.Now())
	wantCode(t, err, aegir.ENOTFOUND) // once only

	expired := &aegir.LoginLink{Hash: aegir.HashToken("expired"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Minute)}
	must(t, s.CreateLoginLink(ctx, expired))
	_, err = s.UseLoginLink(ctx, expired.Hash, time.Now().Add(2*time.Minute))
	wantCode(t, err, aegir.ENOTFOUND)

	// Links go with their user, and expired ones with a prune.
	gone := &aegir.LoginLink{Hash: aegir.HashToken("gone"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
	must(t, s.CreateLoginLink(ctx, gone))
	stale := &aegir.LoginLink{Hash: aegir.HashToken("stale"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Millisecond)}
	must(t, s.CreateLoginLink(ctx, stale))
	n, err := s.PruneSessions(ctx, time.Now().Add(time.Second))
	must(t, err)
	if n != 1 {
		t.Fatalf("PruneSessions removed %d links, want 1", n)
	}
	must(t, s.DeleteUser(ctx, u.ID))
	_, err = s.UseLoginLink(ctx, gone.Hash, time.Now())
	wantCode(t, err, aegir.ENOTFOUND)
}

func testAudit(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	wantCode(t, s.AddAudit(ctx, &aegir.AuditEntry{Actor: "admin"}), aegir.EINVALID, "action")
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)
	first := &aegir.AuditEntry{Time: at, Actor: "admin", Action: "user.create", Object: "user:ann", Detail: "role client", Address: "127.0.0.1"}
	must(t, s.AddAudit(ctx, first))
	if first.ID == 0 {
		t.Fatal("AddAudit did not set the ID")
	}
	for _, e := range []*aegir.AuditEntry{
		{Actor: "admin", Action: "user.disable", Object: "user:ann"},
		{Actor: "ann", Action: "login", Object: "user:ann"},
		{Actor: "admin", Action: "client.create", Object: "client:acme"},
	} {
		must(t, s.AddAudit(ctx, e))
		if e.Time.IsZero() {
			t.Fatal("AddAudit left Time zero")
		}
	}
	list, total, err := s.ListAudit(ctx, aegir.AuditFilter{})
	must(t, err)
	if total != 4 || len(list) != 4 || list[0].Action != "client.create" {
		t.Fatalf("ListAudit = %d %+v", total, list)
	}
	wantEqual(t, "oldest entry", list[3], first)
	list, total, err = s.ListAudit(ctx, aegir.AuditFilter{Object: "user:ann", PerPage: 2})
	must(t, err)
	if total != 3 || len(list) != 2 || list[0].Action != "login" {
		t.Fatalf("ListAudit(object) = %d %+v", total, list)
	}
	_, total, err = s.ListAudit(ctx, aegir.AuditFilter{Actor: "admin", Object: "user:ann"})
	must(t, err)
	if total != 2 {
		t.Fatalf("ListAudit(actor, object) total = %d", total)
	}
}

func testStats(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	db := server("server_db")
	must(t, s.CreateServer(ctx, db))
	for _, r := range []struct {
		name, platform, client, dbServer, status string
		files, db                                int64
	}{
		{"a.example", "pa", "c1", "server_master", aegir.SiteEnabled, 100, 10},
		{"b.example", "pa", "c2", "server_db", aegir.SiteEnabled, 200, 20},
		{"c.example", "pb", "c1", "server_db", aegir.SiteDisabled, 300, 30},
		{"d.example", "pb", "c1", "server_db", aegir.SiteDeleted, 1000, 1000},
	} {
		rec := site(r.name, r.platform)
		rec.Client, rec.Status, rec.DiskFiles, rec.DiskDB, rec.Site.DBServer = r.client, r.status, r.files, r.db, "@"+r.dbServer
		must(t, s.CreateSite(ctx, rec))
	}
	usage, err := s.DiskUsage(ctx, aegir.Scope{})
	must(t, err)
	wantEqual(t, "DiskUsage", usage, []aegir.DiskUsage{
		{Server: "server_db", Files: 0, DB: 50, Sites: 2},
		{Server: "server_master", Files: 600, DB: 10, Sites: 3},
	})
	usage, err = s.DiskUsage(ctx, scoped("c1"))
	must(t, err)
	wantEqual(t, "DiskUsage(c1)", usage, []aegir.DiskUsage{
		{Server: "server_db", Files: 0, DB: 30, Sites: 1},
		{Server: "server_master", Files: 400, DB: 10, Sites: 2},
	})
	usage, err = s.DiskUsage(ctx, scoped())
	must(t, err)
	if len(usage) != 0 {
		t.Fatalf("DiskUsage(no client) = %+v", usage)
	}

	// Three finished tasks (one failed), one queued, one on a server.
	for _, r := range []struct {
		object, status string
	}{{"a.example", aegir.StatusSuccess}, {"b.example", aegir.StatusFailed}, {"c.example", aegir.StatusWarning}} {
		task := siteTask("verify", r.object, "pa")
		enqueue(t, s, task)
		claimed, err := s.ClaimTask(ctx, "w")
		must(t, err)
		time.Sleep(5 * time.Millisecond)
		must(t, s.FinishTask(ctx, claimed.ID, r.status, nil))
	}
	enqueue(t, s, siteTask("backup", "a.example", "pa"))
	start := time.Now().Add(-time.Hour)
	hours, err := s.TaskHistory(ctx, start, aegir.TaskFilter{})
	must(t, err)
	finished, failed := 0, 0
	for _, h := range hours {
		if h.Hour.Location() != time.UTC || h.Hour.Minute() != 0 || h.Hour.Before(start.Truncate(time.Hour)) {
			t.Fatalf("TaskHistory hour %v", h.Hour)
		}
		if h.AvgSeconds <= 0 || h.MaxSeconds < h.AvgSeconds {
			t.Fatalf("TaskHistory durations %+v", h)
		}
		finished, failed = finished+h.Finished, failed+h.Failed
	}
	if finished != 3 || failed != 1 {
		t.Fatalf("TaskHistory = %+v: %d finished, %d failed", hours, finished, failed)
	}
	hours, err = s.TaskHistory(ctx, start, aegir.TaskFilter{Scope: scoped("c2")})
	must(t, err)
	if len(hours) != 1 || hours[0].Finished != 1 || hours[0].Failed != 1 {
		t.Fatalf("TaskHistory(c2) = %+v", hours)
	}
	hours, err = s.TaskHistory(ctx, time.Now().Add(2*time.Hour), aegir.TaskFilter{})
	must(t, err)
	if len(hours) != 0 {
		t.Fatalf("TaskHistory(future) = %+v", hours)
	}
}
