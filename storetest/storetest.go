package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Exercise runs the conformance suite. newStore must return a new, empty
// store, closed by its own t.Cleanup (Close must be safe to call twice:
// one subtest closes its store); each subtest gets its own store and runs
// in parallel with the others.
func Exercise(t *testing.T, newStore func(t *testing.T) aegir.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s aegir.Store)
	}{
		{"Servers", testServers},
		{"Platforms", testPlatforms},
		{"Sites", testSites},
		{"SiteNamesAreUniqueAcrossSitesAndAliases", testAliases},
		{"FailedChangeLeavesNothingBehind", testAtomic},
		{"SitesPaginateAndFilter", testPagination},
		{"Clients", testClients},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"Backups", testBackups},
		{"ADeletedSitesPastStaysWithIt", testDeletedSiteHistory},
		{"Packages", testPackages},
		{"TaskLifecycle", testTaskLifecycle},
		{"TasksOfOneObjectRunInOrder", testTaskOrder},
		{"ExclusivePlatformTasks", testExclusive},
		{"CancelAndRetry", testCancelRetry},
		{"TaskLog", testTaskLog},
		{"FailOrphanedTasks", testOrphans},
		{"HeartbeatsTellLapsedWorkers", testHeartbeats},
		{"PruneTasks", testPrune},
		{"ListTasks", testListTasks},
		{"ListenWakesOnEnqueueAndFinish", testListen},
		{"ConcurrentClaimsNeverShareAnObject", testConcurrentClaims},
		{"ListsKeepToAClientScope", testScopes},
		{"Sessions", testSessions},
		{"LoginLinksWorkOnce", testLoginLinks},
		{"Audit", testAudit},
		{"DashboardAggregates", testStats},
		{"SiteHealthIsKeptApartFromUpdates", testSiteHealth},
		{"NotificationsKeepToAClientScope", testNotifications},
		{"AlertSubscriptions", testAlertSubscriptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// --- helpers ---

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err carries code (and, when field is given, names
// that field).
func wantCode(t *testing.T, err error, code string, field ...string) {
	t.Helper()
	if got := aegir.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
	if len(field) > 0 {
		var e *aegir.Error
		if !errors.As(err, &e) || e.Field != field[0] {
			t.Fatalf("error = %v, want it to name field %q", err, field[0])
		}
	}
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func server(name string) *aegir.ServerRecord {
	return &aegir.ServerRecord{Name: name, Status: "enabled", Server: aegir.Server{
		HTTPServiceType: aegir.ServiceNginx, HTTPPort: 8080, HTTPTestCmd: []string{"nginx", "-t"},
		DBServiceType: aegir.ServiceMySQL, MasterDB: "mysql://root:secret@127.0.0.1:3306", DBGrantAllHosts: true,
	}}
}

func platform(name string) *aegir.PlatformRecord {
	return &aegir.PlatformRecord{Name: name, Status: "enabled", App: "wordpress", Version: "6.1",
		Platform: aegir.Platform{Root: "/var/aegir/platforms/" + name, WebServer: "@server_master"}}
}

func site(name, platform string, aliases ...string) *aegir.SiteRecord {
	return &aegir.SiteRecord{Name: name, Status: aegir.SiteEnabled, Site: aegir.Site{
		URI: name, Platform: "@" + platform, DBServer: "@server_master", Profile: "standard", Language: "en",
		Aliases: aliases,
	}}
}

// seed creates server_master, platforms pa, pb and pc, and clients c1, c2.
func seed(t *testing.T, s aegir.Store) {
	t.Helper()
	ctx := t.Context()
	must(t, s.CreateServer(ctx, server("server_master")))
	for _, p := range []string{"pa", "pb", "pc"} {
		must(t, s.CreatePlatform(ctx, platform(p)))
	}
	for _, c := range []string{"c1", "c2"} {
		must(t, s.CreateClient(ctx, &aegir.Client{Name: c, Title: "Client " + c}))
	}
}

// --- objects ---

func testServers(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	r := server("server_master")
	must(t, s.CreateServer(ctx, r))
	if r.CreatedAt.IsZero() || !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Fatalf("CreateServer set CreatedAt %v, UpdatedAt %v", r.CreatedAt, r.UpdatedAt)
	}
	wantCode(t, s.CreateServer(ctx, server("server_master")), aegir.ECONFLICT)
	got, err := s.GetServer(ctx, "server_master")
	must(t, err)
	wantEqual(t, "GetServer", got, r)
	_, err = s.GetServer(ctx, "server_none")
	wantCode(t, err, aegir.ENOTFOUND)

	bad := server("Bad Name")
	wantCode(t, s.CreateServer(ctx, bad), aegir.EINVALID, "name")
	bad = server("server_bad")
	bad.Server.HTTPPort = 70000
	wantCode(t, s.CreateServer(ctx, bad), aegir.EINVALID, "http_port")

	time.Sleep(time.Millisecond) // so UpdatedAt moves on
	r.Server.HTTPPort, r.Status = 80, "disabled"
	r.Server.HTTPRestartCmd = []string{"systemctl", "reload", "nginx"}
	r.CreatedAt = time.Time{}
	must(t, s.UpdateServer(ctx, r))
	if r.CreatedAt.IsZero() || !r.UpdatedAt.After(r.CreatedAt) {
		t.Fatalf("UpdateServer set CreatedAt %v, UpdatedAt %v", r.CreatedAt, r.UpdatedAt)
	}
	got, err = s.GetServer(ctx, "server_master")
	must(t, err)
	wantEqual(t, "GetServer after update", got, r)
	wantCode(t, s.UpdateServer(ctx, server("server_none")), aegir.ENOTFOUND)

	for _, n := range []string{"server_b", "server_c", "web_a"} {
		must(t, s.CreateServer(ctx, server(n)))
	}
	list, total, err := s.ListServers(ctx, aegir.ListFilter{})
	must(t, err)
	if total != 4 || len(list) != 4 || list[0].Name != "server_b" || list[3].Name != "web_a" {
		t.Fatalf("ListServers = %d %v", total, names(list))
	}
	list, total, err = s.ListServers(ctx, aegir.ListFilter{Query: "server_", PerPage: 2, Page: 2})
	must(t, err)
	if total != 3 || len(list) != 1 || list[0].Name != "server_master" {
		t.Fatalf("ListServers(server_, page 2 of 2) = %d %v", total, names(list))
	}

	must(t, s.DeleteServer(ctx, "server_b"))
	_, err = s.GetServer(ctx, "server_b")
	wantCode(t, err, aegir.ENOTFOUND)
	wantCode(t, s.DeleteServer(ctx, "server_b"), aegir.ENOTFOUND)

	// A server in use cannot go.
	must(t, s.CreatePlatform(ctx, platform("pa")))
	wantCode(t, s.DeleteServer(ctx, "server_master"), aegir.ECONFLICT)
	if _, err := s.GetServer(ctx, "server_master"); err != nil {
		t.Fatal(err)
	}
}

func names[T any](list []*T) []string {
	var out []string
	for _, v := range list {
		out = append(out, reflect.ValueOf(v).Elem().FieldByName("Name").String())
	}
	return out
}

func testPlatforms(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	must(t, s.CreateServer(ctx, server("server_master")))
	for _, c := range []string{"acme", "beta"} {
		must(t, s.CreateClient(ctx, &aegir.Client{Name: c}))
	}
	p := platform("platform_wp")
	p.Locked = true
	p.Platform.Makefile = "/srv/make.yml"
	p.Clients = []string{"beta", "acme", "beta"}
	must(t, s.CreatePlatform(ctx, p))
	wantEqual(t, "Clients after create", p.Clients, []string{"acme", "beta"})
	got, err := s.GetPlatform(ctx, "platform_wp")
	must(t, err)
	wantEqual(t, "GetPlatform", got, p)

	wantCode(t, s.CreatePlatform(ctx, platform("platform_wp")), aegir.ECONFLICT)
	wantCode(t, s.CreatePlatform(ctx, platform("server_master")), aegir.ECONFLICT)
	noServer := platform("platform_x")
	noServer.Platform.WebServer = "@server_none"
	wantCode(t, s.CreatePlatform(ctx, noServer), aegir.EINVALID, "web_server")
	noClient := platform("platform_x")
	noClient.Clients = []string{"nobody"}
	wantCode(t, s.CreatePlatform(ctx, noClient), aegir.EINVALID, "clients")
	noRoot := platform("platform_x")
	noRoot.Platform.Root = "relative/path"
	wantCode(t, s.CreatePlatform(ctx, noRoot), aegir.EINVALID, "root")
	_, err = s.GetPlatform(ctx, "platform_x")
	wantCode(t, err, aegir.ENOTFOUND)

	p.Clients, p.Locked, p.Version = nil, false, "6.2"
	must(t, s.UpdatePlatform(ctx, p))
	got, err = s.GetPlatform(ctx, "platform_wp")
	must(t, err)
	wantEqual(t, "GetPlatform after update", got, p)
	wantCode(t, s.UpdatePlatform(ctx, platform("platform_none")), aegir.ENOTFOUND)

	must(t, s.CreatePlatform(ctx, platform("platform_d7")))
	list, total, err := s.ListPlatforms(ctx, aegir.ListFilter{})
	must(t, err)
	wantEqual(t, "ListPlatforms", names(list), []string{"platform_d7", "platform_wp"})
	if total != 2 {
		t.Fatalf("ListPlatforms total = %d", total)
	}

	// A platform with sites cannot go; the records of its deleted sites go
	// with it.
	live, gone := site("live.example", "platform_wp"), site("gone.example", "platform_wp")
	gone.Status = aegir.SiteDeleted
	must(t, s.CreateSite(ctx, live))
	must(t, s.CreateSite(ctx, gone))
	wantCode(t, s.DeletePlatform(ctx, "platform_wp"), aegir.ECONFLICT)
	must(t, s.DeleteSite(ctx, "live.example"))
	must(t, s.DeletePlatform(ctx, "platform_wp"))
	_, err = s.GetSite(ctx, "gone.example")
	wantCode(t, err, aegir.ENOTFOUND)
	_, err = s.GetPlatform(ctx, "platform_wp")
	wantCode(t, err, aegir.ENOTFOUND)
	wantCode(t, s.DeletePlatform(ctx, "platform_wp"), aegir.ENOTFOUND)
}

func testSites(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	r := site("example.com", "pa", "www.example.com", "example.org")
	r.Client = "c1"
	r.Site.Redirection = "www.example.com"
	r.Site.ClientEmail = "ops@example.com"
	r.Site.DBName, r.Site.DBUser, r.Site.DBPassword = "examplecom", "examplecom", "s3cr3t"
	// Custom properties are kept with the other properties.
	r.Site.Custom = aegir.Custom{"cheesy": "cheddar", "kind": "hard"}
	// Times are kept to the microsecond, in UTC; the record says so after
	// the create.
	cron := time.Date(2025, 3, 1, 13, 30, 15, 123456789, time.FixedZone("CET", 3600))
	r.LastCron, r.DiskFiles, r.DiskDB = &cron, 1<<20, 1<<30
	must(t, s.CreateSite(ctx, r))
	if want := time.Date(2025, 3, 1, 12, 30, 15, 123456000, time.UTC); !reflect.DeepEqual(*r.LastCron, want) {
		t.Fatalf("LastCron after create = %v, want %v", r.LastCron, want)
	}
	got, err := s.GetSite(ctx, "example.com")
	must(t, err)
	wantEqual(t, "GetSite", got, r)
	wantEqual(t, "Context", got.Context().Site.Aliases, []string{"www.example.com", "example.org"})
	wantCode(t, s.CreateSite(ctx, site("example.com", "pa")), aegir.ECONFLICT)
	_, err = s.GetSite(ctx, "none.example")
	wantCode(t, err, aegir.ENOTFOUND)

	wantCode(t, s.CreateSite(ctx, site("x.example", "p_none")), aegir.EINVALID, "platform")
	noDB := site("x.example", "pa")
	noDB.Site.DBServer = "@db_none"
	wantCode(t, s.CreateSite(ctx, noDB), aegir.EINVALID, "db_server")
	noClient := site("x.example", "pa")
	noClient.Client = "nobody"
	wantCode(t, s.CreateSite(ctx, noClient), aegir.EINVALID, "client")
	badURI := site("x.example", "pa")
	badURI.Site.URI = "y.example"
	wantCode(t, s.CreateSite(ctx, badURI), aegir.EINVALID, "uri")
	wantCode(t, s.CreateSite(ctx, site("Upper.example", "pa")), aegir.EINVALID, "uri")

	// Servers, platforms and sites share one namespace (context files).
	p := platform("shared.example")
	must(t, s.CreatePlatform(ctx, p))
	wantCode(t, s.CreateSite(ctx, site("shared.example", "pa")), aegir.ECONFLICT)

	backup := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	r.LastBackup, r.LastCron, r.Status, r.Client = &backup, nil, aegir.SiteDisabled, ""
	r.Site.Platform = "@pb"
	r.Site.Custom = aegir.Custom{"kind": "soft"}
	must(t, s.UpdateSite(ctx, r))
	got, err = s.GetSite(ctx, "example.com")
	must(t, err)
	wantEqual(t, "GetSite after update", got, r)
	list, _, err := s.ListSites(ctx, aegir.SiteFilter{Platform: "pb"})
	must(t, err)
	wantEqual(t, "sites on pb after update", names(list), []string{"example.com"})
	wantCode(t, s.UpdateSite(ctx, site("none.example", "pa")), aegir.ENOTFOUND)
	r.Site.Platform = "@p_none"
	wantCode(t, s.UpdateSite(ctx, r), aegir.EINVALID, "platform")

	must(t, s.DeleteSite(ctx, "example.com"))
	_, err = s.GetSite(ctx, "example.com")
	wantCode(t, err, aegir.ENOTFOUND)
	wantCode(t, s.DeleteSite(ctx, "example.com"), aegir.ENOTFOUND)
}

func testAliases(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	a := site("a.example", "pa", "www.a.example", "a2.example")
	must(t, s.CreateSite(ctx, a))

	conflict := func(r *aegir.SiteRecord, field, name string, create bool) {
		t.Helper()
		var err error
		if create {
			err = s.CreateSite(ctx, r)
		} else {
			err = s.UpdateSite(ctx, r)
		}
		wantCode(t, err, aegir.ECONFLICT, field)
		// The message names the name, not the site that has it (another
		// client's, maybe: issue 13); the cause, for logs, does.
		if !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "@a.example") {
			t.Fatalf("error %q does not name %q, or names its owner @a.example", err, name)
		}
		if cause := errors.Unwrap(err); cause == nil || !strings.Contains(cause.Error(), "@a.example") {
			t.Fatalf("the cause of %q does not name the owner: %v", err, cause)
		}
	}
	conflict(site("b.example", "pb", "www.a.example"), "aliases", "www.a.example", true)
	conflict(site("b.example", "pb", "a.example"), "aliases", "a.example", true)
	conflict(site("www.a.example", "pb"), "uri", "www.a.example", true)
	conflict(site("a2.example", "pb"), "uri", "a2.example", true)
	_, err := s.GetSite(ctx, "b.example")
	wantCode(t, err, aegir.ENOTFOUND)

	b := site("b.example", "pb", "www.b.example")
	must(t, s.CreateSite(ctx, b))
	conflict(site("b.example", "pb", "a2.example"), "aliases", "a2.example", false)

	// A site gives up an alias: another may take it.
	a.Site.Aliases = []string{"www.a.example"}
	must(t, s.UpdateSite(ctx, a))
	must(t, s.CreateSite(ctx, site("a2.example", "pc")))

	// A deleted site frees its uri and aliases; a new site of the same
	// name replaces its record.
	a.Status = aegir.SiteDeleted
	must(t, s.UpdateSite(ctx, a))
	must(t, s.CreateSite(ctx, site("www.a.example", "pb")))
	newA := site("a.example", "pc", "new.a.example")
	must(t, s.CreateSite(ctx, newA))
	got, err := s.GetSite(ctx, "a.example")
	must(t, err)
	wantEqual(t, "the new a.example", got, newA)

	// Deleting a record frees its names too.
	must(t, s.DeleteSite(ctx, "b.example"))
	must(t, s.CreateSite(ctx, site("www.b.example", "pa", "b.example")))
}

func testAtomic(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	a := site("a.example", "pa", "www.a.example")
	b := site("b.example", "pa", "www.b.example")
	must(t, s.CreateSite(ctx, a))
	must(t, s.CreateSite(ctx, b))

	// An update that would take b's alias fails whole: a keeps its record
	// and its names, b keeps its own.
	changed := site("a.example", "pb", "other.a.example", "www.b.example")
	changed.Status = aegir.SiteDisabled
	wantCode(t, s.UpdateSite(ctx, changed), aegir.ECONFLICT, "aliases")
	got, err := s.GetSite(ctx, "a.example")
	must(t, err)
	wantEqual(t, "a after the failed update", got, a)
	wantCode(t, s.CreateSite(ctx, site("www.a.example", "pa")), aegir.ECONFLICT, "uri")
	must(t, s.CreateSite(ctx, site("other.a.example", "pa"))) // was never taken
	wantCode(t, s.CreateSite(ctx, site("www.b.example", "pa")), aegir.ECONFLICT, "uri")

	// A create that fails on its last alias leaves no record and no name.
	wantCode(t, s.CreateSite(ctx, site("c.example", "pa", "www.c.example", "www.a.example")), aegir.ECONFLICT, "aliases")
	_, err = s.GetSite(ctx, "c.example")
	wantCode(t, err, aegir.ENOTFOUND)
	must(t, s.CreateSite(ctx, site("www.c.example", "pa")))

	// A platform whose second client is missing is not created.
	p := platform("px")
	p.Clients = []string{"c1", "nobody"}
	wantCode(t, s.CreatePlatform(ctx, p), aegir.EINVALID, "clients")
	_, err = s.GetPlatform(ctx, "px")
	wantCode(t, err, aegir.ENOTFOUND)
}

func testPagination(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	platforms, clients := []string{"pa", "pb", "pc"}, []string{"c1", "c2"}
	count := map[string]int{}
	for i := range 250 {
		r := site(fmt.Sprintf("site%03d.example", i), platforms[i%3])
		r.Client = clients[i%2]
		if i%10 == 0 {
			r.Status = aegir.SiteDisabled
		}
		must(t, s.CreateSite(ctx, r))
		count[platforms[i%3]]++
		count[clients[i%2]]++
		count[r.Status]++
		if i%3 == 1 && i%2 == 0 && i%10 == 0 {
			count["pb+c1+disabled"]++
		}
	}
	check := func(f aegir.SiteFilter, wantTotal int, wantNames ...string) {
		t.Helper()
		list, total, err := s.ListSites(ctx, f)
		must(t, err)
		if total != wantTotal {
			t.Fatalf("ListSites(%+v) total = %d, want %d", f, total, wantTotal)
		}
		if wantNames != nil && !slices.Equal(names(list), wantNames) {
			t.Fatalf("ListSites(%+v) = %v, want %v", f, names(list), wantNames)
		}
	}
	list, total, err := s.ListSites(ctx, aegir.SiteFilter{})
	must(t, err)
	if total != 250 || len(list) != aegir.DefaultPerPage || list[0].Name != "site000.example" || list[49].Name != "site049.example" {
		t.Fatalf("first page: total %d, %d items from %s", total, len(list), list[0].Name)
	}
	list, _, err = s.ListSites(ctx, aegir.SiteFilter{Page: 3, PerPage: 100})
	must(t, err)
	if len(list) != 50 || list[0].Name != "site200.example" || list[49].Name != "site249.example" {
		t.Fatalf("page 3 of 100: %d items", len(list))
	}
	check(aegir.SiteFilter{Page: 4, PerPage: 100}, 250, []string{}...)
	list, _, err = s.ListSites(ctx, aegir.SiteFilter{PerPage: 5000})
	must(t, err)
	if len(list) != 250 {
		t.Fatalf("PerPage 5000 gave %d items", len(list))
	}
	check(aegir.SiteFilter{Platform: "pb"}, count["pb"])
	check(aegir.SiteFilter{Platform: "@pc"}, count["pc"])
	check(aegir.SiteFilter{Client: "c2"}, count["c2"])
	check(aegir.SiteFilter{Status: aegir.SiteDisabled}, count[aegir.SiteDisabled])
	check(aegir.SiteFilter{Platform: "pb", Client: "c1", Status: aegir.SiteDisabled}, count["pb+c1+disabled"])
	// Live leaves out deleted sites: ten of them, spread over the list.
	for i := 5; i < 250; i += 25 {
		r, err := s.GetSite(ctx, fmt.Sprintf("site%03d.example", i))
		must(t, err)
		r.Status = aegir.SiteDeleted
		must(t, s.UpdateSite(ctx, r))
	}
	check(aegir.SiteFilter{Live: true, PerPage: 5}, 240, "site000.example", "site001.example", "site002.example", "site003.example", "site004.example")
	check(aegir.SiteFilter{Live: true, Page: 2, PerPage: 5}, 240, "site006.example", "site007.example", "site008.example", "site009.example", "site010.example")
	check(aegir.SiteFilter{Live: true, Status: aegir.SiteDeleted}, 0)
	check(aegir.SiteFilter{Status: aegir.SiteDeleted}, 10)
	check(aegir.SiteFilter{Query: "site12", PerPage: 3, Page: 2}, 10, "site123.example", "site124.example", "site125.example")
	check(aegir.SiteFilter{Query: "site12", Platform: "pa"}, 4, "site120.example", "site123.example", "site126.example", "site129.example")
	check(aegir.SiteFilter{Query: "%"}, 0)
	check(aegir.SiteFilter{Query: "site_"}, 0)
	check(aegir.SiteFilter{Platform: "p_none"}, 0)
}

func testClients(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	c := &aegir.Client{Name: "acme", Title: "Acme Inc.", Email: "ops@acme.example"}
	must(t, s.CreateClient(ctx, c))
	got, err := s.GetClient(ctx, "acme")
	must(t, err)
	wantEqual(t, "GetClient", got, c)
	wantCode(t, s.CreateClient(ctx, &aegir.Client{Name: "acme"}), aegir.ECONFLICT)
	_, err = s.GetClient(ctx, "none")
	wantCode(t, err, aegir.ENOTFOUND)
	wantCode(t, s.CreateClient(ctx, &aegir.Client{Name: "a-name-longer-than-16"}), aegir.EINVALID, "name")
	wantCode(t, s.CreateClient(ctx, &aegir.Client{Name: "Acme"}), aegir.EINVALID, "name")
	wantCode(t, s.CreateClient(ctx, &aegir.Client{Name: "ok", Email: "not-an-email"}), aegir.EINVALID, "email")

	wantCode(t, s.CreateClient(ctx, &aegir.Client{Name: "ok", QuotaSites: -1}), aegir.EINVALID, "quota_sites")

	c.Title, c.CreatedAt, c.QuotaSites, c.QuotaDisk = "Acme Corp.", time.Time{}, 5, 1<<30
	must(t, s.UpdateClient(ctx, c))
	got, err = s.GetClient(ctx, "acme")
	must(t, err)
	wantEqual(t, "GetClient after update", got, c)
	wantCode(t, s.UpdateClient(ctx, &aegir.Client{Name: "none"}), aegir.ENOTFOUND)

	must(t, s.CreateClient(ctx, &aegir.Client{Name: "beta"}))
	must(t, s.CreateClient(ctx, &aegir.Client{Name: "gamma_1"}))
	list, total, err := s.ListClients(ctx, aegir.ListFilter{PerPage: 2})
	must(t, err)
	if total != 3 {
		t.Fatalf("ListClients total = %d", total)
	}
	wantEqual(t, "ListClients", names(list), []string{"acme", "beta"})
	list, total, err = s.ListClients(ctx, aegir.ListFilter{Query: "_"})
	must(t, err)
	if total != 1 || list[0].Name != "gamma_1" {
		t.Fatalf("ListClients(_) = %d %v", total, names(list))
	}

	// A client with sites cannot go.
	must(t, s.CreateServer(ctx, server("server_master")))
	must(t, s.CreatePlatform(ctx, platform("pa")))
	r := site("acme.example", "pa")
	r.Client = "acme"
	must(t, s.CreateSite(ctx, r))
	wantCode(t, s.DeleteClient(ctx, "acme"), aegir.ECONFLICT)
	must(t, s.DeleteClient(ctx, "beta"))
	_, err = s.GetClient(ctx, "beta")
	wantCode(t, err, aegir.ENOTFOUND)
	wantCode(t, s.DeleteClient(ctx, "beta"), aegir.ENOTFOUND)
}

func testUsers(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	for _, c := range []string{"acme", "beta"} {
		must(t, s.CreateClient(ctx, &aegir.Client{Name: c}))
	}
	u := &aegir.User{Name: "alice", Email: "alice@example.com", Role: aegir.RoleClient,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Clients: []string{"beta", "acme"}}
	must(t, s.CreateUser(ctx, u))
	if u.ID == 0 || u.CreatedAt.IsZero() {
		t.Fatalf("CreateUser set ID %d, CreatedAt %v", u.ID, u.CreatedAt)
	}
	got, err := s.GetUser(ctx, u.ID)
	must(t, err)
	wantEqual(t, "GetUser", got, u)
	got, err = s.GetUserByName(ctx, "alice")
	must(t, err)
	wantEqual(t, "GetUserByName", got, u)
	_, err = s.GetUser(ctx, u.ID+100)
	wantCode(t, err, aegir.ENOTFOUND)
	_, err = s.GetUserByName(ctx, "nobody")
	wantCode(t, err, aegir.ENOTFOUND)

	wantCode(t, s.CreateUser(ctx, &aegir.User{Name: "alice", Role: aegir.RoleClient}), aegir.ECONFLICT, "name")
	wantCode(t, s.CreateUser(ctx, &aegir.User{Name: "bob", Role: "root"}), aegir.EINVALID, "role")
	wantCode(t, s.CreateUser(ctx, &aegir.User{Name: "Bob Smith", Role: aegir.RoleClient}), aegir.EINVALID, "name")
	wantCode(t, s.CreateUser(ctx, &aegir.User{Name: "bob", Role: aegir.RoleClient, Clients: []string{"none"}}), aegir.EINVALID, "clients")
	_, err = s.GetUserByName(ctx, "bob")
	wantCode(t, err, aegir.ENOTFOUND)

	admin := &aegir.User{Name: "admin", Role: aegir.RoleAdministrator}
	must(t, s.CreateUser(ctx, admin))
	if admin.Clients != nil {
		t.Fatalf("admin.Clients = %#v, want nil", admin.Clients)
	}
	u.Name = "admin"
	wantCode(t, s.UpdateUser(ctx, u), aegir.ECONFLICT, "name")
	u.Name, u.Disabled, u.Role, u.Clients = "alice2", true, aegir.RoleAccountManager, []string{"acme"}
	must(t, s.UpdateUser(ctx, u))
	got, err = s.GetUser(ctx, u.ID)
	must(t, err)
	wantEqual(t, "GetUser after update", got, u)
	wantCode(t, s.UpdateUser(ctx, &aegir.User{ID: u.ID + 100, Name: "x", Role: aegir.RoleClient}), aegir.ENOTFOUND)

	// Deleting a client ends its memberships.
	must(t, s.DeleteClient(ctx, "acme"))
	got, err = s.GetUser(ctx, u.ID)
	must(t, err)
	if got.Clients != nil {
		t.Fatalf("Clients after the client's deletion = %v", got.Clients)
	}

	list, total, err := s.ListUsers(ctx, aegir.ListFilter{})
	must(t, err)
	if total != 2 {
		t.Fatalf("ListUsers total = %d", total)
	}
	wantEqual(t, "ListUsers", names(list), []string{"admin", "alice2"})

	must(t, s.DeleteUser(ctx, u.ID))
	_, err = s.GetUser(ctx, u.ID)
	wantCode(t, err, aegir.ENOTFOUND)
	wantCode(t, s.DeleteUser(ctx, u.ID), aegir.ENOTFOUND)
}

func testTokens(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	u := &aegir.User{Name: "alice", Role: aegir.RoleAdministrator}
	must(t, s.CreateUser(ctx, u))
	t1 := &aegir.Token{UserID: u.ID, Name: "ci", Hash: aegir.HashToken("secret-one")}
	must(t, s.CreateToken(ctx, t1))
	if t1.ID == 0 || t1.CreatedAt.IsZero() {
		t.Fatalf("CreateToken set ID %d, CreatedAt %v", t1.ID, t1.CreatedAt)
	}
	t2 := &aegir.Token{UserID: u.ID, Name: "laptop", Hash: aegir.HashToken("secret-two")}
	must(t, s.CreateToken(ctx, t2))
	wantCode(t, s.CreateToken(ctx, &aegir.Token{UserID: u.ID, Name: "dup", Hash: t1.Hash}), aegir.ECONFLICT)
	wantCode(t, s.CreateToken(ctx, &aegir.Token{UserID: u.ID + 100, Name: "x", Hash: aegir.HashToken("x")}), aegir.EINVALID, "user_id")
	wantCode(t, s.CreateToken(ctx, &aegir.Token{UserID: u.ID, Name: "x", Hash: "secret"}), aegir.EINVALID, "hash")

	found, err := s.FindToken(ctx, aegir.HashToken("secret-one"))
	must(t, err)
	if found.ID != t1.ID || found.UserID != u.ID || found.LastUsed == nil {
		t.Fatalf("FindToken = %+v", found)
	}
	again, err := s.FindToken(ctx, aegir.HashToken("secret-one"))
	must(t, err)
	if !again.LastUsed.Equal(*found.LastUsed) {
		t.Fatalf("a second use within a minute moved LastUsed from %v to %v", found.LastUsed, again.LastUsed)
	}
	_, err = s.FindToken(ctx, aegir.HashToken("wrong"))
	wantCode(t, err, aegir.ENOTFOUND)

	list, err := s.ListTokens(ctx, u.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != t2.ID || list[1].LastUsed == nil {
		t.Fatalf("ListTokens = %+v", list)
	}

	must(t, s.RevokeToken(ctx, t1.ID))
	must(t, s.RevokeToken(ctx, t1.ID))
	wantCode(t, s.RevokeToken(ctx, t2.ID+100), aegir.ENOTFOUND)
	_, err = s.FindToken(ctx, t1.Hash)
	wantCode(t, err, aegir.ENOTFOUND)
	list, err = s.ListTokens(ctx, 0)
	must(t, err)
	if len(list) != 2 || list[1].RevokedAt == nil || list[0].RevokedAt != nil {
		t.Fatalf("ListTokens after revoke = %+v", list)
	}

	must(t, s.DeleteUser(ctx, u.ID))
	list, err = s.ListTokens(ctx, u.ID)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("tokens of a deleted user: %+v", list)
	}
	_, err = s.FindToken(ctx, t2.Hash)
	wantCode(t, err, aegir.ENOTFOUND)
}

func testBackups(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	day := time.Date(2025, 1, 1, 3, 0, 0, 0, time.UTC)
	var added []*aegir.Backup
	for i := range 3 {
		b := &aegir.Backup{Site: "a.example", File: fmt.Sprintf("/var/aegir/backups/a.example-2025010%d.030000.tar.gz", i+1),
			Size: int64(1000 * (i + 1)), SHA256: aegir.HashToken(fmt.Sprint(i)), CreatedAt: day.AddDate(0, 0, i)}
		must(t, s.AddBackup(ctx, b))
		added = append(added, b)
	}
	other := &aegir.Backup{Site: "b.example", File: "/var/aegir/backups/b.example.tar.gz"}
	must(t, s.AddBackup(ctx, other))
	if other.CreatedAt.IsZero() || other.ID == 0 {
		t.Fatalf("AddBackup set ID %d, CreatedAt %v", other.ID, other.CreatedAt)
	}
	wantCode(t, s.AddBackup(ctx, &aegir.Backup{Site: "a.example", File: "relative.tar.gz"}), aegir.EINVALID, "file")
	wantCode(t, s.AddBackup(ctx, &aegir.Backup{Site: "a.example", File: "/x.tar.gz", SHA256: "xyz"}), aegir.EINVALID, "sha256")

	list, err := s.ListBackups(ctx, "a.example")
	must(t, err)
	wantEqual(t, "ListBackups", list, []*aegir.Backup{added[2], added[1], added[0]})
	got, err := s.GetBackup(ctx, added[1].ID)
	must(t, err)
	wantEqual(t, "GetBackup", got, added[1])
	if got.VerifiedAt != nil {
		t.Fatalf("a new backup is verified at %v", got.VerifiedAt)
	}
	verified := day.Add(36*time.Hour + 123456789)
	must(t, s.SetBackupVerified(ctx, "a.example", added[1].File, verified))
	got, err = s.GetBackup(ctx, added[1].ID)
	must(t, err)
	if got.VerifiedAt == nil || !got.VerifiedAt.Equal(verified.Truncate(time.Microsecond)) {
		t.Fatalf("SetBackupVerified(%v): verified at %v", verified, got.VerifiedAt)
	}
	list, err = s.ListBackups(ctx, "a.example")
	must(t, err)
	if list[1].VerifiedAt == nil || list[0].VerifiedAt != nil {
		t.Fatalf("ListBackups after SetBackupVerified: %+v, %+v", list[0], list[1])
	}
	wantCode(t, s.SetBackupVerified(ctx, "b.example", added[1].File, verified), aegir.ENOTFOUND)
	must(t, s.DeleteBackup(ctx, added[1].ID))
	_, err = s.GetBackup(ctx, added[1].ID)
	wantCode(t, err, aegir.ENOTFOUND)
	wantCode(t, s.DeleteBackup(ctx, added[1].ID), aegir.ENOTFOUND)
	list, err = s.ListBackups(ctx, "a.example")
	must(t, err)
	wantEqual(t, "ListBackups after delete", list, []*aegir.Backup{added[2], added[0]})
	list, err = s.ListBackups(ctx, "none.example")
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("ListBackups(none) = %v", list)
	}
}

func testPackages(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateSite(ctx, site("a.example", "pa")))
	core := []aegir.Package{
		{Name: "wordpress", Type: "core", Version: "6.1.1", Path: "/"},
		{Name: "akismet", Type: "plugin", Version: "5.0", Path: "wp-content/plugins/akismet"},
		{Name: "twentytwentythree", Type: "theme", Version: "1.0", Schema: 3},
	}
	for _, obj := range []struct {
		name string
		set  func(context.Context, string, []aegir.Package) error
		get  func(context.Context, string) ([]aegir.Package, error)
	}{{"pa", s.SetPlatformPackages, s.PlatformPackages}, {"a.example", s.SetSitePackages, s.SitePackages}} {
		got, err := obj.get(ctx, obj.name)
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("packages of a new %s: %v", obj.name, got)
		}
		must(t, obj.set(ctx, obj.name, core))
		got, err = obj.get(ctx, obj.name)
		must(t, err)
		wantEqual(t, "packages of "+obj.name, got, core)
		must(t, obj.set(ctx, obj.name, core[2:]))
		got, err = obj.get(ctx, obj.name)
		must(t, err)
		wantEqual(t, "packages of "+obj.name+" replaced", got, core[2:])
		wantCode(t, obj.set(ctx, obj.name, []aegir.Package{{Name: "x"}}), aegir.EINVALID, "packages")
		wantCode(t, obj.set(ctx, "none.example", core), aegir.ENOTFOUND)
		_, err = obj.get(ctx, "none.example")
		wantCode(t, err, aegir.ENOTFOUND)
	}
	// A site's packages go with its record.
	must(t, s.DeleteSite(ctx, "a.example"))
	must(t, s.CreateSite(ctx, site("a.example", "pa")))
	got, err := s.SitePackages(ctx, "a.example")
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("packages of a re-created site: %v", got)
	}
}

// --- tasks ---

func siteTask(typ, object, platform string) *aegir.Task {
	return &aegir.Task{Type: typ, ObjectType: aegir.SiteContext, Object: object, Platform: platform, Creator: "admin"}
}

func enqueue(t *testing.T, s aegir.Store, tasks ...*aegir.Task) {
	t.Helper()
	for _, task := range tasks {
		must(t, s.EnqueueTask(t.Context(), task))
	}
}

// claim claims a task and fails unless it is want (nil: none runnable).
func claim(t *testing.T, s aegir.Store, worker string, want *aegir.Task) *aegir.Task {
	t.Helper()
	got, err := s.ClaimTask(t.Context(), worker)
	must(t, err)
	switch {
	case want == nil && got != nil:
		t.Fatalf("ClaimTask = task %d (%s on %s), want none runnable", got.ID, got.Type, got.Object)
	case want != nil && got == nil:
		t.Fatalf("ClaimTask = none, want task %d (%s on %s)", want.ID, want.Type, want.Object)
	case want != nil && got.ID != want.ID:
		t.Fatalf("ClaimTask = task %d (%s on %s), want task %d (%s on %s)", got.ID, got.Type, got.Object, want.ID, want.Type, want.Object)
	}
	return got
}

func finish(t *testing.T, s aegir.Store, task *aegir.Task) {
	t.Helper()
	must(t, s.FinishTask(t.Context(), task.ID, aegir.StatusSuccess, nil))
}

func testTaskLifecycle(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	wantCode(t, s.EnqueueTask(ctx, &aegir.Task{ObjectType: aegir.SiteContext, Object: "a.example"}), aegir.EINVALID, "type")
	wantCode(t, s.EnqueueTask(ctx, &aegir.Task{Type: "verify", ObjectType: "node", Object: "a.example"}), aegir.EINVALID, "object_type")
	wantCode(t, s.EnqueueTask(ctx, &aegir.Task{Type: "verify", ObjectType: aegir.SiteContext, Object: "@a.example"}), aegir.EINVALID, "object")
	wantCode(t, s.EnqueueTask(ctx, &aegir.Task{Type: "verify", ObjectType: aegir.PlatformContext, Object: "pa", Exclusive: true}), aegir.EINVALID, "platform")
	wantCode(t, s.EnqueueTask(ctx, &aegir.Task{Type: "verify", ObjectType: aegir.PlatformContext, Object: "pa", Platform: "pb"}), aegir.EINVALID, "platform")
	wantCode(t, s.EnqueueTask(ctx, &aegir.Task{Type: "clone", ObjectType: aegir.SiteContext, Object: "a.example", Args: map[string]string{"New URI": "x"}}), aegir.EINVALID, "args")

	task := siteTask("clone", "a.example", "pa")
	task.Args = map[string]string{"new_uri": "b.example", "target_platform": "pb"}
	enqueue(t, s, task)
	if task.ID == 0 || task.Status != aegir.StatusQueued || task.CreatedAt.IsZero() {
		t.Fatalf("EnqueueTask set %+v", task)
	}
	got, err := s.GetTask(ctx, task.ID)
	must(t, err)
	wantEqual(t, "GetTask", got, task)
	_, err = s.GetTask(ctx, task.ID+100)
	wantCode(t, err, aegir.ENOTFOUND)

	wantCode(t, s.FinishTask(ctx, task.ID, aegir.StatusSuccess, nil), aegir.ECONFLICT)
	_, err = s.ClaimTask(ctx, "")
	wantCode(t, err, aegir.EINVALID, "worker")
	claimed := claim(t, s, "host-a/1", task)
	if claimed.Status != aegir.StatusProcessing || claimed.Worker != "host-a/1" || claimed.StartedAt == nil || claimed.StartedAt.Before(task.CreatedAt) {
		t.Fatalf("claimed %+v", claimed)
	}
	got, err = s.GetTask(ctx, task.ID)
	must(t, err)
	wantEqual(t, "GetTask of a claimed task", got, claimed)

	wantCode(t, s.FinishTask(ctx, task.ID, "done", nil), aegir.EINVALID, "status")
	wantCode(t, s.FinishTask(ctx, task.ID, aegir.StatusQueued, nil), aegir.EINVALID, "status")
	data := map[string]any{"db_name": "bexample", "login_link": "http://b.example/login?t=1", "packages": []any{map[string]any{"name": "wordpress", "schema_version": float64(3)}}, "ok": true}
	must(t, s.FinishTask(ctx, task.ID, aegir.StatusWarning, data))
	got, err = s.GetTask(ctx, task.ID)
	must(t, err)
	if got.Status != aegir.StatusWarning || got.FinishedAt == nil || got.FinishedAt.Before(*got.StartedAt) {
		t.Fatalf("finished task %+v", got)
	}
	wantJSON(t, "Data", got.Data, data)
	wantCode(t, s.FinishTask(ctx, task.ID, aegir.StatusSuccess, nil), aegir.ECONFLICT)
	wantCode(t, s.FinishTask(ctx, task.ID+100, aegir.StatusSuccess, nil), aegir.ENOTFOUND)
	claim(t, s, "host-a/1", nil)
}

func wantJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s = %s, want %s", what, g, w)
	}
}

func testTaskOrder(t *testing.T, s aegir.Store) {
	a1, a2, b1, a3 := siteTask("verify", "a.example", "pa"), siteTask("backup", "a.example", "pa"),
		siteTask("verify", "b.example", "pa"), siteTask("cron", "a.example", "pa")
	srv := &aegir.Task{Type: "verify", ObjectType: aegir.ServerContext, Object: "server_master"}
	enqueue(t, s, a1, a2, b1, a3, srv)
	claim(t, s, "w", a1)
	claim(t, s, "w", b1) // a2 waits for a1
	claim(t, s, "w", srv)
	claim(t, s, "w", nil)
	finish(t, s, b1)
	claim(t, s, "w", nil) // a2 still waits for a1
	finish(t, s, a1)
	claim(t, s, "w", a2)
	claim(t, s, "w", nil) // a3 waits for a2
	must(t, s.FinishTask(t.Context(), a2.ID, aegir.StatusFailed, nil))
	claim(t, s, "w", a3) // a failure does not block the next task
}

func testExclusive(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	verifyP := func() *aegir.Task {
		return &aegir.Task{Type: "verify", ObjectType: aegir.PlatformContext, Object: "pa", Platform: "pa", Exclusive: true}
	}
	s1, e1, s2, q1 := siteTask("backup", "s1.example", "pa"), verifyP(), siteTask("verify", "s2.example", "pa"), siteTask("verify", "q1.example", "pq")
	enqueue(t, s, s1, e1, s2, q1)
	claim(t, s, "w", s1)
	claim(t, s, "w", q1)  // e1 waits for s1 on its platform; s2 waits behind e1; pq runs
	claim(t, s, "w", nil) // nothing else
	finish(t, s, s1)
	claim(t, s, "w", e1)
	q2, q3 := siteTask("cron", "q1.example", "pq"), siteTask("cron", "q2.example", "pq")
	s3 := siteTask("cron", "s3.example", "pa")
	enqueue(t, s, q2, q3, s3)
	claim(t, s, "w", q3)  // s2, s3 wait for e1; q2 waits for q1; pq's other site runs
	claim(t, s, "w", nil) // nothing else
	finish(t, s, q1)
	claim(t, s, "w", q2)
	finish(t, s, e1)
	claim(t, s, "w", s2)
	claim(t, s, "w", s3) // site tasks of one platform run side by side
	// An exclusive task waits for every running task on its platform.
	e2 := verifyP()
	enqueue(t, s, e2)
	claim(t, s, "w", nil)
	finish(t, s, s2)
	claim(t, s, "w", nil)
	must(t, s.FinishTask(ctx, s3.ID, aegir.StatusFailed, nil))
	claim(t, s, "w", e2)
	finish(t, s, e2)
	// A platform's non-exclusive task (lock) runs beside its sites' tasks.
	lock := &aegir.Task{Type: "lock", ObjectType: aegir.PlatformContext, Object: "pa", Platform: "pa"}
	s4 := siteTask("cron", "s4.example", "pa")
	enqueue(t, s, lock, s4)
	claim(t, s, "w", lock)
	claim(t, s, "w", s4)
}

func testCancelRetry(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	a1, a2, a3 := siteTask("verify", "a.example", "pa"), siteTask("backup", "a.example", "pa"), siteTask("cron", "a.example", "pa")
	a2.Args = map[string]string{"description": "before upgrade"}
	enqueue(t, s, a1, a2, a3)
	claim(t, s, "w", a1)
	wantCode(t, s.CancelTask(ctx, a1.ID), aegir.ECONFLICT)
	must(t, s.CancelTask(ctx, a2.ID))
	got, err := s.GetTask(ctx, a2.ID)
	must(t, err)
	if got.Status != aegir.StatusCancelled || got.FinishedAt == nil {
		t.Fatalf("cancelled task %+v", got)
	}
	wantCode(t, s.CancelTask(ctx, a2.ID), aegir.ECONFLICT)
	wantCode(t, s.CancelTask(ctx, a3.ID+100), aegir.ENOTFOUND)
	must(t, s.FinishTask(ctx, a1.ID, aegir.StatusFailed, map[string]any{"error": "boom"}))
	claim(t, s, "w", a3) // the cancelled task no longer holds a3 back
	finish(t, s, a3)

	_, err = s.RetryTask(ctx, a3.ID)
	wantCode(t, err, aegir.ECONFLICT)
	_, err = s.RetryTask(ctx, a2.ID)
	wantCode(t, err, aegir.ECONFLICT)
	_, err = s.RetryTask(ctx, a3.ID+100)
	wantCode(t, err, aegir.ENOTFOUND)
	retry, err := s.RetryTask(ctx, a1.ID)
	must(t, err)
	if retry.ID <= a3.ID || retry.Status != aegir.StatusQueued || retry.Type != a1.Type || retry.Object != a1.Object ||
		retry.Platform != a1.Platform || retry.Creator != a1.Creator || retry.Data != nil || retry.StartedAt != nil {
		t.Fatalf("RetryTask = %+v, from %+v", retry, a1)
	}
	got, err = s.GetTask(ctx, retry.ID)
	must(t, err)
	wantEqual(t, "GetTask of the retry", got, retry)
	claim(t, s, "w", retry)

	b := siteTask("backup", "b.example", "pb")
	b.Args = map[string]string{"keep": "7"}
	enqueue(t, s, b)
	claim(t, s, "w", b)
	must(t, s.FinishTask(ctx, b.ID, aegir.StatusFailed, nil))
	retry, err = s.RetryTask(ctx, b.ID)
	must(t, err)
	wantEqual(t, "retried args", retry.Args, b.Args)
}

func testTaskLog(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	task := siteTask("install", "a.example", "pa")
	enqueue(t, s, task)
	at := time.Date(2025, 5, 1, 10, 0, 0, 500000, time.UTC)
	must(t, s.AppendTaskLog(ctx, task.ID,
		aegir.LogEntry{Level: aegir.LevelInfo, Message: "Creating the database", Time: at},
		aegir.LogEntry{Level: aegir.LevelSuccess, Message: "Created database aexample", Time: at.Add(time.Second)},
		aegir.LogEntry{Level: aegir.LevelWarning, Message: "no time given"},
	))
	log, err := s.TaskLog(ctx, task.ID, 0)
	must(t, err)
	if len(log) != 3 {
		t.Fatalf("TaskLog = %+v", log)
	}
	wantEqual(t, "first entry", log[0], aegir.TaskLogEntry{TaskID: task.ID, Seq: 1, Level: aegir.LevelInfo, Message: "Creating the database", Time: at})
	if log[1].Seq != 2 || log[2].Seq != 3 || log[2].Time.IsZero() || log[2].Message != "no time given" {
		t.Fatalf("TaskLog = %+v", log)
	}
	must(t, s.AppendTaskLog(ctx, task.ID, aegir.LogEntry{Level: aegir.LevelInfo, Message: "four"}))
	must(t, s.AppendTaskLog(ctx, task.ID, aegir.LogEntry{Level: aegir.LevelError, Message: "five"}))
	log, err = s.TaskLog(ctx, task.ID, 3)
	must(t, err)
	if len(log) != 2 || log[0].Seq != 4 || log[0].Message != "four" || log[1].Seq != 5 || log[1].Level != aegir.LevelError {
		t.Fatalf("TaskLog after 3 = %+v", log)
	}
	log, err = s.TaskLog(ctx, task.ID, 5)
	must(t, err)
	if len(log) != 0 {
		t.Fatalf("TaskLog after 5 = %+v", log)
	}
	must(t, s.AppendTaskLog(ctx, task.ID))
	wantCode(t, s.AppendTaskLog(ctx, task.ID, aegir.LogEntry{Level: "debug", Message: "x"}), aegir.EINVALID, "level")
	wantCode(t, s.AppendTaskLog(ctx, task.ID+100, aegir.LogEntry{Level: aegir.LevelInfo, Message: "x"}), aegir.ENOTFOUND)
	_, err = s.TaskLog(ctx, task.ID+100, 0)
	wantCode(t, err, aegir.ENOTFOUND)

	// Logs of two tasks are numbered apart.
	other := siteTask("install", "b.example", "pa")
	enqueue(t, s, other)
	must(t, s.AppendTaskLog(ctx, other.ID, aegir.LogEntry{Level: aegir.LevelInfo, Message: "other"}))
	log, err = s.TaskLog(ctx, other.ID, 0)
	must(t, err)
	if len(log) != 1 || log[0].Seq != 1 || log[0].TaskID != other.ID {
		t.Fatalf("TaskLog of another task = %+v", log)
	}
}

func testOrphans(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	var tasks []*aegir.Task
	for i := range 5 {
		task := siteTask("install", fmt.Sprintf("s%d.example", i), "pa")
		enqueue(t, s, task)
		tasks = append(tasks, task)
	}
	claim(t, s, "host-a/1", tasks[0])
	claim(t, s, "host-a/2", tasks[1])
	claim(t, s, "host-ab", tasks[2])
	claim(t, s, "host-b", tasks[3])
	const msg = "the process died while the task ran"
	ids, err := s.FailOrphanedTasks(ctx, "host-a", msg)
	must(t, err)
	slices.Sort(ids)
	if want := []int64{tasks[0].ID, tasks[1].ID}; !slices.Equal(ids, want) {
		t.Fatalf("FailOrphanedTasks(host-a) = %v, want %v", ids, want)
	}
	for i, want := range []string{aegir.StatusFailed, aegir.StatusFailed, aegir.StatusProcessing, aegir.StatusProcessing, aegir.StatusQueued} {
		got, err := s.GetTask(ctx, tasks[i].ID)
		must(t, err)
		if got.Status != want {
			t.Fatalf("task %d is %s, want %s", i, got.Status, want)
		}
		if want == aegir.StatusFailed && got.FinishedAt == nil {
			t.Fatalf("failed orphan %d has no FinishedAt", i)
		}
	}
	log, err := s.TaskLog(ctx, tasks[0].ID, 0)
	must(t, err)
	if len(log) != 1 || log[0].Level != aegir.LevelError || log[0].Message != msg {
		t.Fatalf("orphan's log = %+v", log)
	}
	ids, err = s.FailOrphanedTasks(ctx, "", msg)
	must(t, err)
	if len(ids) != 2 {
		t.Fatalf("FailOrphanedTasks(all) = %v, want 2 tasks", ids)
	}
	ids, err = s.FailOrphanedTasks(ctx, "", msg)
	must(t, err)
	if len(ids) != 0 {
		t.Fatalf("FailOrphanedTasks(all) again = %v, want none", ids)
	}
	if _, err := s.RetryTask(ctx, tasks[0].ID); err != nil {
		t.Fatalf("retry an orphan: %v", err)
	}
	claim(t, s, "host-a/1", tasks[4])
}

func testPrune(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	done, failed, running, queued := siteTask("cron", "a.example", "pa"), siteTask("cron", "b.example", "pa"),
		siteTask("cron", "c.example", "pa"), siteTask("cron", "d.example", "pa")
	enqueue(t, s, done, failed, running)
	for _, task := range []*aegir.Task{done, failed, running} {
		claim(t, s, "w", task)
		must(t, s.AppendTaskLog(ctx, task.ID, aegir.LogEntry{Level: aegir.LevelInfo, Message: "one"}, aegir.LogEntry{Level: aegir.LevelInfo, Message: "two"}))
	}
	enqueue(t, s, queued)
	must(t, s.AppendTaskLog(ctx, queued.ID, aegir.LogEntry{Level: aegir.LevelInfo, Message: "queued"}))
	finish(t, s, done)
	must(t, s.FinishTask(ctx, failed.ID, aegir.StatusFailed, nil))

	n, err := s.PruneTaskLogs(ctx, time.Now().Add(-time.Hour))
	must(t, err)
	if n != 0 {
		t.Fatalf("PruneTaskLogs(an hour ago) = %d, want 0", n)
	}
	n, err = s.PruneTaskLogs(ctx, time.Now().Add(time.Hour))
	must(t, err)
	if n != 4 {
		t.Fatalf("PruneTaskLogs(in an hour) = %d, want 4", n)
	}
	for task, want := range map[*aegir.Task]int{done: 0, failed: 0, running: 2, queued: 1} {
		log, err := s.TaskLog(ctx, task.ID, 0)
		must(t, err)
		if len(log) != want {
			t.Fatalf("task %d has %d log lines, want %d", task.ID, len(log), want)
		}
	}
	n, err = s.PruneTasks(ctx, time.Now().Add(time.Hour))
	must(t, err)
	if n != 2 {
		t.Fatalf("PruneTasks = %d, want 2", n)
	}
	_, err = s.GetTask(ctx, done.ID)
	wantCode(t, err, aegir.ENOTFOUND)
	for _, task := range []*aegir.Task{running, queued} {
		if _, err := s.GetTask(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
	}
	// IDs are never reused, so a stale task link never shows another task.
	next := siteTask("cron", "e.example", "pa")
	enqueue(t, s, next)
	if next.ID <= queued.ID {
		t.Fatalf("new task ID %d after pruning, last was %d", next.ID, queued.ID)
	}
}

func testListTasks(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	var all []*aegir.Task
	for i := range 30 {
		task := siteTask([]string{"verify", "backup", "cron"}[i%3], fmt.Sprintf("s%d.example", i%5), "pa")
		enqueue(t, s, task)
		all = append(all, task)
	}
	claim(t, s, "w", all[0])
	list, total, err := s.ListTasks(ctx, aegir.TaskFilter{PerPage: 10})
	must(t, err)
	if total != 30 || len(list) != 10 || list[0].ID != all[29].ID || list[9].ID != all[20].ID {
		t.Fatalf("ListTasks first page: total %d, %d items", total, len(list))
	}
	list, total, err = s.ListTasks(ctx, aegir.TaskFilter{Object: "@s1.example"})
	must(t, err)
	if total != 6 || list[0].ID != all[26].ID {
		t.Fatalf("ListTasks(s1) total = %d", total)
	}
	_, total, err = s.ListTasks(ctx, aegir.TaskFilter{Object: "s1.example", Type: "backup"})
	must(t, err)
	if total != 2 {
		t.Fatalf("ListTasks(s1, backup) total = %d", total)
	}
	list, total, err = s.ListTasks(ctx, aegir.TaskFilter{Status: aegir.StatusProcessing})
	must(t, err)
	if total != 1 || list[0].ID != all[0].ID || list[0].Worker != "w" {
		t.Fatalf("ListTasks(processing) = %d %+v", total, list)
	}
	_, total, err = s.ListTasks(ctx, aegir.TaskFilter{Status: aegir.StatusQueued, Page: 3, PerPage: 10})
	must(t, err)
	if total != 29 {
		t.Fatalf("ListTasks(queued) total = %d", total)
	}
}

func testListen(t *testing.T, s aegir.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Listen(ctx)
	must(t, err)
	wake := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wakeup after %s", what)
		}
	}
	task := siteTask("verify", "a.example", "pa")
	enqueue(t, s, task)
	wake("EnqueueTask")
	claim(t, s, "w", task)
	finish(t, s, task)
	wake("FinishTask")
	must(t, s.Notify(t.Context()))
	wake("Notify")
	cancel()
	waitClosed(t, ch, "its context ended")

	// Closing the store ends its listeners; closing it again is harmless.
	ch, err = s.Listen(t.Context())
	must(t, err)
	must(t, s.Close())
	waitClosed(t, ch, "the store closed")
	must(t, s.Close())
}

func waitClosed(t *testing.T, ch <-chan struct{}, after string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the channel is still open after %s", after)
		}
	}
}

// testConcurrentClaims runs six workers on one store over 200 tasks on 8
// sites of 2 platforms (some exclusive platform tasks among them), and
// checks that each task ran once, alone on its object, in order.
func testConcurrentClaims(t *testing.T, s aegir.Store) {
	const workers = 6
	queued := TaskMix(200, 8, 2, 1)
	for _, task := range queued {
		must(t, s.EnqueueTask(t.Context(), task))
	}
	checker := NewRunChecker()
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			errs <- ClaimAll(t.Context(), s, fmt.Sprintf("w%d", w), len(queued), 30*time.Second, checker.Run)
		}()
	}
	for range workers {
		must(t, <-errs)
	}
	checker.CheckOnce(t, queued)
	CheckRuns(t, s, queued)
}

// TaskMix returns n tasks to enqueue: cron tasks on sites s00.example...
// (sites of them, on platforms p0... by site number), in an order shuffled
// by seed, with every 25th an exclusive verify of a platform.
func TaskMix(n, sites, platforms int, seed uint64) []*aegir.Task {
	rnd := rand.New(rand.NewPCG(seed, seed))
	var tasks []*aegir.Task
	for i := range n {
		site := rnd.IntN(sites)
		platform := fmt.Sprintf("p%d", site%platforms)
		task := &aegir.Task{Type: "cron", ObjectType: aegir.SiteContext, Object: fmt.Sprintf("s%02d.example", site), Platform: platform}
		if i%25 == 24 {
			task = &aegir.Task{Type: "verify", ObjectType: aegir.PlatformContext, Object: platform, Platform: platform, Exclusive: true}
		}
		tasks = append(tasks, task)
	}
	return tasks
}

// RunChecker watches tasks run, as the workers of ClaimAll see them.
type RunChecker struct {
	mu      sync.Mutex
	claims  map[int64]int
	running map[string]int // object → tasks running on it now
}

// NewRunChecker returns a checker that has seen nothing.
func NewRunChecker() *RunChecker {
	return &RunChecker{claims: map[int64]int{}, running: map[string]int{}}
}

// Run is ClaimAll's run function: it counts the task's claims and fails
// when another task of its object is running; the task "runs" briefly so
// that runs overlap when the store lets them.
func (c *RunChecker) Run(task *aegir.Task) error {
	c.mu.Lock()
	c.claims[task.ID]++
	c.running[task.Object]++
	n := c.running[task.Object]
	c.mu.Unlock()
	if n != 1 {
		return fmt.Errorf("runs beside another task on %s", task.Object)
	}
	time.Sleep(200 * time.Microsecond)
	c.mu.Lock()
	c.running[task.Object]--
	c.mu.Unlock()
	return nil
}

// CheckOnce fails unless each task was claimed exactly once.
func (c *RunChecker) CheckOnce(t *testing.T, tasks []*aegir.Task) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, task := range tasks {
		if n := c.claims[task.ID]; n != 1 {
			t.Fatalf("task %d was claimed %d times", task.ID, n)
		}
	}
}

// ClaimAll claims and finishes tasks from s as worker until every one of
// total tasks in the store has succeeded, or fails after timeout. run,
// when not nil, is called with each task between its claim and its
// finish; an error from it stops the worker. Between claims that find
// nothing it waits on s.Listen.
func ClaimAll(ctx context.Context, s aegir.Store, worker string, total int, timeout time.Duration, run func(*aegir.Task) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wake, err := s.Listen(ctx)
	if err != nil {
		return err
	}
	for {
		task, err := s.ClaimTask(ctx, worker)
		if err != nil {
			return fmt.Errorf("%s: claim: %w", worker, err)
		}
		if task != nil {
			if run != nil {
				if err := run(task); err != nil {
					return fmt.Errorf("%s: task %d: %w", worker, task.ID, err)
				}
			}
			if err := s.FinishTask(ctx, task.ID, aegir.StatusSuccess, map[string]any{"worker": worker}); err != nil {
				return fmt.Errorf("%s: finish %d: %w", worker, task.ID, err)
			}
			continue
		}
		_, done, err := s.ListTasks(ctx, aegir.TaskFilter{Status: aegir.StatusSuccess, PerPage: 1})
		if err != nil {
			return err
		}
		if done == total {
			return nil
		}
		select {
		case <-wake:
		case <-time.After(50 * time.Millisecond): // a notification may have come before Listen
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d tasks done: %w", worker, done, total, ctx.Err())
		}
	}
}

// CheckRuns checks from the stored rows that every task in want ran once
// and succeeded, that no two runs on one object overlapped, that runs on
// one object kept creation order, and that no task ran on a platform
// while an exclusive task ran there.
func CheckRuns(t *testing.T, s aegir.Store, want []*aegir.Task) {
	t.Helper()
	var runs []*aegir.Task
	for _, w := range want {
		got, err := s.GetTask(t.Context(), w.ID)
		must(t, err)
		if got.Status != aegir.StatusSuccess || got.StartedAt == nil || got.FinishedAt == nil {
			t.Fatalf("task %d: %+v", got.ID, got)
		}
		runs = append(runs, got)
	}
	byObject := map[string][]*aegir.Task{}
	for _, r := range runs {
		byObject[r.Object] = append(byObject[r.Object], r)
	}
	for obj, list := range byObject {
		for i := 1; i < len(list); i++ {
			prev, cur := list[i-1], list[i] // in creation order
			if cur.StartedAt.Before(*prev.FinishedAt) {
				t.Fatalf("on %s task %d started at %v before task %d finished at %v",
					obj, cur.ID, cur.StartedAt, prev.ID, prev.FinishedAt)
			}
		}
	}
	for _, e := range runs {
		if !e.Exclusive {
			continue
		}
		for _, r := range runs {
			if r.ID != e.ID && r.Platform == e.Platform && r.StartedAt.Before(*e.FinishedAt) && e.StartedAt.Before(*r.FinishedAt) {
				t.Fatalf("task %d on %s ran from %v to %v, during exclusive task %d (%v to %v)",
					r.ID, r.Platform, r.StartedAt, r.FinishedAt, e.ID, e.StartedAt, e.FinishedAt)
			}
		}
	}
}

// testDeletedSiteHistory: the backups and tasks of a deleted site stay
// bound to it, not to its name: a new site that takes the name (another
// client's) sees none of them, and neither does a site of that name made
// after the deleted site's platform, server or client went.
func testDeletedSiteHistory(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	old := site("gone.example", "pa")
	old.Client = "c1"
	must(t, s.CreateSite(ctx, old))
	b := &aegir.Backup{Site: "gone.example", File: "/var/aegir/backups/gone.example-20250101.000000.tar.gz"}
	must(t, s.AddBackup(ctx, b))
	task := siteTask("login-reset", "gone.example", "pa")
	must(t, s.EnqueueTask(ctx, task))
	old.Status = aegir.SiteDeleted
	must(t, s.UpdateSite(ctx, old))

	taken := site("gone.example", "pb")
	taken.Client = "c2"
	must(t, s.CreateSite(ctx, taken))
	list, err := s.ListBackups(ctx, "gone.example")
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("the new gone.example sees its predecessor's backups: %+v", list)
	}
	tasks, _, err := s.ListTasks(ctx, aegir.TaskFilter{Object: "gone.example"})
	must(t, err)
	if len(tasks) != 0 {
		t.Fatalf("the new gone.example sees its predecessor's tasks: %+v", tasks)
	}
	tasks, _, err = s.ListTasks(ctx, aegir.TaskFilter{Scope: aegir.Scope{Limited: true, Clients: []string{"c2"}}})
	must(t, err)
	for _, o := range tasks {
		if o.ID == task.ID {
			t.Fatalf("client c2 sees the task of c1's deleted site: %+v", o)
		}
	}
	// Kept for administrators, under a name no site can take.
	kept, err := s.GetBackup(ctx, b.ID)
	must(t, err)
	if !strings.HasPrefix(kept.Site, "gone.example~deleted-") || aegir.ValidateURI("uri", kept.Site) == nil {
		t.Fatalf("the old backup is now of %q", kept.Site)
	}
	kt, err := s.GetTask(ctx, task.ID)
	must(t, err)
	if kt.Object != kept.Site {
		t.Fatalf("the old task is now of %q, its backup of %q", kt.Object, kept.Site)
	}

	// Dropped with its platform: the same.
	again := site("again.example", "pc")
	must(t, s.CreateSite(ctx, again))
	b2 := &aegir.Backup{Site: "again.example", File: "/var/aegir/backups/again.example-20250101.000000.tar.gz"}
	must(t, s.AddBackup(ctx, b2))
	again.Status = aegir.SiteDeleted
	must(t, s.UpdateSite(ctx, again))
	must(t, s.DeletePlatform(ctx, "pc"))
	must(t, s.CreateSite(ctx, site("again.example", "pa")))
	list, err = s.ListBackups(ctx, "again.example")
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("a site made after its predecessor's platform went sees its backups: %+v", list)
	}
}

// testHeartbeats: a worker that stops beating while it holds processing
// tasks is lapsed once its last beat is older than the ttl; one that holds
// none, or beat recently, is not.
func testHeartbeats(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.Heartbeat(ctx, "h1"))
	must(t, s.Heartbeat(ctx, "h2"))
	wantCode(t, s.Heartbeat(ctx, ""), aegir.EINVALID, "worker")
	must(t, s.CreateSite(ctx, site("hb.example", "pa")))
	must(t, s.EnqueueTask(ctx, siteTask("verify", "hb.example", "pa")))
	claimed, err := s.ClaimTask(ctx, "h1/3")
	must(t, err)
	if claimed == nil {
		t.Fatal("nothing claimed")
	}
	lapsed, err := s.LapsedWorkers(ctx, time.Hour)
	must(t, err)
	if len(lapsed) != 0 {
		t.Fatalf("lapsed within the ttl: %v", lapsed)
	}
	time.Sleep(20 * time.Millisecond)
	lapsed, err = s.LapsedWorkers(ctx, 10*time.Millisecond)
	must(t, err)
	wantEqual(t, "lapsed workers", lapsed, []string{"h1"}) // h2 holds nothing
	must(t, s.Heartbeat(ctx, "h1"))
	lapsed, err = s.LapsedWorkers(ctx, time.Second)
	must(t, err)
	if len(lapsed) != 0 {
		t.Fatalf("a worker that beat again is lapsed: %v", lapsed)
	}
	list, err := s.Workers(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Name != "h1" || list[0].SeenAt.IsZero() {
		t.Fatalf("workers %+v", list)
	}
}
