package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/hosting"
)

// secretIn returns the token secret a page or answer shows, or "".
func secretIn(body string) string {
	return regexp.MustCompile(regexp.QuoteMeta(hosting.TokenPrefix) + `[A-Za-z0-9_-]{43}`).FindString(body)
}

// TestAccountPageManagesOwnTokens: a user's account page lists their own
// API tokens, makes one and shows its secret that once, and revokes one
// after asking; another user's token is not found there.
func TestAccountPageManagesOwnTokens(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ann := w.login(t, "ann")
	_, body, _ := ann.get("/account")
	if !strings.Contains(body, `id="tokens"`) || strings.Count(body, `<tr class="token">`) != 1 || strings.Contains(body, "spare") {
		t.Fatalf("ann's tokens on her page (one, not bob's):\n%s", body)
	}
	status, body, _ := ann.post("/account/tokens", url.Values{"name": {"deploy script"}})
	secret := secretIn(body)
	if status != http.StatusCreated || secret == "" || !strings.Contains(body, `id="token-secret"`) || !strings.Contains(body, "deploy script") {
		t.Fatalf("making a token: %d\n%s", status, body)
	}
	w.doWith(t, "GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + secret}).want(t, 200)
	if _, body, _ = ann.get("/account"); secretIn(body) != "" {
		t.Fatal("the secret is shown again")
	}
	if status, body, _ = ann.post("/account/tokens", url.Values{"name": {strings.Repeat("x", 65)}}); status != http.StatusBadRequest || !strings.Contains(body, "1 to 64 characters") {
		t.Errorf("a name too long: %d\n%s", status, body)
	}

	list, err := w.svc.ListTokens(t.Context(), "ann")
	must(t, err)
	id := list[0].ID // the newest, deploy script
	path := fmt.Sprintf("/account/tokens/%d/revoke", id)
	if !strings.Contains(body, `action="`+path+`" data-confirm=`) {
		t.Errorf("the revoke button does not ask first:\n%s", body)
	}
	if status, body, _ = ann.post(path, url.Values{}); status != http.StatusOK || !strings.Contains(body, `id="confirm-yes"`) {
		t.Fatalf("an unconfirmed revoke: %d\n%s", status, body)
	}
	w.doWith(t, "GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + secret}).want(t, 200)
	if status, _, loc := ann.post(path, url.Values{"confirmed": {"1"}}); status != http.StatusSeeOther || loc != "/account#tokens" {
		t.Fatalf("the revoke: %d %s", status, loc)
	}
	w.doWith(t, "GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + secret}).want(t, 401)

	// bob's token is no business of ann's.
	if status, _, _ = ann.post(fmt.Sprintf("/account/tokens/%d/revoke", w.bobSpare), url.Values{"confirmed": {"1"}}); status != http.StatusNotFound {
		t.Fatalf("ann revoking bob's token: %d", status)
	}
	if bobs, err := w.svc.ListTokens(t.Context(), "bob"); err != nil || bobs[0].RevokedAt != nil {
		t.Fatalf("bob's token after ann's try: %+v %v", bobs[0], err)
	}
}

// TestTokensAPIIsOwnOrAdministrators: over the API a user lists, makes and
// revokes their own tokens; a client user cannot see another's (404), an
// account manager may not manage theirs (403), an administrator may.
func TestTokensAPIIsOwnOrAdministrators(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		a := w.as(t, "ann", "POST", "/api/users/ann/tokens", map[string]any{"name": "ci"}).want(t, 201)
		secret, _ := a.body["secret"].(string)
		tok := a.obj(t, "token")
		if secretIn(secret) != secret || tok["name"] != "ci" || tok["hash"] != nil {
			t.Fatalf("made: %s", a.raw)
		}
		list := w.as(t, "ann", "GET", "/api/users/ann/tokens", nil).want(t, 200)
		if got := names(t, list, "tokens"); len(got) != 2 || strings.Contains(list.raw, secret) {
			t.Fatalf("ann's tokens %v: %s", got, list.raw)
		}
		w.as(t, "ann", "POST", "/api/users/ann/tokens", map[string]any{"name": "ci", "user": "bob"}).wantError(t, 400, "invalid", "user")

		bobPath := fmt.Sprintf("/api/users/bob/tokens/%d", w.bobSpare)
		w.as(t, "ann", "GET", "/api/users/bob/tokens", nil).wantError(t, 404, "not_found", "")
		w.as(t, "ann", "POST", "/api/users/bob/tokens", map[string]any{}).wantError(t, 404, "not_found", "")
		w.as(t, "ann", "DELETE", bobPath, nil).wantError(t, 404, "not_found", "")
		// A token id of bob's under ann's name is not found either.
		w.as(t, "ann", "DELETE", fmt.Sprintf("/api/users/ann/tokens/%d", w.bobSpare), nil).wantError(t, 404, "not_found", "")
		w.as(t, "am", "GET", "/api/users/ann/tokens", nil).wantError(t, 403, "forbidden", "")

		annPath := fmt.Sprintf("/api/users/ann/tokens/%v", tok["id"])
		if r := w.as(t, "ann", "DELETE", annPath, nil).want(t, 200).obj(t, "token"); r["revoked_at"] == nil {
			t.Fatalf("revoked: %v", r)
		}
		w.doWith(t, "GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + secret}).want(t, 401)
		w.as(t, "admin", "GET", "/api/users/bob/tokens", nil).want(t, 200)
		w.as(t, "admin", "DELETE", bobPath, nil).want(t, 200)
	})
}
