package aegir

import (
	"strconv"
	"strings"
)

// Package comparison statuses, as migrate reports them.
const (
	PackageOK        = "ok"
	PackageUpgrade   = "upgrade"
	PackageDowngrade = "downgrade"
	PackageMissing   = "missing"
	PackageError     = "error"
)

// PackageReport says what moving one of a site's packages to a target
// platform would do.
type PackageReport struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Status        string `json:"status"`
	Version       string `json:"version,omitempty"`
	TargetVersion string `json:"target_version,omitempty"`
	Schema        int    `json:"schema_version,omitempty"`
	TargetSchema  int    `json:"target_schema_version,omitempty"`
}

// ComparePackages reports, for each package the site uses, whether the
// target platform has it and whether that is an upgrade, a downgrade, or an
// error: a target schema older than the site's database, which no update
// can bring back.
func ComparePackages(site, target []Package) []PackageReport {
	byName := make(map[string]Package, len(target))
	for _, p := range target {
		byName[p.Type+"/"+p.Name] = p
	}
	reports := make([]PackageReport, 0, len(site))
	for _, p := range site {
		r := PackageReport{Name: p.Name, Type: p.Type, Version: p.Version, Schema: p.Schema}
		t, ok := byName[p.Type+"/"+p.Name]
		switch {
		case !ok:
			r.Status = PackageMissing
		case t.Schema < p.Schema:
			r.Status = PackageError
		default:
			switch c := CompareVersions(t.Version, p.Version); {
			case c > 0:
				r.Status = PackageUpgrade
			case c < 0:
				r.Status = PackageDowngrade
			default:
				r.Status = PackageOK
			}
		}
		if ok {
			r.TargetVersion, r.TargetSchema = t.Version, t.Schema
		}
		reports = append(reports, r)
	}
	return reports
}

// PackageErrors returns the reports whose status blocks a migrate.
func PackageErrors(reports []PackageReport) []PackageReport {
	var errs []PackageReport
	for _, r := range reports {
		if r.Status == PackageError {
			errs = append(errs, r)
		}
	}
	return errs
}

// PackageDowngrades returns the reports of packages the target has in an
// older version, which a migrate refuses unless forced.
func PackageDowngrades(reports []PackageReport) []PackageReport {
	var down []PackageReport
	for _, r := range reports {
		if r.Status == PackageDowngrade {
			down = append(down, r)
		}
	}
	return down
}

// CompareVersions orders two version strings by their numeric parts
// ("6.1.9" < "6.2", Drupal's "7.x-1.10" > "7.x-1.9"), returning -1, 0 or 1.
// Non-numeric parts compare as strings; a missing part counts as zero.
func CompareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		nx, errx := strconv.Atoi(x)
		ny, erry := strconv.Atoi(y)
		switch {
		case errx == nil && erry == nil && nx != ny:
			if nx < ny {
				return -1
			}
			return 1
		case (errx != nil || erry != nil) && x != y:
			return strings.Compare(x, y)
		}
	}
	return 0
}

func versionParts(v string) []string {
	// Drupal contrib versions carry the core series first: "7.x-1.2".
	if i := strings.Index(v, ".x-"); i >= 0 {
		v = v[i+3:]
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '-' || r == '+' })
}
