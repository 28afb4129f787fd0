package aegir_test

import (
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		want int
	}{
		{"6.1.9", "6.1.9", 0},
		{"6.1.9", "6.2", -1},
		{"6.2", "6.1.10", 1},
		{"7.x-1.10", "7.x-1.9", 1},
		{"1.39.3", "1.39", 1},
		{"", "", 0},
		{"1.0-beta1", "1.0-beta2", -1},
	}
	for _, tc := range cases {
		if got := aegir.CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestComparePackagesReportsEachCase(t *testing.T) {
	t.Parallel()
	site := []aegir.Package{
		{Name: "drupal", Type: "core", Version: "7.98", Schema: 0},
		{Name: "views", Type: "module", Version: "7.x-3.20", Schema: 7301},
		{Name: "ctools", Type: "module", Version: "7.x-1.20", Schema: 7002},
		{Name: "panels", Type: "module", Version: "7.x-3.10"},
		{Name: "token", Type: "module", Version: "7.x-1.9", Schema: 7001},
	}
	target := []aegir.Package{
		{Name: "drupal", Type: "core", Version: "7.98"},
		{Name: "views", Type: "module", Version: "7.x-3.24", Schema: 7302},
		{Name: "ctools", Type: "module", Version: "7.x-1.19", Schema: 7002},
		{Name: "token", Type: "module", Version: "7.x-1.9", Schema: 7000},
	}
	want := map[string]string{"drupal": "ok", "views": "upgrade", "ctools": "downgrade", "panels": "missing", "token": "error"}
	reports := aegir.ComparePackages(site, target)
	for _, r := range reports {
		if r.Status != want[r.Name] {
			t.Errorf("%s: %s, want %s", r.Name, r.Status, want[r.Name])
		}
	}
	if down := aegir.PackageDowngrades(reports); len(down) != 1 || down[0].Name != "ctools" {
		t.Fatalf("downgrades %+v", down)
	}
	if errs := aegir.PackageErrors(reports); len(errs) != 1 || errs[0].Name != "token" {
		t.Fatalf("errors = %+v", errs)
	}
}
