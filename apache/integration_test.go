//go:build linux

package apache

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/httpservicetest"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// stack is a private Apache and the aegir service that drives it.
type stack struct {
	apache *privateApache
	svc    *Apache
	port   int
	home   string
}

// newStack starts a private Apache and returns the Apache service of a
// server whose conf link, commands and port point at it. PHP requests go
// to socket.
func newStack(t *testing.T, socket string, without ...string) *stack {
	t.Helper()
	ap := startPrivateApache(t, without...)
	s := &stack{apache: ap, port: teststack.FreePort(t), home: filepath.Join(ap.Dir, "aegir")}
	server := &aegir.Server{
		HTTPServiceType: aegir.ServiceApache,
		HTTPPort:        s.port,
		HTTPConfLink:    filepath.Join(ap.ConfD, "aegir.conf"),
		HTTPTestCmd:     ap.TestCmd(),
		HTTPRestartCmd:  ap.RestartCmd(),
		PHPFPMSocket:    socket,
	}
	server.Defaults()
	log := aegir.NewTaskLog(nil)
	// Every graceful restart is confirmed live: none times out.
	t.Cleanup(func() {
		for _, e := range log.Entries() {
			if e.Level == aegir.LevelWarning {
				t.Errorf("the driver warned: %s", e.Message)
			}
		}
	})
	env := aegir.Env{Paths: aegir.Paths{Home: s.home}, Runner: &local.Runner{}, Log: log}
	svc, err := New(server, aegir.MasterServer, env)
	if err != nil {
		t.Fatal(err)
	}
	s.svc = svc.(*Apache)
	return s
}

// writeFiles writes files (path relative to root: content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// staticRoot returns a platform root whose index.html says text.
func staticRoot(t *testing.T, text string) string {
	t.Helper()
	root := teststack.WebDir(t)
	writeFiles(t, root, map[string]string{"index.html": text + "\n"})
	return root
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestApacheServesSitesAndKeepsBrokenVhostsOut verifies the server (ACME
// challenges served, a second verify changing no file) and covers what is
// Apache's own: platform files, and sites live when WriteSite returns. The
// rest of serving sites is the conformance suite's (TestConformance).
func TestApacheServesSitesAndKeepsBrokenVhostsOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")

	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(s.svc.server.HTTPConfLink); err != nil || target != s.svc.ServerFile() {
		t.Fatalf("conf link points to %q (%v), want %s", target, err, s.svc.ServerFile())
	}
	// Apache listens on the server's port because the server file says so.
	expectNow(t, s.port, "unknown.test", "/", 404, "")
	expect(t, s.port, "unknown.test", "/index.html", 404, "")
	expect(t, s.port, "unknown.test", "/.aegir/generation/0123abcd", 404, "")
	// The default virtual host serves ACME challenges, and nothing else of
	// the challenge directory.
	writeFiles(t, s.svc.ChallengeDir(), map[string]string{"tok-1": "tok-1.thumb"})
	expect(t, s.port, "unknown.test", "/.well-known/acme-challenge/tok-1", 200, "tok-1.thumb")
	expect(t, s.port, "unknown.test", "/.well-known/acme-challenge/", 404, "")

	// A second verify changes no file.
	serverFile := readFile(t, s.svc.ServerFile())
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(serverFile, readFile(t, s.svc.ServerFile())) {
		t.Error("a second verify changed the server file")
	}
	if fi, err := os.Stat(s.home + "/config"); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("config dir: %v, %v; want mode 0711", fi.Mode().Perm(), err)
	}

	rootA, rootB, rootC := staticRoot(t, "this is site A"), staticRoot(t, "this is site B"), staticRoot(t, "this is site C")
	for name, root := range map[string]string{"platform_a": rootA, "platform_b": rootB} {
		if _, err := s.svc.WritePlatform(ctx, name, root, "static"); err != nil {
			t.Fatal(err)
		}
	}
	siteA := &aegir.Vhost{URI: "a.test", Aliases: []string{"www.a.test"}, Root: rootA, App: "static",
		Params: (*aegir.DBCredentials)(nil).Params()}
	siteB := &aegir.Vhost{URI: "b.test", Root: rootB, App: "static"}
	for _, v := range []*aegir.Vhost{siteA, siteB} {
		if _, err := s.svc.WriteSite(ctx, v); err != nil {
			t.Fatal(err)
		}
		// The driver returns once the graceful restart is live.
		expectNow(t, s.port, v.URI, "/", 200, "this is site")
	}

	t.Run("a vhost whose platform file is missing fails the test and is removed", func(t *testing.T) {
		_, err := s.svc.WriteSite(ctx, &aegir.Vhost{URI: "c.test", Root: rootC, App: "static"})
		if err == nil || !strings.Contains(err.Error(), "no platform file configures "+rootC) || !strings.Contains(err.Error(), "c.test.conf") {
			t.Fatalf("got %v, want Apache's message about the missing platform file", err)
		}
		if aegir.ErrorCode(err) != aegir.EINVALID {
			t.Errorf("error code %s, want %s", aegir.ErrorCode(err), aegir.EINVALID)
		}
		if _, err := os.Stat(s.svc.VhostFile("c.test")); !os.IsNotExist(err) {
			t.Errorf("the broken vhost was left behind: %v", err)
		}
		entries, _ := os.ReadDir(filepath.Dir(s.svc.VhostFile("c.test")))
		if len(entries) != 2 {
			t.Errorf("vhost.d holds %d files, want 2 (no temp files)", len(entries))
		}
		expect(t, s.port, "a.test", "/", 200, "this is site A")
		expect(t, s.port, "b.test", "/", 200, "this is site B")
		expect(t, s.port, "c.test", "/", 404, "")
	})

	t.Run("undo of a platform rewrite puts the previous file back", func(t *testing.T) {
		before := readFile(t, s.svc.PlatformFile("platform_b"))
		writeFiles(t, rootB, map[string]string{"x.php": "<?php echo 'php ran';"})
		expect(t, s.port, "b.test", "/x.php", 403, "")
		undo, err := s.svc.WritePlatform(ctx, "platform_b", rootB, "php")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(before, readFile(t, s.svc.PlatformFile("platform_b"))) {
			t.Fatal("the platform file did not change")
		}
		if err := undo(ctx); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, readFile(t, s.svc.PlatformFile("platform_b"))) {
			t.Error("undo did not put the previous platform file back")
		}
		expectNow(t, s.port, "b.test", "/x.php", 403, "")
	})

}

// TestConformance runs the HTTPService conformance suite on a private
// Apache.
func TestConformance(t *testing.T) {
	t.Parallel()
	httpservicetest.Exercise(t, func(t *testing.T) *httpservicetest.Stack {
		s := newStack(t, "/run/php/php8.2-fpm.sock")
		if err := s.svc.VerifyServer(context.Background()); err != nil {
			t.Fatal(err)
		}
		return &httpservicetest.Stack{Service: s.svc, Port: s.port, VhostFile: s.svc.VhostFile, PlatformFile: s.svc.PlatformFile,
			Break: func(v *aegir.Vhost) { v.Root = teststack.WebDir(t) }, // no platform file configures it
			Apps:  apps()}
	})
}

func TestVerifyServerPutsBackThePreviousConfigWhenTheTestFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	// Another file of the system Apache that listens on the server's port.
	clash := filepath.Join(s.apache.ConfD, "zz-clash.conf")
	listen := func(port int) {
		t.Helper()
		if err := os.WriteFile(clash, []byte("Listen "+strconv.Itoa(port)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	listen(s.port)
	err := s.svc.VerifyServer(ctx)
	if err == nil || !strings.Contains(err.Error(), "Cannot define multiple Listeners") {
		t.Fatalf("got %v, want Apache's message about the second Listen", err)
	}
	if _, err := os.Lstat(s.svc.server.HTTPConfLink); !os.IsNotExist(err) {
		t.Errorf("the conf link was left behind: %v", err)
	}
	if _, err := os.Stat(s.svc.ServerFile()); !os.IsNotExist(err) {
		t.Errorf("the server file was left behind: %v", err)
	}

	if err := os.Remove(clash); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	expectNow(t, s.port, "unknown.test", "/", 404, "")
	before := readFile(t, s.svc.ServerFile())
	otherPort := teststack.FreePort(t)
	listen(otherPort)
	s.svc.server.HTTPPort = otherPort
	if err := s.svc.VerifyServer(ctx); err == nil {
		t.Fatal("verify passed with a clashing Listen")
	}
	if !bytes.Equal(before, readFile(t, s.svc.ServerFile())) {
		t.Error("the previous server file was not put back")
	}
	if target, err := os.Readlink(s.svc.server.HTTPConfLink); err != nil || target != s.svc.ServerFile() {
		t.Errorf("conf link points to %q (%v), want %s", target, err, s.svc.ServerFile())
	}
	expect(t, s.port, "unknown.test", "/", 404, "")
}

func TestVerifyServerNamesAMissingModule(t *testing.T) {
	t.Parallel()
	s := newStack(t, "/run/php/php8.2-fpm.sock", "proxy_fcgi")
	err := s.svc.VerifyServer(context.Background())
	if err == nil || !strings.Contains(err.Error(), "a2enmod proxy_fcgi") {
		t.Fatalf("got %v, want the remedy for the missing mod_proxy_fcgi", err)
	}
	if _, err := os.Lstat(s.svc.server.HTTPConfLink); !os.IsNotExist(err) {
		t.Errorf("the conf link was left behind: %v", err)
	}
}

func TestVerifyServerReplacesALinkButNotAFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	link := s.svc.server.HTTPConfLink

	old := filepath.Join(s.apache.Dir, "old.conf")
	if err := os.WriteFile(old, []byte("# old aegir\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(old, link); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(link); target != s.svc.ServerFile() {
		t.Errorf("conf link points to %q, want %s", target, s.svc.ServerFile())
	}

	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(link, []byte("# the admin's own\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := s.svc.VerifyServer(ctx)
	if e, ok := err.(*aegir.Error); !ok || e.Field != "http_conf_link" || !strings.Contains(err.Error(), "not a symbolic link") {
		t.Fatalf("got %v, want an http_conf_link error about the regular file", err)
	}
	if got := string(readFile(t, link)); got != "# the admin's own\n" {
		t.Errorf("the regular file was changed to %q", got)
	}

	s.svc.server.HTTPConfLink = filepath.Join(s.apache.Dir, "missing", "aegir.conf")
	err = s.svc.VerifyServer(ctx)
	if e, ok := err.(*aegir.Error); !ok || e.Field != "http_conf_link" || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v, want an http_conf_link error about the missing directory", err)
	}
}

// phpFiles is a codebase that reports what PHP gets, with the files each
// app's rules must keep out.
var phpFiles = map[string]string{
	"index.php":                        `<?php echo "db_name=", $_SERVER['db_name'], " db_passwd=", $_SERVER['db_passwd'], " site=", $_SERVER['AEGIR_SITE'], " script=", $_SERVER['SCRIPT_NAME'], " uri=", $_SERVER['REQUEST_URI'], " auth=", $_SERVER['HTTP_AUTHORIZATION'] ?? "none";`,
	"info.php":                         `<?php echo "script=", $_SERVER['SCRIPT_NAME'], " path_info=", $_SERVER['PATH_INFO'] ?? "", " https=", $_SERVER['HTTPS'] ?? "off";`,
	"sites/p.test/files/evil.php":      `<?php echo "evil ran";`,
	"sites/p.test/files/evil.phtml":    `<?php echo "evil ran";`,
	"sites/p.test/files/image.txt":     "an upload",
	"sites/p.test/private/secret.txt":  "secret",
	"dump.sql":                         "secret",
	"source.phps":                      "secret",
	".env":                             "secret",
	".git/config":                      "secret",
	".well-known/acme-challenge/token": "token",
	"upload.jpg":                       `<?php echo "upload ran";`,
	"modules/m/m.module":               `<?php // source`,
	"themes/t/page.tpl.php":            `<?php echo "template ran";`,
	"vendor/autoload.php":              `<?php echo "vendor ran";`,
	"composer.json":                    "{}",
	"wp-content/uploads/evil.php":      `<?php echo "evil ran";`,
	"includes/Setup.php":               `<?php echo "code ran";`,
	"images/evil.php":                  `<?php echo "evil ran";`,
}

func TestPHPSiteGetsItsCloakedParams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, teststack.StartPHPFPM(t).Socket)
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	// One codebase per app, since the rules belong to the codebase.
	roots := map[string]string{}
	for _, app := range []string{"php", "drupal", "wordpress", "mediawiki"} {
		roots[app] = teststack.WebDir(t)
		writeFiles(t, roots[app], phpFiles)
		if _, err := s.svc.WritePlatform(ctx, "platform_"+app, roots[app], app); err != nil {
			t.Fatal(err)
		}
	}
	creds := &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "ptestdb", User: "ptest", Password: "Sx9m!Q2w(E7)r=Ty"}
	v := &aegir.Vhost{URI: "p.test", Root: roots["php"], App: "php",
		Params: append(creds.Params(), aegir.Param{Name: "AEGIR_SITE", Value: "p.test"})}
	if _, err := s.svc.WriteSite(ctx, v); err != nil {
		t.Fatal(err)
	}
	params := "db_name=ptestdb db_passwd=Sx9m!Q2w(E7)r=Ty site=p.test script=/index.php"
	expect(t, s.port, "p.test", "/", 200, params+" uri=/ auth=none")
	// The front controller gets clean URLs, with the params too, and the
	// Authorization header.
	expect(t, s.port, "p.test", "/some/page?x=1", 200, params+" uri=/some/page?x=1")
	expect(t, s.port, "p.test", "/api", 200, "uri=/api auth=Bearer xyz", "Authorization: Bearer xyz")
	expect(t, s.port, "p.test", "/info.php/extra", 200, "script=/info.php path_info=/extra https=off")
	// A missing script is the front controller's, as with the app's own
	// .htaccess; the script never reaches php-fpm.
	expect(t, s.port, "p.test", "/missing.php", 200, params+" uri=/missing.php")
	expect(t, s.port, "p.test", "/sites/p.test/files/evil.php", 403, "")
	expect(t, s.port, "p.test", "/sites/p.test/files/evil.php/x", 403, "")
	expect(t, s.port, "p.test", "/sites/p.test/files/evil.phtml", 403, "")
	expect(t, s.port, "p.test", "/sites/p.test/files/image.txt", 200, "an upload")
	expect(t, s.port, "p.test", "/sites/p.test/private/secret.txt", 403, "")
	expect(t, s.port, "p.test", "/dump.sql", 403, "")
	expect(t, s.port, "p.test", "/source.phps", 403, "")
	expect(t, s.port, "p.test", "/.env", 403, "")
	expect(t, s.port, "p.test", "/.git/config", 403, "")
	expect(t, s.port, "p.test", "/.well-known/acme-challenge/token", 200, "token")
	expect(t, s.port, "p.test", "/upload.jpg/x.php", 404, "")

	for _, app := range []string{"drupal", "wordpress", "mediawiki"} {
		w := *v
		w.URI, w.App, w.Root = app+".test", app, roots[app]
		if _, err := s.svc.WriteSite(ctx, &w); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, s.port, "drupal.test", "/node/1?page=2", 200, params+" uri=/node/1?page=2")
	expect(t, s.port, "drupal.test", "/info.php/selection", 200, "script=/info.php path_info=/selection")
	// An image style that does not exist yet is generated by Drupal.
	expect(t, s.port, "drupal.test", "/sites/p.test/files/styles/thumb/public/x.jpg?itok=1", 200, "uri=/sites/p.test/files/styles/thumb/public/x.jpg?itok=1")
	expect(t, s.port, "drupal.test", "/modules/m/m.module", 403, "")
	expect(t, s.port, "drupal.test", "/themes/t/page.tpl.php", 403, "")
	expect(t, s.port, "drupal.test", "/vendor/autoload.php", 403, "")
	expect(t, s.port, "drupal.test", "/composer.json", 403, "")
	expect(t, s.port, "drupal.test", "/sites/p.test/files/evil.php", 403, "")
	expect(t, s.port, "drupal.test", "/sites/p.test/private/secret.txt", 403, "")
	expect(t, s.port, "wordpress.test", "/2024/01/hello/", 200, "uri=/2024/01/hello/")
	expect(t, s.port, "wordpress.test", "/wp-content/uploads/evil.php", 403, "")
	expect(t, s.port, "mediawiki.test", "/Main_Page", 200, "uri=/Main_Page")
	expect(t, s.port, "mediawiki.test", "/includes/Setup.php", 403, "")
	expect(t, s.port, "mediawiki.test", "/images/evil.php", 403, "")
}
