package drupal_test

import (
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/apptest"
	"github.com/aegir-hosting/aegir/drupal"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// TestConformance runs the app conformance suite on the Drupal 7.105 and
// Drupal 10.6.12 fixtures (the latter's root is its docroot, web/).
func TestConformance(t *testing.T) {
	teststack.Require(t, "php", "mariadb")
	for _, v := range []struct{ name, fixture, sub, profile string }{
		{"drupal7", "drupal-7.105.tar.xz", ".", "minimal"},
		{"drupal10", "drupal-10.6.12.tar.xz", "web", "minimal"},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(teststack.WebDir(t), "platform")
			if err := teststack.LinkTree(teststack.Fixture(t, v.fixture), dir); err != nil {
				t.Fatal(err)
			}
			app := drupal.New(aegir.Env{Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)})
			apptest.Exercise(t, apptest.Case{App: app, Root: filepath.Join(dir, v.sub), Installs: true, Profile: v.profile})
		})
	}
}
