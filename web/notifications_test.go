package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

// TestADownSiteIsFlaggedInListsPagesAndTheDashboard: the last health
// check shows in the sites list (with a filter), on the site's page with
// its reason, on the dashboard as a count, and in the API.
func TestADownSiteIsFlaggedInListsPagesAndTheDashboard(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ctx := t.Context()
	at := time.Now()
	must(t, w.store.SetSiteHealth(ctx, "a.example", aegir.SiteHealth{State: aegir.HealthDown, Code: 500, Millis: 12, Reason: "answered 500", CheckedAt: &at}))
	must(t, w.store.SetSiteHealth(ctx, "b.example", aegir.SiteHealth{State: aegir.HealthUp, Code: 200, Millis: 7, CheckedAt: &at}))

	br := w.login(t, "admin")
	_, body, _ := br.get("/sites")
	if !strings.Contains(body, `<span class="badge bad health" title="answered 500: answered 500 in 12 ms`) || !strings.Contains(body, `<span class="badge ok health"`) {
		t.Errorf("the sites list shows no health:\n%s", body)
	}
	_, body, _ = br.get("/sites?health=down")
	if got := siteRows(body); !slices.Equal(got, []string{"a.example"}) {
		t.Errorf("down sites %v", got)
	}
	_, body, _ = br.get("/sites/a.example")
	if !strings.Contains(body, `id="site-health"`) || !strings.Contains(body, "answered 500</span>") {
		t.Errorf("the site page shows no health:\n%s", body)
	}
	_, body, _ = br.get("/")
	if !strings.Contains(body, `<li id="sites-down"><a href="/sites?health=down">`) || !strings.Contains(body, "<b>1</b></li>") {
		t.Errorf("the dashboard shows no down site:\n%s", body)
	}
	// ann sees her client's site down; bob, of another client, no count.
	_, body, _ = w.login(t, "bob").get("/")
	if strings.Contains(body, `id="sites-down"`) {
		t.Errorf("bob's dashboard counts another client's site down")
	}
	a := w.as(t, "ann", "GET", "/api/sites/a.example", nil).want(t, 200)
	if h, _ := a.obj(t, "site")["health"].(map[string]any); h["state"] != "down" || h["code"] != float64(500) || h["reason"] != "answered 500" {
		t.Errorf("the API's health: %s", a.raw)
	}
	a = w.as(t, "admin", "GET", "/api/sites?health=up", nil).want(t, 200)
	if a.body["total"] != float64(1) {
		t.Errorf("up sites: %s", a.raw)
	}
	// health is the check's, not the user's: a PATCH cannot set it.
	w.as(t, "admin", "PATCH", "/api/sites/a.example", map[string]any{"health": map[string]any{"state": "up"}}).wantError(t, 400, aegir.EINVALID, "health")
}

// TestNotificationsKeepToWhatAUserMaySee: the list (page and API) shows
// a client user their clients' sites' notifications only; an
// administrator sees all, servers' too.
func TestNotificationsKeepToWhatAUserMaySee(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ctx := t.Context()
	for _, n := range []*aegir.Notification{
		{Event: aegir.EventSiteDown, ObjectType: aegir.SiteContext, Object: "a.example", Client: "acme", Message: "@a.example is down: answered 500."},
		{Event: aegir.EventBackupFailed, ObjectType: aegir.SiteContext, Object: "b.example", Client: "beta", Message: "The backup of @b.example failed."},
		{Event: aegir.EventServerUnreachable, ObjectType: aegir.ServerContext, Object: "server_master", Message: "The verify of @server_master failed."},
	} {
		must(t, w.store.AddNotification(ctx, n))
	}
	for user, want := range map[string][]string{
		"admin": {"server_master", "b.example", "a.example"},
		"ann":   {"a.example"},
		"bob":   {"b.example"},
	} {
		a := w.as(t, user, "GET", "/api/notifications", nil).want(t, 200)
		var got []string
		for _, n := range a.body["notifications"].([]any) {
			got = append(got, n.(map[string]any)["object"].(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s's notifications: %v, want %v", user, got, want)
		}
	}
	_, body, _ := w.login(t, "ann").get("/notifications")
	if !strings.Contains(body, "@a.example is down: answered 500.") || strings.Contains(body, "b.example") || strings.Contains(body, "server_master") {
		t.Errorf("ann's notifications page:\n%s", body)
	}
	if !strings.Contains(body, `<a href="/notifications" aria-current="page">Notifications</a>`) {
		t.Errorf("the menu has no notifications entry:\n%s", body)
	}
}

// TestUsersChooseTheirAlerts: the page's form and the API set a user's own
// alerts; the webhook's secret is taken but never shown back, and kept
// when left empty; bad input names the field and changes nothing.
func TestUsersChooseTheirAlerts(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	br := w.login(t, "ann")
	secret := "ann-hook-secret-0123456789"
	status, body, _ := br.post("/notifications/alerts", url.Values{"events": {"site_down", "site_up"}, "email": {"1"},
		"webhook_url": {"https://hooks.example/ann"}, "webhook_secret": {secret}})
	if status != http.StatusOK || !strings.Contains(body, `id="alerts-saved"`) || strings.Contains(body, secret) {
		t.Fatalf("saving alerts: %d\n%s", status, body)
	}
	if !strings.Contains(body, `value="site_down" checked`) || !strings.Contains(body, `id="alert-email" checked`) || !strings.Contains(body, "one is set") {
		t.Errorf("the saved choice is not shown:\n%s", body)
	}
	a := w.as(t, "ann", "GET", "/api/me/alerts", nil).want(t, 200)
	al := a.obj(t, "alerts")
	if strings.Contains(a.raw, secret) || al["webhook_secret_set"] != true || al["email"] != true || len(al["events"].([]any)) != 2 {
		t.Errorf("the API's alerts: %s", a.raw)
	}

	// Bad input: the field is named, the page says so, nothing changes.
	status, body, _ = br.post("/notifications/alerts", url.Values{"events": {"site_down"}, "webhook_url": {"ftp://hooks.example/"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "must be an http or https URL") {
		t.Errorf("a bad webhook: %d\n%s", status, body)
	}
	w.as(t, "ann", "PUT", "/api/me/alerts", map[string]any{"events": []string{"party"}}).wantError(t, 400, aegir.EINVALID, "events")
	w.as(t, "ann", "PUT", "/api/me/alerts", map[string]any{"events": []string{}, "webhook_secret_set": true}).wantError(t, 400, aegir.EINVALID, "webhook_secret_set")
	got, err := w.store.GetAlertSubscription(t.Context(), userID(t, w, "ann"))
	must(t, err)
	if got.WebhookSecret != secret || len(got.Events) != 2 {
		t.Errorf("bad input changed the alerts: %+v", got)
	}

	// The same webhook without a secret keeps the one set.
	w.as(t, "ann", "PUT", "/api/me/alerts", map[string]any{"events": []string{"backup_failed"}, "webhook_url": "https://hooks.example/ann"}).want(t, 200)
	got, err = w.store.GetAlertSubscription(t.Context(), userID(t, w, "ann"))
	must(t, err)
	if got.WebhookSecret != secret || !slices.Equal(got.Events, []string{"backup_failed"}) || got.Email {
		t.Errorf("alerts after a change: %+v", got)
	}
	// Another webhook needs its own secret.
	w.as(t, "ann", "PUT", "/api/me/alerts", map[string]any{"webhook_url": "https://other.example/"}).wantError(t, 400, aegir.EINVALID, "webhook_secret")
}

func userID(t *testing.T, w *world, name string) int64 {
	t.Helper()
	u, err := w.store.GetUserByName(t.Context(), name)
	must(t, err)
	return u.ID
}
