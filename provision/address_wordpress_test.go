package provision_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/tarball"

	_ "github.com/aegir-hosting/aegir/wordpress"
)

// wpSite is a WordPress site installed on a webStack with a self-signed
// certificate ready for when SSL is turned on.
type wpSite struct {
	*webStack
	uri    string
	db     string // the site's database
	plain  string // http://uri:port
	secure string // https://uri:port
}

// newWPSite installs a WordPress site, SSL off, on a WordPress platform of
// the stack made from Debian's package, and puts in its first post a link
// to the site itself, as an editor would.
func newWPSite(t *testing.T) *wpSite {
	t.Helper()
	teststack.Require(t, "php")
	s := newWebStack(t, aegir.ServiceNginx)
	root := filepath.Join(s.paths.Platforms(), "wp")
	if err := teststack.LinkTree("/usr/share/wordpress", root); err != nil {
		teststack.Missing(t, "no WordPress codebase: %v", err)
	}
	s.save("@platform_wp", aegir.PlatformContext, map[string]string{"root": root})
	s.mustRun(aegir.TaskVerify, "@platform_wp", nil)
	w := &wpSite{webStack: s, uri: s.site("wp")}
	w.plain = fmt.Sprintf("http://%s:%d", w.uri, s.httpPort)
	w.secure = fmt.Sprintf("https://%s:%d", w.uri, s.httpsPort)
	s.save("@"+w.uri, aegir.SiteContext, map[string]string{"platform": "@platform_wp", "ssl_provider": aegir.SSLSelfSigned})
	r := s.mustRun(aegir.TaskInstall, "@"+w.uri, nil)
	w.db = aegir.PartOf[aegir.SiteFacts](r.Data).DBName
	w.exec("UPDATE `%s`.wp_posts SET post_content = ? WHERE ID = 1", `<p>Read <a href="`+w.plain+`/about/">about us</a>.</p>`)
	return w
}

// exec runs a statement on MariaDB as root; %s is the site's database.
func (w *wpSite) exec(query string, args ...any) {
	w.t.Helper()
	if _, err := teststack.RootDB(w.t).Exec(fmt.Sprintf(query, w.db), args...); err != nil {
		w.t.Fatal(err)
	}
}

// addresses returns the site's home and siteurl options and the content
// of its first post, straight from its database.
func (w *wpSite) addresses() (home, siteurl, post string) {
	w.t.Helper()
	db := teststack.RootDB(w.t)
	for name, v := range map[string]*string{"home": &home, "siteurl": &siteurl} {
		if err := db.QueryRow(fmt.Sprintf("SELECT option_value FROM `%s`.wp_options WHERE option_name = ?", w.db), name).Scan(v); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := db.QueryRow(fmt.Sprintf("SELECT post_content FROM `%s`.wp_posts WHERE ID = 1", w.db)).Scan(&post); err != nil {
		w.t.Fatal(err)
	}
	return home, siteurl, post
}

// wantAddress fails the test unless the site's data holds url: home,
// siteurl and the link in the first post.
func (w *wpSite) wantAddress(url string) {
	w.t.Helper()
	home, siteurl, post := w.addresses()
	if home != url || siteurl != url {
		w.t.Errorf("home %q, siteurl %q, want %s", home, siteurl, url)
	}
	if !strings.Contains(post, `href="`+url+`/about/"`) {
		w.t.Errorf("the first post links to %q, want %s/about/", post, url)
	}
}

// logHas reports whether a task's log holds an entry of that level with
// want in it.
func logHas(r *aegir.Result, level, want string) bool {
	if r == nil {
		return false
	}
	for _, e := range r.Log {
		if e.Level == level && strings.Contains(e.Message, want) {
			return true
		}
	}
	return false
}

// TestVerifyMovesAWordPressSiteBetweenHTTPAndHTTPS turns SSL required on
// for an installed WordPress site and verifies it: its home and siteurl
// options and the links of its content become https://, its front page
// fetched over https links to itself only over https, and its admin sends
// to a login page over https. Turning SSL off again brings http:// back.
func TestVerifyMovesAWordPressSiteBetweenHTTPAndHTTPS(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.wantAddress(w.plain)

	w.save("@"+w.uri, aegir.SiteContext, map[string]string{"ssl_enabled": "2"})
	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if !logHas(r, "info", "moving it to "+w.secure) {
		t.Errorf("the verify did not say it moved the address:\n%s", logText(r))
	}
	w.wantAddress(w.secure)
	_, certFile, _ := certificateOf(t, w.webStack, r)
	roots := certPool(t, certFile)
	a := expect(t, w.secure+"/", roots, 200, "about us")
	if strings.Contains(a.body, "http://"+w.uri) {
		t.Errorf("the front page over https links to http://%s", w.uri)
	}
	if !strings.Contains(a.body, `href="`+w.secure+`/`) {
		t.Errorf("the front page over https has no link to %s/", w.secure)
	}
	a, err := fetch(w.secure+"/wp-admin/", roots)
	if err != nil || a.status != 302 || !strings.HasPrefix(a.location, w.secure+"/wp-login.php") {
		t.Errorf("the admin over https sends to %v (%v), want %s/wp-login.php", a, err, w.secure)
	}
	expect(t, w.plain+"/", nil, 301, "")

	// A second verify finds the address in place and moves nothing.
	r = w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if logHas(r, "info", "moving it") {
		t.Errorf("a verify of an unchanged site moved its address:\n%s", logText(r))
	}

	w.save("@"+w.uri, aegir.SiteContext, map[string]string{"ssl_enabled": "0"})
	w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	w.wantAddress(w.plain)
	a = expect(t, w.plain+"/", nil, 200, "about us")
	if strings.Contains(a.body, "https://"+w.uri) {
		t.Errorf("the front page over http links to https://%s", w.uri)
	}
	if !strings.Contains(a.body, `href="`+w.plain+`/`) {
		t.Errorf("the front page over http has no link to %s/", w.plain)
	}
}

// TestFailedVerifyPutsBackTheWordPressAddress injects a failure at the
// step after the address step of a verify that turns SSL on (the address
// moves after the vhost) and of one that turns it off (before the vhost):
// each time the site's data holds its old address again and the site
// serves at it as before.
func TestFailedVerifyPutsBackTheWordPressAddress(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)

	w.save("@"+w.uri, aegir.SiteContext, map[string]string{"ssl_enabled": "2"})
	r, err := w.backend.Run(context.Background(), aegir.TaskVerify, "@"+w.uri, aegir.TaskOptions{FailAt: "release certificates"})
	if err == nil {
		t.Fatal("the verify did not fail at release certificates")
	}
	if !logHas(r, "info", "moving it to "+w.secure) || !logHas(r, "info", "moved the site's data back to "+w.plain) {
		t.Errorf("the log does not tell the address moved and back:\n%s", logText(r))
	}
	w.wantAddress(w.plain)
	expect(t, w.plain+"/", nil, 200, "about us")

	r = w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	w.wantAddress(w.secure)
	_, certFile, _ := certificateOf(t, w.webStack, r)
	roots := certPool(t, certFile)

	w.save("@"+w.uri, aegir.SiteContext, map[string]string{"ssl_enabled": "0"})
	r, err = w.backend.Run(context.Background(), aegir.TaskVerify, "@"+w.uri, aegir.TaskOptions{FailAt: "vhost"})
	if err == nil {
		t.Fatal("the verify did not fail at its vhost")
	}
	if !logHas(r, "info", "moving it to "+w.plain) || !logHas(r, "info", "moved the site's data back to "+w.secure) {
		t.Errorf("the log does not tell the address moved and back:\n%s", logText(r))
	}
	w.wantAddress(w.secure)
	expect(t, w.secure+"/", roots, 200, "about us")
}

// TestEnableMovesTheAddressOfAWordPressSiteChangedWhileDisabled turns SSL
// on for a disabled WordPress site without a verify: the enable that
// serves it again over https moves its address there.
func TestEnableMovesTheAddressOfAWordPressSiteChangedWhileDisabled(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.mustRun(aegir.TaskDisable, "@"+w.uri, nil)
	w.save("@"+w.uri, aegir.SiteContext, map[string]string{"ssl_enabled": "2"})
	w.mustRun(aegir.TaskEnable, "@"+w.uri, nil)
	w.wantAddress(w.secure)
}

// TestVerifyLeavesAWordPressAddressOfAnotherHostAlone shows an address
// that is none of the site's names (a site imported from elsewhere) is
// not rewritten: the verify warns and succeeds.
func TestVerifyLeavesAWordPressAddressOfAnotherHostAlone(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.exec("UPDATE `%s`.wp_options SET option_value = 'http://elsewhere.example.com' WHERE option_name = 'home'")
	r := w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	if r.Status != aegir.StatusWarning || !logHas(r, "warning", "http://elsewhere.example.com") {
		t.Errorf("status %s, want a warning naming the address:\n%s", r.Status, logText(r))
	}
	if home, siteurl, _ := w.addresses(); home != "http://elsewhere.example.com" || siteurl != w.plain {
		t.Errorf("home %q, siteurl %q: the verify changed them", home, siteurl)
	}
}

// TestRestoreOfABackupFromBeforeSSLHoldsTheSitesAddress restores a backup
// taken while a WordPress site was on http after SSL was turned on: the
// restore reads the address the backup's data holds and moves it to the
// site's https URL at once, without waiting for the next verify.
func TestRestoreOfABackupFromBeforeSSLHoldsTheSitesAddress(t *testing.T) {
	t.Parallel()
	w := newWPSite(t)
	w.backend.Archiver = &tarball.Archiver{}
	r := w.mustRun(aegir.TaskBackup, "@"+w.uri, nil)
	file := aegir.PartOf[aegir.BackupMade](r.Data).File
	w.save("@"+w.uri, aegir.SiteContext, map[string]string{"ssl_enabled": "2"})
	w.mustRun(aegir.TaskVerify, "@"+w.uri, nil)
	w.wantAddress(w.secure)

	r = w.mustRun(aegir.TaskRestore, "@"+w.uri, map[string]string{"file": file})
	if !logHas(r, "info", "rewriting "+w.plain+" to "+w.secure) {
		t.Errorf("the restore did not say it moved the backup's address:\n%s", logText(r))
	}
	c, err := w.store.Get(context.Background(), w.uri)
	if err != nil {
		t.Fatal(err)
	}
	w.db = c.Site.DBName // the restore's new database
	w.wantAddress(w.secure)
}
