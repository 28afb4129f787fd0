package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// drupal10Fixture is the composer-built Drupal 10 site of shared/fixtures.
const drupal10Fixture = "drupal-10.6.12.tar.xz"

// drupalPlatform links the Drupal 10 fixture into a new platform of the
// stack (its root is the docroot, web/) and verifies it.
func (s *wpStack) drupalPlatform(name string) string {
	s.t.Helper()
	dir := filepath.Join(s.home, "platforms", name)
	must(s.t, teststack.LinkTree(teststack.Fixture(s.t, drupal10Fixture), dir))
	root := filepath.Join(dir, "web")
	s.aegir("save", "@platform_"+name, "--context_type=platform", "--root="+root)
	s.task("verify", "@platform_"+name)
	return root
}

// TestDrupal10 is benchmark 7: a Drupal 10 site installed through aegir
// against the platform's own drush site:install of the same profile (the
// floor: what installing Drupal takes, without aegir's database, settings,
// vhost, reload and login link), and its migrate to another platform against
// the floor of a move (create a database, dump and import, copy the site's
// files). The install pair runs Runs times, alternating, and keeps medians.
func TestDrupal10(t *testing.T) {
	need(t)
	s := newWPStack(t)
	root := s.drupalPlatform("d10")
	s.drupalPlatform("d10new")
	drush := filepath.Join(filepath.Dir(root), "vendor", "bin", "drush")
	runs := max(size.Runs, 2)

	var ours, floor []float64
	var last string
	for i := range runs {
		uri := fmt.Sprintf("f%d.%s.test", i, s.token)
		db := fmt.Sprintf("%sfl%d", s.token, i)
		floor = append(floor, timed(func() {
			run(t, nil, drush, "--root="+root, "--uri=http://"+uri, "--yes", "site:install", "minimal",
				"--sites-subdir="+uri, "--site-name="+uri, "--db-url=mysql://root:@127.0.0.1:3306/"+db,
				// What aegir's install sets too: no Update module.
				"install_configure_form.enable_update_status_module=NULL", "install_configure_form.enable_update_status_emails=NULL")
		}).Seconds())
		_, err := s.db.Exec("DROP DATABASE `" + db + "`")
		must(t, err)
		must(t, os.RemoveAll(filepath.Join(root, "sites", uri)))

		last = fmt.Sprintf("d%d.%s.test", i, s.token)
		s.aegir("save", "@"+last, "--context_type=site", "--platform=@platform_d10", "--profile=minimal")
		ours = append(ours, timed(func() { s.task("install", "@"+last) }).Seconds())
	}
	ratio := median(ours) / median(floor)
	report(figure{Bench: "7 drupal", Name: "Drupal 10 install (minimal) / drush site:install",
		Value: fmt.Sprintf("%.2f×", ratio), Target: "≤ 1.2×", Result: atMost(ratio, 1.2),
		Note: fmt.Sprintf("medians of %d runs: aegir %s (database and grants, settings, install, vhost and reload, login link), drush %s", runs, secs(median(ours)), secs(median(floor)))})

	// The migrate of the last site, against its floor.
	scratch := t.TempDir()
	c := s.context(last)
	floorMove := timed(func() {
		run(t, nil, mustAbs(t, "scripts/migrate-floor.sh"), c.Site.DBName, s.token+"flm", s.siteDir(last), filepath.Join(scratch, last))
	})
	_, err := s.db.Exec("DROP DATABASE `" + s.token + "flm`")
	must(t, err)
	took := timed(func() { s.task("migrate", "@"+last, "@platform_d10new") })
	ratio = took.Seconds() / floorMove.Seconds()
	report(figure{Bench: "7 drupal", Name: "Drupal 10 migrate to another platform / dump + import + copy",
		Value: fmt.Sprintf("%.2f×", ratio), Target: "", Result: info,
		Note: fmt.Sprintf("aegir %s (package check through drush on both platforms, backup, tables moved, settings, cache rebuild, vhost and reload), floor %s", secs(took.Seconds()), secs(floorMove.Seconds()))})
}
