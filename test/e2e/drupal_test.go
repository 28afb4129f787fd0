package e2e

import (
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// drupalPlatform makes a platform of a Drupal fixture: the unpacked
// archive linked into a directory of the stack, with the platform's root
// at sub (web for a composer project), saved and verified.
func (s *stack) drupalPlatform(name, fixture, sub string) string {
	s.t.Helper()
	dir := filepath.Join(s.home, "platforms", name)
	if err := teststack.LinkTree(teststack.Fixture(s.t, fixture), dir); err != nil {
		s.t.Fatal(err)
	}
	root := filepath.Join(dir, sub)
	s.mustAegir("save", "@platform_"+name, "--context_type=platform", "--root="+root)
	s.mustTask("verify", "@platform_"+name)
	return root
}

func TestDrupal10Install(t *testing.T) {
	s := newStack(t)
	s.setup()
	s.drupalPlatform("d10", "drupal-10.6.12.tar.xz", "web")
	uri := "d10." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_d10", "--profile=minimal")
	s.mustTask("install", "@"+uri)
	s.mustServe(s.url(uri, "/user/login"), "Log in")
}
