package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// siteRows returns the addresses the sites list of a page shows, in order.
func siteRows(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr><td class="name"><a href="/sites/([^"]+)">`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestSitesListHidesDeletedSitesUnlessAsked: the tombstones of deleted
// sites are not in the default list, on either store, nor in its count,
// and the status filter brings them back, alone or with the rest.
func TestSitesListHidesDeletedSitesUnlessAsked(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		ctx := t.Context()
		// Names whose bytewise and dictionary orders differ.
		uris := []string{"x-y.test", "x.test", "xy.test", "y-x.test", "y.test", "z.test"}
		for i, uri := range uris {
			status := aegir.SiteEnabled
			if i%2 == 0 {
				status = aegir.SiteDeleted
			}
			must(t, b.store.CreateSite(ctx, &aegir.SiteRecord{Name: uri, Site: aegir.Site{URI: uri, Platform: "@platform_open", DBServer: "@server_master"}, Status: status}))
		}
		br := w.login(t, "admin")
		_, body, _ := br.get("/sites?q=.test")
		if got, want := siteRows(body), []string{"x.test", "y-x.test", "z.test"}; !slices.Equal(got, want) {
			t.Errorf("live sites %v, want %v", got, want)
		}
		if !strings.Contains(body, "1–3 of 3") {
			t.Errorf("the count is not of the 3 live sites:\n%s", body)
		}
		_, body, _ = br.get("/sites?q=.test&status=deleted")
		if got, want := siteRows(body), []string{"x-y.test", "xy.test", "y.test"}; !slices.Equal(got, want) {
			t.Errorf("deleted sites %v, want %v", got, want)
		}
		_, body, _ = br.get("/sites?q=.test&status=all")
		if got := siteRows(body); !slices.Equal(got, uris) {
			t.Errorf("all sites %v, want %v", got, uris)
		}
		if !strings.Contains(body, `<option value="all" selected>`) {
			t.Error("the filter does not show that deleted sites are in")
		}
		// The platform's page counts its live sites, as does the client's.
		_, body, _ = br.get("/platforms/platform_open")
		if !strings.Contains(body, "<h2>Sites <small>3 ·") || strings.Contains(body, "x-y.test") {
			t.Errorf("the platform's sites:\n%s", body)
		}
	})
}

// TestSiteSizesSayNotMeasuredUntilMeasured: a new site's disk use is not
// "0 B" but not measured yet, in the list and on its page.
func TestSiteSizesSayNotMeasuredUntilMeasured(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	br := w.login(t, "admin")
	_, body, _ := br.get("/sites/a.example")
	if !strings.Contains(body, "not measured yet") || strings.Contains(body, "0 B files") {
		t.Errorf("the page of a site never measured:\n%s", body)
	}
	if _, body, _ = br.get("/sites"); strings.Contains(body, "0 B + 0 B") || !strings.Contains(body, "not measured yet") {
		t.Errorf("the list of sites never measured:\n%s", body)
	}
	r, err := w.store.GetSite(t.Context(), "a.example")
	must(t, err)
	r.DiskFiles, r.DiskDB = 2048, 0
	must(t, w.store.UpdateSite(t.Context(), r))
	if _, body, _ = br.get("/sites/a.example"); !strings.Contains(body, "2.0 KiB files, 0 B database") {
		t.Errorf("the page of a measured site:\n%s", body)
	}
}

// TestEnabledSiteSaysWhyItHasNoDelete: a user who may delete a site but
// sees no delete button is told why, in the state rule's words; a
// disabled site has the button and no such note, and a user who may not
// delete sites at all gets no note.
func TestEnabledSiteSaysWhyItHasNoDelete(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	bob := w.login(t, "bob")
	_, body, _ := bob.get("/sites/b.example")
	if !strings.Contains(body, `id="delete-hint"`) || !strings.Contains(body, "disable it before deleting it") || strings.Contains(body, `data-task="delete"`) {
		t.Errorf("bob's enabled site:\n%s", body)
	}
	if _, body, _ = w.login(t, "pm").get("/sites/b.example"); strings.Contains(body, `id="delete-hint"`) {
		t.Error("a platform manager, who may not delete sites, is told how to")
	}
	w.setStatus(t, "b.example", aegir.SiteDisabled)
	if _, body, _ = bob.get("/sites/b.example"); strings.Contains(body, `id="delete-hint"`) || !strings.Contains(body, `data-task="delete"`) {
		t.Errorf("bob's disabled site:\n%s", body)
	}
}

// TestSiteFormsSetHTTPS: the add and edit forms set ssl_enabled,
// ssl_provider and hsts, and refuse what the API refuses, beside the
// field.
func TestSiteFormsSetHTTPS(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	br := w.login(t, "admin")
	_, body, _ := br.get("/sites/new")
	for _, want := range []string{`name="ssl_enabled"`, `name="ssl_provider"`, `name="hsts"`, `<option value="0" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the add form lacks %s", want)
		}
	}
	status, body, _ := br.post("/sites", url.Values{"uri": {"tls.example"}, "platform": {"platform_open"}, "ssl_enabled": {"7"}, "ssl_provider": {"acme"}})
	if status != http.StatusBadRequest || !regexp.MustCompile(`id="ssl_enabled"[^>]*>.*</select><p class="field-error">7 is not one of`).MatchString(strings.ReplaceAll(body, "\n", "")) {
		t.Fatalf("ssl_enabled 7: %d\n%s", status, body)
	}
	status, body, _ = br.post("/sites", url.Values{"uri": {"tls.example"}, "platform": {"platform_open"}, "ssl_enabled": {"1"}, "ssl_provider": {"letsencrypt"}})
	if status != http.StatusBadRequest || !strings.Contains(body, `letsencrypt&#34; is not one of`) {
		t.Fatalf("provider letsencrypt: %d\n%s", status, body)
	}
	status, _, loc := br.post("/sites", url.Values{"uri": {"tls.example"}, "platform": {"platform_open"}, "ssl_enabled": {"2"}, "ssl_provider": {"acme"}, "hsts": {"1"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/tasks/") {
		t.Fatalf("add with HTTPS: %d %s", status, loc)
	}
	r, err := w.store.GetSite(t.Context(), "tls.example")
	must(t, err)
	if r.Site.SSLEnabled != aegir.SSLRequired || r.Site.SSLProvider != aegir.SSLACME || !r.Site.HSTS {
		t.Fatalf("site added with %+v", r.Site)
	}

	// The edit form shows them and changes them.
	_, body, _ = br.get("/sites/a.example/edit")
	if !strings.Contains(body, `<option value="0" selected>`) || strings.Contains(body, `name="hsts" value="1" checked`) {
		t.Errorf("the edit form of a site without HTTPS:\n%s", body)
	}
	status, body, _ = br.post("/sites/a.example/edit", url.Values{"client": {"acme"}, "ssl_enabled": {"1"}, "ssl_provider": {"nope"}})
	if status != http.StatusBadRequest || !strings.Contains(body, `nope&#34; is not one of`) {
		t.Fatalf("edit with a bad provider: %d\n%s", status, body)
	}
	status, _, _ = br.post("/sites/a.example/edit", url.Values{"client": {"acme"}, "ssl_enabled": {"1"}, "ssl_provider": {"self-signed"}, "hsts": {"1"}})
	if status != http.StatusSeeOther {
		t.Fatalf("edit with HTTPS: %d", status)
	}
	r, err = w.store.GetSite(t.Context(), "a.example")
	must(t, err)
	if r.Site.SSLEnabled != aegir.SSLOn || r.Site.SSLProvider != aegir.SSLSelfSigned || !r.Site.HSTS {
		t.Fatalf("site edited to %+v", r.Site)
	}
	_, body, _ = br.get("/sites/a.example/edit")
	if !strings.Contains(body, `<option value="1" selected>`) || !strings.Contains(body, `name="hsts" value="1" checked`) {
		t.Errorf("the edit form of a site with HTTPS:\n%s", body)
	}
	// Unchecked, HSTS goes off.
	br.post("/sites/a.example/edit", url.Values{"client": {"acme"}, "ssl_enabled": {"1"}, "ssl_provider": {"self-signed"}})
	if r, err = w.store.GetSite(t.Context(), "a.example"); err != nil || r.Site.HSTS {
		t.Fatalf("hsts after unchecking: %+v %v", r, err)
	}
}
