package storetest

import (
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

func testSiteHealth(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	for _, n := range []string{"a.example", "b.example"} {
		must(t, s.CreateSite(ctx, site(n, "pa")))
	}
	at := time.Date(2026, 5, 1, 10, 0, 0, 123456000, time.UTC)
	down := aegir.SiteHealth{State: aegir.HealthDown, Code: 500, Millis: 42, Reason: "answered 500", CheckedAt: &at}
	must(t, s.SetSiteHealth(ctx, "a.example", down))
	got, err := s.GetSite(ctx, "a.example")
	must(t, err)
	wantJSON(t, "health", got.Health, down)

	// An update of the record (made from a copy read before the check)
	// leaves the health as the check wrote it.
	got.Health = aegir.SiteHealth{}
	got.Site.Profile = "minimal"
	must(t, s.UpdateSite(ctx, got))
	got, err = s.GetSite(ctx, "a.example")
	must(t, err)
	wantJSON(t, "health after an update", got.Health, down)

	must(t, s.SetSiteHealth(ctx, "b.example", aegir.SiteHealth{State: aegir.HealthUp, Code: 200, Millis: 3, CheckedAt: &at}))
	list, total, err := s.ListSites(ctx, aegir.SiteFilter{Health: aegir.HealthDown})
	must(t, err)
	if total != 1 || list[0].Name != "a.example" || list[0].Health.Code != 500 {
		t.Fatalf("down sites = %d %v", total, names(list))
	}
	// The dashboard's counts: by status, live, and enabled sites down.
	r := site("c.example", "pa")
	r.Status, r.Client = aegir.SiteDisabled, "c1"
	must(t, s.CreateSite(ctx, r))
	must(t, s.SetSiteHealth(ctx, "c.example", down)) // disabled: not counted down
	r = site("d.example", "pa")
	r.Status = aegir.SiteDeleted
	must(t, s.CreateSite(ctx, r))
	counts, err := s.SiteCounts(ctx, aegir.Scope{})
	must(t, err)
	wantEqual(t, "SiteCounts", counts, aegir.SiteCounts{ByStatus: map[string]int{aegir.SiteEnabled: 2, aegir.SiteDisabled: 1, aegir.SiteDeleted: 1}, Live: 3, Down: 1})
	counts, err = s.SiteCounts(ctx, aegir.Scope{Limited: true, Clients: []string{"c1"}})
	must(t, err)
	wantEqual(t, "SiteCounts(c1)", counts, aegir.SiteCounts{ByStatus: map[string]int{aegir.SiteDisabled: 1}, Live: 1})

	wantCode(t, s.SetSiteHealth(ctx, "none.example", down), aegir.ENOTFOUND)
	wantCode(t, s.SetSiteHealth(ctx, "a.example", aegir.SiteHealth{State: "sideways"}), aegir.EINVALID, "state")
}

func testNotifications(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	seed(t, s)
	for _, n := range []*aegir.Notification{
		{Event: aegir.EventSiteDown, ObjectType: aegir.SiteContext, Object: "a.example", Client: "c1", Message: "a is down"},
		{Event: aegir.EventServerUnreachable, ObjectType: aegir.ServerContext, Object: "server_web", Message: "unreachable"},
		{Event: aegir.EventBackupFailed, ObjectType: aegir.SiteContext, Object: "b.example", Client: "c2", Message: "backup failed"},
	} {
		must(t, s.AddNotification(ctx, n))
		if n.ID == 0 || n.Time.IsZero() {
			t.Fatalf("AddNotification set no id or time: %+v", n)
		}
	}
	wantCode(t, s.AddNotification(ctx, &aegir.Notification{Event: "party", ObjectType: aegir.SiteContext, Object: "a.example"}), aegir.EINVALID, "event")

	list, total, err := s.ListNotifications(ctx, aegir.NotificationFilter{})
	must(t, err)
	if total != 3 || list[0].Event != aegir.EventBackupFailed || list[2].Message != "a is down" {
		t.Fatalf("notifications = %d %+v", total, list)
	}
	list, total, err = s.ListNotifications(ctx, aegir.NotificationFilter{Scope: aegir.Scope{Limited: true, Clients: []string{"c1"}}})
	must(t, err)
	if total != 1 || list[0].Object != "a.example" {
		t.Fatalf("c1's notifications = %d %+v", total, list)
	}
	list, total, err = s.ListNotifications(ctx, aegir.NotificationFilter{ObjectTypes: []aegir.ContextType{aegir.SiteContext}})
	must(t, err)
	if total != 2 || list[1].Object != "a.example" {
		t.Fatalf("notifications on sites = %d %+v", total, list)
	}
	_, total, err = s.ListNotifications(ctx, aegir.NotificationFilter{Scope: aegir.Scope{Limited: true}})
	must(t, err)
	if total != 0 {
		t.Fatalf("a scope without clients sees %d notifications", total)
	}
}

func testAlertSubscriptions(t *testing.T, s aegir.Store) {
	ctx := t.Context()
	ann := &aegir.User{Name: "ann", Role: aegir.RoleAdministrator, Email: "ann@example.com"}
	bob := &aegir.User{Name: "bob", Role: aegir.RoleAdministrator}
	must(t, s.CreateUser(ctx, ann))
	must(t, s.CreateUser(ctx, bob))

	got, err := s.GetAlertSubscription(ctx, ann.ID)
	must(t, err)
	wantJSON(t, "no subscription", got, &aegir.AlertSubscription{UserID: ann.ID})

	a := &aegir.AlertSubscription{UserID: ann.ID, Events: []string{aegir.EventSiteDown, aegir.EventSiteUp}, Email: true,
		WebhookURL: "https://hooks.example/aegir", WebhookSecret: "0123456789abcdef"}
	must(t, s.SetAlertSubscription(ctx, a))
	must(t, s.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: bob.ID, Events: []string{aegir.EventBackupFailed}}))
	got, err = s.GetAlertSubscription(ctx, ann.ID)
	must(t, err)
	wantEqual(t, "subscription", got, a)

	subs, err := s.AlertSubscribers(ctx, aegir.EventSiteUp)
	must(t, err)
	if len(subs) != 1 || subs[0].UserID != ann.ID || subs[0].WebhookSecret != a.WebhookSecret {
		t.Fatalf("site_up subscribers = %+v", subs)
	}
	// "site" is no event, and matches none of "site_down,site_up".
	subs, err = s.AlertSubscribers(ctx, "site")
	must(t, err)
	if len(subs) != 0 {
		t.Fatalf("subscribers of a prefix = %+v", subs)
	}

	a.Events = []string{aegir.EventBackupFailed}
	must(t, s.SetAlertSubscription(ctx, a))
	subs, err = s.AlertSubscribers(ctx, aegir.EventBackupFailed)
	must(t, err)
	if len(subs) != 2 {
		t.Fatalf("backup_failed subscribers = %+v", subs)
	}

	wantCode(t, s.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: ann.ID, Events: []string{"nope"}}), aegir.EINVALID, "events")
	wantCode(t, s.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: ann.ID, WebhookURL: "file:///etc/passwd", WebhookSecret: "0123456789abcdef"}), aegir.EINVALID, "webhook_url")
	wantCode(t, s.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: ann.ID, WebhookURL: "https://h.example/", WebhookSecret: "short"}), aegir.EINVALID, "webhook_secret")
	wantCode(t, s.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: 9999}), aegir.ENOTFOUND)

	// A user's subscription goes with the user.
	must(t, s.DeleteUser(ctx, bob.ID))
	subs, err = s.AlertSubscribers(ctx, aegir.EventBackupFailed)
	must(t, err)
	if len(subs) != 1 {
		t.Fatalf("subscribers after deleting bob = %+v", subs)
	}
}
