package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// TestClientPageOffersWhatTheUserMayDo: a client's page links to editing
// it, adding a site of it and adding a user for it, each to those the
// rules allow; the links lead to forms filled in for the client, and the
// edit form saves.
func TestClientPageOffersWhatTheUserMayDo(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	actions := []string{`id="edit-client"`, `id="client-add-site"`, `id="client-add-user"`}
	for user, want := range map[string][]bool{
		"admin": {true, true, true},
		"am":    {true, false, true}, // account managers add no sites
		"pm":    {false, false, false},
		"ann":   {false, true, false}, // her own client
	} {
		_, body, _ := w.login(t, user).get("/clients/acme")
		for i, a := range actions {
			if strings.Contains(body, a) != want[i] {
				t.Errorf("%s on acme's page: %s shown %v, want %v", user, a, !want[i], want[i])
			}
		}
	}
	ann := w.login(t, "ann")
	if _, body, _ := ann.get("/sites/new?client=acme"); !strings.Contains(body, `<option value="acme" selected>`) {
		t.Errorf("the add site form from acme's page is not for acme:\n%s", body)
	}
	am := w.login(t, "am")
	if _, body, _ := am.get("/users/new?clients=acme"); !strings.Contains(body, `id="clients" name="clients" value="acme"`) {
		t.Errorf("the add user form from acme's page is not for acme:\n%s", body)
	}
	_, body, _ := am.get("/clients/acme/edit")
	if !strings.Contains(body, `value="ACME"`) || !strings.Contains(body, `action="/clients/acme/edit"`) {
		t.Fatalf("the edit form:\n%s", body)
	}
	if status, body, _ := am.post("/clients/acme/edit", url.Values{"title": {"Acme Inc."}, "email": {"not an email"}}); status != http.StatusBadRequest || !strings.Contains(body, `class="field-error"`) {
		t.Fatalf("a bad email: %d\n%s", status, body)
	}
	if status, _, loc := am.post("/clients/acme/edit", url.Values{"title": {"Acme Inc."}, "email": {"ops@acme.example"}}); status != http.StatusSeeOther || loc != "/clients/acme" {
		t.Fatalf("the edit: %d %s", status, loc)
	}
	c, err := w.svc.GetClient(t.Context(), "acme")
	must(t, err)
	if c.Title != "Acme Inc." || c.Email != "ops@acme.example" {
		t.Fatalf("client after the edit: %+v", c)
	}
	if status, _, _ := ann.get("/clients/acme/edit"); status != http.StatusForbidden {
		t.Errorf("ann may edit her client: %d", status)
	}
}

// TestClientQuotasAreSetByAdministratorsAndShownOnTheClientsPage: the API
// and the form take quotas from an administrator only; a site beyond the
// quota is refused by the API and the site form, naming the quota; the
// client's page shows used and limit.
func TestClientQuotasAreSetByAdministratorsAndShownOnTheClientsPage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	w.as(t, "am", "PATCH", "/api/clients/acme", map[string]any{"quota_sites": 5}).wantError(t, 403, hosting.EFORBIDDEN, "quota_sites")
	w.as(t, "admin", "PATCH", "/api/clients/acme", map[string]any{"quota_sites": -1}).wantError(t, 400, aegir.EINVALID, "quota_sites")
	w.as(t, "admin", "PATCH", "/api/clients/acme", map[string]any{"quota_disk": "lots"}).wantError(t, 400, aegir.EINVALID, "quota_disk")
	a := w.as(t, "admin", "PATCH", "/api/clients/acme", map[string]any{"quota_sites": 1}).want(t, 200)
	if c := a.obj(t, "client"); c["quota_sites"] != float64(1) || c["quota_disk"] != float64(0) {
		t.Fatalf("client after setting a quota: %s", a.raw)
	}
	// acme has a.example already: one of one.
	w.as(t, "ann", "POST", "/api/sites", map[string]any{"uri": "more.example", "platform": "platform_a", "client": "acme"}).
		wantError(t, 409, aegir.ECONFLICT, "client")
	br := w.login(t, "ann")
	status, body, _ := br.post("/sites", url.Values{"uri": {"more.example"}, "platform": {"platform_a"}, "client": {"acme"}, "profile": {"standard"}})
	if status != 409 || !strings.Contains(body, "quota_sites: 1 of 1 sites") {
		t.Errorf("the site form beyond the quota: %d\n%s", status, body)
	}
	_, body, _ = br.get("/clients/acme")
	if !strings.Contains(body, `<p id="client-quotas">Sites: <b>1</b> of <b>1</b>`) || !strings.Contains(body, "(no limit)") {
		t.Errorf("the client's page shows no quotas:\n%s", body)
	}

	// The form: an administrator sees and sets the quotas, others neither.
	admin := w.login(t, "admin")
	_, body, _ = admin.get("/clients/acme/edit")
	if !strings.Contains(body, `id="quota_sites"`) {
		t.Errorf("the admin's client form has no quotas:\n%s", body)
	}
	status, _, _ = admin.post("/clients/acme/edit", url.Values{"title": {"ACME"}, "quota_sites": {"3"}, "quota_disk": {"1048576"}})
	if status != 303 {
		t.Fatalf("saving the quotas: %d", status)
	}
	if c, err := w.store.GetClient(t.Context(), "acme"); err != nil || c.QuotaSites != 3 || c.QuotaDisk != 1<<20 {
		t.Fatalf("quotas after the form: %+v %v", c, err)
	}
	status, body, _ = admin.post("/clients/acme/edit", url.Values{"title": {"ACME"}, "quota_sites": {"many"}})
	if status != 400 || !strings.Contains(body, `is not a number of sites`) {
		t.Errorf("a bad quota in the form: %d\n%s", status, body)
	}
	_, body, _ = w.login(t, "am").get("/clients/acme/edit")
	if strings.Contains(body, `id="quota_sites"`) {
		t.Errorf("an account manager's client form shows quotas")
	}
	status, _, _ = w.login(t, "am").post("/clients/acme/edit", url.Values{"title": {"Acme by am"}})
	if c, _ := w.store.GetClient(t.Context(), "acme"); status != 303 || c.QuotaSites != 3 || c.QuotaDisk != 1<<20 {
		t.Errorf("an account manager's save changed the quotas: %d %+v", status, c)
	}
}
