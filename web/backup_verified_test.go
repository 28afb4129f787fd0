package web

import (
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

// TestSiteBackupsShowWhenVerified: the backups of a site, in the UI and the
// API, say when a backup-verify last proved each restorable, and "never"
// (no verified_at) for one it has not.
func TestSiteBackupsShowWhenVerified(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	ctx := t.Context()
	const old, fresh = "/var/aegir/backups/a.example-20240101.000000.tar.gz", "/var/aegir/backups/a.example-20240102.000000.tar.gz"
	must(t, w.store.AddBackup(ctx, &aegir.Backup{Site: "a.example", File: old, Size: 2000, CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}))
	must(t, w.store.AddBackup(ctx, &aegir.Backup{Site: "a.example", File: fresh, Size: 3000, CreatedAt: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}))
	verified := time.Date(2025, 1, 2, 4, 5, 6, 0, time.UTC)
	must(t, w.store.SetBackupVerified(ctx, "a.example", fresh, verified))

	_, body, _ := w.login(t, "ann").get("/sites/a.example")
	row := func(file string) string {
		for _, r := range strings.Split(body, `<tr class="backup">`)[1:] {
			if strings.Contains(r, "<code>"+path.Base(file)+"</code>") {
				return r
			}
		}
		t.Fatalf("the site page lists no backup %s:\n%s", file, body)
		return ""
	}
	if want := `<td class="verified">` + verified.Local().Format("2006-01-02 15:04:05") + `</td>`; !strings.Contains(row(fresh), want) {
		t.Errorf("the verified backup's row lacks %s:\n%s", want, row(fresh))
	}
	if want := `<td class="verified">never</td>`; !strings.Contains(row(old), want) {
		t.Errorf("the unverified backup's row lacks %s:\n%s", want, row(old))
	}

	a := w.as(t, "ann", "GET", "/api/sites/a.example/backups", nil).want(t, 200)
	if want := `"verified_at": "2025-01-02T04:05:06Z"`; !strings.Contains(a.raw, want) || strings.Count(a.raw, `"verified_at"`) != 1 {
		t.Errorf("the API's backups lack %s once:\n%s", want, a.raw)
	}
}
