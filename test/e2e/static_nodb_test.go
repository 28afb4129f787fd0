package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStaticSiteOnAServerWithoutADatabaseService: a static site whose db
// server has no database service (db_service_type null) installs without
// a database, is served by nginx, backs up without a dump, verifies and
// is deleted; a WordPress site there is still refused, saying why.
func TestStaticSiteOnAServerWithoutADatabaseService(t *testing.T) {
	s := newStack(t)
	s.setup()
	s.mustAegir("save", "@server_nodb", "--context_type=server", "--http_service_type=null", "--db_service_type=null")
	root := filepath.Join(s.home, "platforms", "static")
	s.write(filepath.Join(root, "index.html"), "<h1>static "+s.token+"</h1>\n")
	s.mustAegir("save", "@platform_static", "--context_type=platform", "--root="+root)
	s.mustTask("verify", "@platform_static")

	uri := "static." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_static", "--db_server=@server_nodb")
	r := s.mustTask("install", "@"+uri)
	if !strings.Contains(strings.ToLower(fmt.Sprint(r.Log)), "gets no database") {
		t.Errorf("the install does not say the site gets no database: %+v", r.Log)
	}
	if name := str(s.siteContext(uri)["db_name"]); name != "" {
		t.Fatalf("the site has a database %q", name)
	}
	s.mustServe(s.url(uri, "/"), "static "+s.token)
	backup := str(s.mustTask("backup", "@"+uri).Data["backup_file"])
	if _, err := os.Stat(backup); err != nil {
		t.Fatalf("no backup: %v", err)
	}
	s.mustTask("verify", "@"+uri)
	s.mustTask("disable", "@"+uri)
	s.mustTask("delete", "@"+uri)
	if code, _ := s.get(s.url(uri, "/")); code != 404 {
		t.Fatalf("the deleted site answers %d", code)
	}

	// An app that needs a database is refused there, with the reason.
	s.platform("wp", "/usr/share/wordpress")
	wpURI := "wpnodb." + s.token + ".test"
	s.mustAegir("save", "@"+wpURI, "--context_type=site", "--platform=@platform_wp", "--db_server=@server_nodb")
	if r, err := s.task("install", "@"+wpURI); err == nil || !strings.Contains(fmt.Sprint(r.Log), "no database service") {
		t.Fatalf("a WordPress site on a server without a database service: %v %+v", err, r.Log)
	}
}
