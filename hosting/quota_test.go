package hosting_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// TestQuotasLimitANewSiteOfAClient: a client at its quota_sites, or whose
// sites use its quota_disk, gets no new site, with an error naming the
// quota; deleted sites do not count; other clients and sites without a
// client are not held back; only administrators set quotas.
func TestQuotasLimitANewSiteOfAClient(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	admin := hosting.Actor{Name: "admin", Role: aegir.RoleAdministrator}
	for _, c := range []string{"acme", "beta"} {
		_, err := b.svc.CreateClientAs(ctx, admin, hosting.ClientInput{Name: c})
		must(t, err)
	}
	_, err := b.svc.UpdateClientAs(ctx, admin, "acme", hosting.ClientInput{QuotaSites: ptr(2), QuotaDisk: ptr(int64(1 << 20))})
	must(t, err)
	// Only administrators set quotas (the command line, with no role, may).
	_, err = b.svc.UpdateClientAs(ctx, hosting.Actor{Name: "am", Role: aegir.RoleAccountManager}, "acme", hosting.ClientInput{QuotaSites: ptr(100)})
	if aegir.ErrorCode(err) != hosting.EFORBIDDEN {
		t.Fatalf("an account manager set a quota: %v", err)
	}
	if _, err = b.svc.UpdateClientAs(ctx, hosting.Actor{Name: "am", Role: aegir.RoleAccountManager}, "acme", hosting.ClientInput{Title: ptr("Acme")}); err != nil {
		t.Fatalf("an account manager's change without quotas: %v", err)
	}
	if _, err := b.svc.UpdateClientAs(ctx, admin, "acme", hosting.ClientInput{QuotaSites: ptr(-1)}); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("a negative quota: %v", err)
	}

	create := func(uri, client string) error {
		_, _, err := b.svc.CreateSite(ctx, hosting.SiteInput{URI: uri, Props: map[string]string{"platform": "@platform_a"}, Client: &client}, "test")
		return err
	}
	must(t, create("one.acme.example", "acme"))
	must(t, create("two.acme.example", "acme"))
	err = create("three.acme.example", "acme")
	var e *aegir.Error
	if aegir.ErrorCode(err) != aegir.ECONFLICT || !strings.Contains(err.Error(), "quota_sites: 2 of 2 sites") || !errors.As(err, &e) || e.Field != "client" {
		t.Fatalf("a third site of a client with quota_sites 2: %v", err)
	}
	if _, err := b.store.GetSite(ctx, "three.acme.example"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("the refused site left a record: %v", err)
	}
	must(t, create("one.beta.example", "beta"))
	must(t, create("nobody.example", ""))

	// A deleted site frees its place; measured sizes count toward disk.
	r, err := b.store.GetSite(ctx, "two.acme.example")
	must(t, err)
	r.Status = aegir.SiteDeleted
	must(t, b.store.UpdateSite(ctx, r))
	r, err = b.store.GetSite(ctx, "one.acme.example")
	must(t, err)
	r.DiskFiles, r.DiskDB = 600<<10, 500<<10
	must(t, b.store.UpdateSite(ctx, r))
	err = create("three.acme.example", "acme")
	if aegir.ErrorCode(err) != aegir.ECONFLICT || !strings.Contains(err.Error(), "quota_disk: its sites use 1126400 of 1048576 bytes") {
		t.Fatalf("a site of a client over quota_disk: %v", err)
	}
	u, err := b.svc.Usage(ctx, "acme")
	must(t, err)
	if u.Sites != 1 || u.Disk != 1100<<10 {
		t.Fatalf("acme's usage %+v", u)
	}
	_, err = b.svc.UpdateClientAs(ctx, admin, "acme", hosting.ClientInput{QuotaDisk: ptr(int64(0))})
	must(t, err)
	must(t, create("three.acme.example", "acme"))
}
