package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWordPressAndMediaWikiSitesInstallServeAndLogIn is the back end's main
// path: setup, two platforms copied from Debian's packages, sites that
// install, serve their own titles through nginx and php-fpm, and log in.
func TestWordPressAndMediaWikiSitesInstallServeAndLogIn(t *testing.T) {
	for _, web := range webServers {
		t.Run(web, func(t *testing.T) { testSitesInstallServeAndLogIn(t, web) })
	}
}

// webServers are the http services the end-to-end tables run on.
var webServers = []string{"nginx", "apache"}

func testSitesInstallServeAndLogIn(t *testing.T, web string) {
	s := newStackOn(t, web)
	s.setup()
	wpRoot := s.platform("wp", "/usr/share/wordpress")
	s.platform("mw", "/usr/share/mediawiki")

	wp1, wp2, mw1 := "wp1."+s.token+".test", "wp2."+s.token+".test", "mw1."+s.token+".test"
	s.mustAegir("save", "@"+wp1, "--context_type=site", "--platform=@platform_wp", "--client_email=owner@example.com")
	r := s.mustTask("install", "@"+wp1)
	if r.Data["db_name"] == "" || r.Data["app"] != "wordpress" {
		t.Fatalf("install data = %v", r.Data)
	}
	link, _ := r.Data["login_link"].(string)
	if !strings.HasPrefix(link, s.url(wp1, "/")) {
		t.Fatalf("login link %q is not on %s", link, s.url(wp1, "/"))
	}
	if code, body := s.get(s.url(wp1, "/")); code != 200 || !strings.Contains(body, wp1) {
		t.Fatalf("GET %s = %d, title missing:\n%.500s", wp1, code, body)
	}

	// The one-time login link sets a session that opens the dashboard.
	resp, err := s.client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login link answered %d, want a redirect", resp.StatusCode)
	}
	if code, body := s.get(s.url(wp1, "/wp-admin/")); code != 200 || !strings.Contains(body, "Dashboard") {
		t.Fatalf("dashboard after login = %d:\n%.500s", code, body)
	}
	if resp, err := s.client.Get(link); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusFound && strings.Contains(resp.Header.Get("Location"), "wp-admin") {
			t.Fatal("the login link worked twice")
		}
	}

	// A second site on the same codebase serves its own title.
	s.mustAegir("save", "@"+wp2, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+wp2)
	for _, site := range []string{wp1, wp2} {
		code, body := s.get(s.url(site, "/"))
		other := map[string]string{wp1: wp2, wp2: wp1}[site]
		if code != 200 || !strings.Contains(body, site) || strings.Contains(body, other) {
			t.Fatalf("GET %s = %d, want its own title only:\n%.300s", site, code, body)
		}
	}

	// MediaWiki on its own platform.
	s.mustAegir("save", "@"+mw1, "--context_type=site", "--platform=@platform_mw")
	r = s.mustTask("install", "@"+mw1)
	if r.Data["app"] != "mediawiki" {
		t.Fatalf("install data = %v", r.Data)
	}
	if code, body := s.get(s.url(mw1, "/index.php?title=Main_Page")); code != 200 || !strings.Contains(body, mw1) {
		t.Fatalf("GET %s = %d, title missing:\n%.500s", mw1, code, body)
	}

	// Verify again changes nothing and the sites still serve.
	before := snapshotFiles(t, s.home, filepath.Join(wpRoot, "sites", wp1))
	s.mustTask("verify", "@"+wp1)
	if after := snapshotFiles(t, s.home, filepath.Join(wpRoot, "sites", wp1)); !mapsEqual(before, after) {
		t.Fatalf("verify changed files:\nbefore %v\nafter  %v", before, after)
	}
	if code, _ := s.get(s.url(wp1, "/")); code != 200 {
		t.Fatalf("after verify GET %s = %d", wp1, code)
	}

	// Setup again (it is idempotent) rewrites nothing and breaks no site.
	config := snapshotFiles(t, filepath.Join(s.home, "config"), filepath.Join(s.home, "contexts"))
	s.setup()
	if after := snapshotFiles(t, filepath.Join(s.home, "config"), filepath.Join(s.home, "contexts")); !mapsEqual(config, after) {
		t.Fatalf("a second setup changed files:\nbefore %v\nafter  %v", config, after)
	}
	if code, _ := s.get(s.url(mw1, "/index.php?title=Main_Page")); code != 200 {
		t.Fatalf("after a second setup GET %s = %d", mw1, code)
	}

	// Platform verify finds the sites on disk.
	r = s.mustTask("verify", "@platform_wp")
	sites, _ := r.Data["sites"].([]any)
	if !slices.Contains(sites, any(wp1)) || !slices.Contains(sites, any(wp2)) {
		t.Fatalf("platform verify found sites %v, want %s and %s", sites, wp1, wp2)
	}

	// Settings hold no password, are 0440 and readable by the web group.
	settings := filepath.Join(wpRoot, "sites", wp1, "wp-config.php")
	st, err := os.Stat(settings)
	if err != nil || st.Mode().Perm() != 0o440 {
		t.Fatalf("settings %s: %v %v, want mode 0440", settings, st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(wpRoot, "sites", wp1, "files")); err != nil || st.Mode()&fs.ModeSetgid == 0 || st.Mode().Perm() != 0o770 {
		t.Fatalf("files dir mode = %v (%v), want 02770", st.Mode(), err)
	}
}

// snapshotFiles hashes every regular file under the roots, leaving out the
// codebase itself (only the sites/ part of a platform counts).
func snapshotFiles(t *testing.T, roots ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(path, "/platforms/") && !strings.Contains(path, "/sites/") {
				return nil
			}
			// nginx's reload token changes with every reload, by design.
			if d.Name() == "generation.conf" {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			sum := sha256.Sum256(data)
			out[path] = hex.EncodeToString(sum[:8])
			return nil
		})
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
