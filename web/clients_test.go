package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
