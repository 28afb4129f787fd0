//go:build linux

package nginx

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/httpservicetest"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// stack is a private nginx and the aegir service that drives it.
type stack struct {
	nginx *teststack.Nginx
	svc   *Nginx
	port  int
	home  string
}

// newStack starts a private nginx and returns the nginx service of a
// server whose conf link, commands and port point at it. PHP requests go
// to socket.
func newStack(t *testing.T, socket string) *stack {
	t.Helper()
	ng := teststack.StartNginx(t)
	s := &stack{nginx: ng, port: teststack.FreePort(t), home: filepath.Join(ng.Dir, "aegir")}
	server := &aegir.Server{
		HTTPPort:       s.port,
		HTTPConfLink:   filepath.Join(ng.ConfD, "aegir.conf"),
		HTTPTestCmd:    ng.TestCmd(),
		HTTPRestartCmd: ng.ReloadCmd(),
		PHPFPMSocket:   socket,
	}
	server.Defaults()
	env := aegir.Env{Paths: aegir.Paths{Home: s.home}, Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)}
	svc, err := New(server, aegir.MasterServer, env)
	if err != nil {
		t.Fatal(err)
	}
	s.svc = svc.(*Nginx)
	return s
}

// The HTTP helpers are the conformance suite's.
var (
	get        = httpservicetest.Get
	expect     = httpservicetest.Expect
	staticRoot = httpservicetest.StaticRoot
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestNginxVerifiesItsServerAndSaysWhatItRejects verifies the server twice
// (the second changes no file) and writes a vhost nginx rejects; serving
// sites is the conformance suite's (TestConformance).
func TestNginxVerifiesItsServerAndSaysWhatItRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")

	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(s.svc.server.HTTPConfLink); err != nil || target != s.svc.ServerFile() {
		t.Fatalf("conf link points to %q (%v), want %s", target, err, s.svc.ServerFile())
	}
	expect(t, s.port, "unknown.test", "/", 404, "")

	// A second verify changes no file.
	serverFile := readFile(t, s.svc.ServerFile())
	common := readFile(t, filepath.Join(s.home, "config/includes/nginx_common.conf"))
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(serverFile, readFile(t, s.svc.ServerFile())) || !bytes.Equal(common, readFile(t, filepath.Join(s.home, "config/includes/nginx_common.conf"))) {
		t.Error("a second verify changed the server file or an include")
	}
	if fi, err := os.Stat(s.home + "/config"); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("config dir: %v, %v; want mode 0711", fi.Mode().Perm(), err)
	}

	// What nginx says of a vhost it rejects reaches the caller.
	_, err := s.svc.WriteSite(ctx, &aegir.Vhost{URI: "c.test", Root: staticRoot(t, "c"), App: "nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "nginx_nonexistent.conf") || !strings.Contains(err.Error(), "No such file") {
		t.Fatalf("got %v, want nginx's message about the missing include", err)
	}
}

// TestConformance runs the HTTPService conformance suite on a private
// nginx.
func TestConformance(t *testing.T) {
	t.Parallel()
	httpservicetest.Exercise(t, func(t *testing.T) *httpservicetest.Stack {
		s := newStack(t, "/run/php/php8.2-fpm.sock")
		if err := s.svc.VerifyServer(context.Background()); err != nil {
			t.Fatal(err)
		}
		return &httpservicetest.Stack{Service: s.svc, Port: s.port, VhostFile: s.svc.VhostFile,
			Break: func(v *aegir.Vhost) { v.App = "nonexistent" }, // its include does not exist
			Apps:  []string{"drupal", "wordpress", "mediawiki", "php", "static"}}
	})
}

func TestVerifyServerPutsBackThePreviousConfigWhenTheTestFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	// Another file of the system nginx that sets what the server file sets.
	clash := filepath.Join(s.nginx.ConfD, "zz-clash.conf")
	if err := os.WriteFile(clash, []byte("server_names_hash_bucket_size 64;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := s.svc.VerifyServer(ctx)
	if err == nil || !strings.Contains(err.Error(), "server_names_hash_bucket_size") {
		t.Fatalf("got %v, want nginx's message about the duplicate directive", err)
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
	expect(t, s.port, "unknown.test", "/", 404, "")
	before := readFile(t, s.svc.ServerFile())
	if err := os.WriteFile(clash, []byte("server_names_hash_bucket_size 64;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.svc.server.PHPFPMSocket = "/run/elsewhere.sock"
	if err := s.svc.VerifyServer(ctx); err == nil {
		t.Fatal("verify passed with a clashing directive")
	}
	if !bytes.Equal(before, readFile(t, s.svc.ServerFile())) {
		t.Error("the previous server file was not put back")
	}
	if target, err := os.Readlink(s.svc.server.HTTPConfLink); err != nil || target != s.svc.ServerFile() {
		t.Errorf("conf link points to %q (%v), want %s", target, err, s.svc.ServerFile())
	}
}

func TestVerifyServerReplacesALinkButNotAFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	link := s.svc.server.HTTPConfLink

	old := filepath.Join(s.nginx.Dir, "old.conf")
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

	s.svc.server.HTTPConfLink = filepath.Join(s.nginx.Dir, "missing", "aegir.conf")
	err = s.svc.VerifyServer(ctx)
	if e, ok := err.(*aegir.Error); !ok || e.Field != "http_conf_link" || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v, want an http_conf_link error about the missing directory", err)
	}
}

func TestPHPSiteGetsItsCloakedParams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	socket := teststack.StartPHPFPM(t).Socket
	s := newStack(t, socket)
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	root := teststack.WebDir(t)
	files := map[string]string{
		"index.php":                        `<?php echo "db_name=", $_SERVER['db_name'], " db_passwd=", $_SERVER['db_passwd'], " site=", $_SERVER['AEGIR_SITE'], " script=", $_SERVER['SCRIPT_NAME'], " uri=", $_SERVER['REQUEST_URI'];`,
		"info.php":                         `<?php echo "script=", $_SERVER['SCRIPT_NAME'], " path_info=", $_SERVER['PATH_INFO'] ?? "", " https=", $_SERVER['HTTPS'] ?? "off";`,
		"sites/p.test/files/evil.php":      `<?php echo "evil ran";`,
		"sites/p.test/private/secret.txt":  "secret",
		"dump.sql":                         "secret",
		".git/config":                      "secret",
		".well-known/acme-challenge/token": "token",
		"upload.jpg":                       `<?php echo "upload ran";`,
		"modules/m/m.module":               `<?php // source`,
		"themes/t/page.tpl.php":            `<?php echo "template ran";`,
		"vendor/autoload.php":              `<?php echo "vendor ran";`,
		"wp-content/uploads/evil.php":      `<?php echo "evil ran";`,
	}
	teststack.WriteFiles(t, root, files)
	creds := &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "ptestdb", User: "ptest", Password: "Sx9mQ2wE7rTy"}
	v := &aegir.Vhost{URI: "p.test", Root: root, App: "php",
		Params: append(creds.Params(), aegir.Param{Name: "AEGIR_SITE", Value: "p.test"})}
	if _, err := s.svc.WriteSite(ctx, v); err != nil {
		t.Fatal(err)
	}
	expect(t, s.port, "p.test", "/", 200, "db_name=ptestdb db_passwd=Sx9mQ2wE7rTy site=p.test script=/index.php uri=/")
	// The front controller gets clean URLs, with the params too.
	expect(t, s.port, "p.test", "/some/page?x=1", 200, "db_name=ptestdb db_passwd=Sx9mQ2wE7rTy site=p.test script=/index.php uri=/some/page?x=1")
	expect(t, s.port, "p.test", "/info.php/extra", 200, "script=/info.php path_info=/extra https=off")
	expect(t, s.port, "p.test", "/missing.php", 404, "")
	expect(t, s.port, "p.test", "/sites/p.test/files/evil.php", 403, "")
	expect(t, s.port, "p.test", "/sites/p.test/private/secret.txt", 403, "")
	expect(t, s.port, "p.test", "/dump.sql", 403, "")
	expect(t, s.port, "p.test", "/.git/config", 403, "")
	expect(t, s.port, "p.test", "/.well-known/acme-challenge/token", 200, "token")
	expect(t, s.port, "p.test", "/upload.jpg/x.php", 404, "")

	// The same codebase as Drupal and as WordPress: the app snippets' own
	// denials come before their PHP location.
	for _, app := range []string{"drupal", "wordpress"} {
		w := *v
		w.URI, w.App = app+".test", app
		if _, err := s.svc.WriteSite(ctx, &w); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, s.port, "drupal.test", "/node/1?page=2", 200, "db_name=ptestdb db_passwd=Sx9mQ2wE7rTy site=p.test script=/index.php uri=/node/1?page=2")
	expect(t, s.port, "drupal.test", "/info.php/selection", 200, "script=/info.php path_info=/selection")
	expect(t, s.port, "drupal.test", "/modules/m/m.module", 403, "")
	expect(t, s.port, "drupal.test", "/themes/t/page.tpl.php", 403, "")
	expect(t, s.port, "drupal.test", "/vendor/autoload.php", 403, "")
	expect(t, s.port, "drupal.test", "/sites/p.test/files/evil.php", 403, "")
	expect(t, s.port, "wordpress.test", "/2024/01/hello/", 200, "uri=/2024/01/hello/")
	expect(t, s.port, "wordpress.test", "/wp-content/uploads/evil.php", 403, "")
}

// TestAReloadTheMasterRejectsFailsAndPutsTheVhostBack: with a test
// command that lets anything through, a broken vhost reaches the reload;
// the master, signalled, does not take the configuration, and the change
// fails with a clear error instead of hanging, its vhost removed again.
func TestAReloadTheMasterRejectsFailsAndPutsTheVhostBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	root := staticRoot(t, "this is site A")
	if _, err := s.svc.WriteSite(ctx, &aegir.Vhost{URI: "a.test", Root: root, App: "static"}); err != nil {
		t.Fatal(err)
	}
	expect(t, s.port, "a.test", "/", 200, "this is site A")

	s.svc.server.HTTPTestCmd = []string{"true"}
	s.svc.rejectAfter = time.Second
	_, err := s.svc.WriteSite(ctx, &aegir.Vhost{URI: "c.test", Root: root, App: "nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "did not load the new configuration") {
		t.Fatalf("got %v, want the error of a master that rejected the configuration", err)
	}
	if _, err := os.Stat(s.svc.VhostFile("c.test")); !os.IsNotExist(err) {
		t.Errorf("the rejected vhost was left behind: %v", err)
	}
	expect(t, s.port, "a.test", "/", 200, "this is site A")
}
