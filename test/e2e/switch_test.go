package e2e

import (
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestServerSwitchesBetweenNginxAndApache moves a server's http service
// from nginx to apache and back: verifying the server writes every
// platform file and vhost for the new web server, and every site serves
// its content after each switch.
func TestServerSwitchesBetweenNginxAndApache(t *testing.T) {
	s := newStack(t)
	s.setup()
	wpRoot := s.platform("wp", "/usr/share/wordpress")
	s.platform("mw", "/usr/share/mediawiki")
	sites := map[string]string{"wp." + s.token + ".test": "@platform_wp", "wiki." + s.token + ".test": "@platform_mw"}
	for uri, platform := range sites {
		s.mustAegir("save", "@"+uri, "--context_type=site", "--platform="+platform)
		s.mustTask("install", "@"+uri)
	}
	wp := "wp." + s.token + ".test"
	marker := "switch-" + s.token
	post := s.wpPost(wpRoot, wp, marker)
	serving := func(s *stack) {
		t.Helper()
		s.mustServe(s.url(wp, "/?p="+post), marker)
		s.mustServe(s.url("wiki."+s.token+".test", "/index.php?title=Main_Page"), "wiki."+s.token+".test")
	}
	serving(s)

	// To apache: nginx stops, apache takes the port once aegir verifies.
	s.nginx.Stop()
	s.nginx, s.apache = nil, teststack.StartApache(t)
	s.mustAegir(append([]string{"save", "@server_master"}, s.webServerArgs()...)...)
	s.mustTask("verify", "@server_master")
	serving(s)

	// And back to nginx.
	s.apache.Stop()
	s.apache, s.nginx = nil, teststack.StartNginx(t)
	s.mustAegir(append([]string{"save", "@server_master"}, s.webServerArgs()...)...)
	s.mustTask("verify", "@server_master")
	serving(s)
}
