package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSiteFormsSetAndRemoveCustomProperties: the site edit form shows a
// site's custom properties one a line, saves changed ones, removes those
// taken off, and shows a bad one as the field's error, changing nothing.
func TestSiteFormsSetAndRemoveCustomProperties(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	br := w.login(t, "admin")
	edit := func(custom string) (int, string) {
		status, body, _ := br.post("/sites/a.example/edit", url.Values{"client": {"acme"}, "ssl_enabled": {"0"}, "custom": {custom}})
		return status, body
	}
	if status, body := edit("cheesy=cheddar\n\nkind = hard\n"); status != http.StatusSeeOther {
		t.Fatalf("edit with custom properties: %d\n%s", status, body)
	}
	r, err := w.store.GetSite(t.Context(), "a.example")
	must(t, err)
	if len(r.Site.Custom) != 2 || r.Site.Custom["cheesy"] != "cheddar" || r.Site.Custom["kind"] != "hard" {
		t.Fatalf("custom after the edit: %v", r.Site.Custom)
	}
	if _, body, _ := br.get("/sites/a.example/edit"); !strings.Contains(body, "cheesy=cheddar\nkind=hard\n</textarea>") {
		t.Errorf("the edit form does not show the custom properties:\n%s", body)
	}
	for _, bad := range []string{"no equals sign", "Cheesy=x", `cheesy=a"b`} {
		if status, body := edit(bad); status != http.StatusBadRequest || !strings.Contains(body, `class="field-error"`) {
			t.Errorf("custom %q: %d\n%s", bad, status, body)
		}
	}
	if status, _ := edit("kind=soft"); status != http.StatusSeeOther {
		t.Fatalf("edit removing cheesy: %d", status)
	}
	r, err = w.store.GetSite(t.Context(), "a.example")
	must(t, err)
	if len(r.Site.Custom) != 1 || r.Site.Custom["kind"] != "soft" {
		t.Fatalf("custom after removing one: %v", r.Site.Custom)
	}
}

// TestForwardedProtoIsTrustedFromTheProxyAlone: X-Forwarded-Proto https
// makes the session cookie Secure only when the front end's own proxy
// sends it; a client talking to aegir serve directly cannot.
func TestForwardedProtoIsTrustedFromTheProxyAlone(t *testing.T) {
	t.Parallel()
	s := &Server{TrustedProxies: []string{"127.0.0.1", "::1"}}
	for _, tc := range []struct {
		peer, proto string
		want        bool
	}{
		{"127.0.0.1:40000", "https", true},
		{"[::1]:40000", "https", true},
		{"127.0.0.1:40000", "http", false},
		{"127.0.0.1:40000", "", false},
		{"192.0.2.7:40000", "https", false},
	} {
		r, _ := http.NewRequest("GET", "http://aegir.example.com/login", nil)
		r.RemoteAddr = tc.peer
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if got := s.forwardedHTTPS(r); got != tc.want {
			t.Errorf("from %s with X-Forwarded-Proto %q: %v, want %v", tc.peer, tc.proto, got, tc.want)
		}
	}
}
