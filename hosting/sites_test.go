package hosting_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestListLiveSitesPagesAroundDeletedSites: every page of the live sites
// is the page a filter on "not deleted" would give, at several page
// sizes, with deleted sites before, between and after the live ones
// (names chosen where bytewise and dictionary orders differ), and the
// total counts the live ones only.
func TestListLiveSitesPagesAroundDeletedSites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	deleted := map[string]bool{}
	for i, uri := range []string{"a-b.example", "a.example", "ab.example", "a0.example", "b.example", "b-a.example",
		"c.example", "c1.example", "c-1.example", "d.example", "e.example", "zz.example"} {
		status := aegir.SiteEnabled
		if i%3 != 1 && uri != "b-a.example" {
			status = aegir.SiteDeleted
			deleted[uri] = true
		}
		if uri == "zz.example" || uri == "a-b.example" {
			status, deleted[uri] = aegir.SiteDeleted, true
		}
		b.site(t, uri, status)
	}
	all, _, err := b.store.ListSites(ctx, aegir.SiteFilter{PerPage: aegir.MaxPerPage})
	must(t, err)
	var want []string
	for _, r := range all {
		if r.Status != aegir.SiteDeleted {
			want = append(want, r.Name)
		}
	}
	for _, perPage := range []int{1, 2, 3, 5, 50} {
		var got []string
		for page := 1; page <= len(want)+1; page++ {
			list, total, err := b.svc.ListLiveSites(ctx, aegir.SiteFilter{Page: page, PerPage: perPage})
			must(t, err)
			if total != len(want) {
				t.Fatalf("per page %d, page %d: total %d, want %d", perPage, page, total, len(want))
			}
			if len(list) > perPage {
				t.Fatalf("per page %d, page %d: %d sites", perPage, page, len(list))
			}
			for _, r := range list {
				got = append(got, r.Name)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("per page %d: pages hold %v, want %v", perPage, got, want)
		}
	}
	// Asked for, deleted sites are listed as the store lists them.
	list, total, err := b.svc.ListLiveSites(ctx, aegir.SiteFilter{Status: aegir.SiteDeleted, PerPage: aegir.MaxPerPage})
	must(t, err)
	if total != len(deleted) || len(list) != len(deleted) {
		t.Errorf("deleted sites: %d listed, total %d, want %d", len(list), total, len(deleted))
	}
	// Filters apply as to the store's list: a search.
	var found []string
	for page := 1; page <= 3; page++ {
		list, total, err = b.svc.ListLiveSites(ctx, aegir.SiteFilter{Query: "b", PerPage: 1, Page: page})
		must(t, err)
		if total != 2 {
			t.Errorf("search b: total %d, want 2", total)
		}
		for _, r := range list {
			found = append(found, r.Name)
		}
	}
	if want := []string{"b-a.example", "b.example"}; !slices.Equal(found, want) {
		t.Errorf("search b: %v, want %v", found, want)
	}
}

// TestSiteTaskRefusalSaysWhatToDoFirst: the reason a UI shows for a
// missing delete button is the state rule's own.
func TestSiteTaskRefusalSaysWhatToDoFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r, err := b.store.GetSite(t.Context(), "live.example.com")
	must(t, err)
	err = b.svc.SiteTaskRefusal(r, aegir.TaskDelete)
	wantCode(t, err, aegir.ECONFLICT, "")
	if !strings.Contains(err.Error(), "disable it before deleting it") {
		t.Errorf("refusal: %v", err)
	}
	must(t, b.svc.SiteTaskRefusal(r, aegir.TaskDisable))
	r.Status = aegir.SiteDisabled
	must(t, b.svc.SiteTaskRefusal(r, aegir.TaskDelete))
	b.svc.OwnSite = "live.example.com"
	if err := b.svc.SiteTaskRefusal(r, aegir.TaskDelete); err == nil || !strings.Contains(err.Error(), "serves this front end") {
		t.Errorf("refusal on the front end's own site: %v", err)
	}
}
