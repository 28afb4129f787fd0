//go:build linux

package nginx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
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

// staticRoot returns a platform root whose index.html says text.
func staticRoot(t *testing.T, text string) string {
	t.Helper()
	root := teststack.WebDir(t)
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(text+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// response is what one request got.
type response struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

func (r response) String() string {
	return fmt.Sprintf("%d %q (Location %q)", r.Status, r.Body, r.Location)
}

// get requests path from host through 127.0.0.1:port. It never reuses a
// connection, since an old worker would answer with the configuration it
// started with, and never follows a redirect.
func get(port int, host, path string) (response, error) {
	client := teststack.HostClient(port)
	client.Timeout = 5 * time.Second
	resp, err := client.Get("http://" + host + path)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(body), resp.Header, resp.Header.Get("Location")}, err
}

// expect polls for up to 5 s until host answers path with status and a
// body containing want, since nginx reloads in the background after the
// reload command returns.
func expect(t *testing.T, port int, host, path string, status int, want string) response {
	t.Helper()
	var last response
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		last, err = get(port, host, path)
		if err == nil && last.Status == status && strings.Contains(last.Body, want) {
			return last
		}
	}
	t.Fatalf("GET http://%s%s: got %v (error %v), want %d with %q", host, path, last, err, status, want)
	return last
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestNginxServesSitesAndKeepsBrokenVhostsOut(t *testing.T) {
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

	rootA, rootB := staticRoot(t, "this is site A"), staticRoot(t, "this is site B")
	siteA := &aegir.Vhost{URI: "a.test", Aliases: []string{"www.a.test"}, Root: rootA, App: "static",
		Params: (*aegir.DBCredentials)(nil).Params()}
	siteB := &aegir.Vhost{URI: "b.test", Root: rootB, App: "static"}
	for _, v := range []*aegir.Vhost{siteA, siteB} {
		if _, err := s.svc.WriteSite(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, s.port, "a.test", "/", 200, "this is site A")
	expect(t, s.port, "www.a.test", "/", 200, "this is site A")
	expect(t, s.port, "b.test", "/", 200, "this is site B")
	expect(t, s.port, "unknown.test", "/", 404, "")
	if fi, err := os.Stat(s.svc.VhostFile("a.test")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("vhost mode: %v, %v; want 0600 since it holds passwords", fi.Mode().Perm(), err)
	}

	t.Run("a new vhost that fails the test is removed and nothing reloads", func(t *testing.T) {
		_, err := s.svc.WriteSite(ctx, &aegir.Vhost{URI: "c.test", Root: rootA, App: "nonexistent"})
		if err == nil || !strings.Contains(err.Error(), "nginx_nonexistent.conf") || !strings.Contains(err.Error(), "No such file") {
			t.Fatalf("got %v, want nginx's message about the missing include", err)
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
	})

	t.Run("a rewrite that fails the test puts the previous vhost back", func(t *testing.T) {
		before := readFile(t, s.svc.VhostFile("a.test"))
		broken := *siteA
		broken.App = "nonexistent"
		if _, err := s.svc.WriteSite(ctx, &broken); err == nil {
			t.Fatal("the broken vhost passed")
		}
		if !bytes.Equal(before, readFile(t, s.svc.VhostFile("a.test"))) {
			t.Error("the previous vhost was not put back")
		}
		expect(t, s.port, "a.test", "/", 200, "this is site A")
	})

	t.Run("every app snippet passes nginx -t", func(t *testing.T) {
		for _, app := range []string{"drupal", "wordpress", "mediawiki", "php", "static"} {
			uri := app + ".test"
			undo, err := s.svc.WriteSite(ctx, &aegir.Vhost{URI: uri, Root: rootA, App: app, Params: (*aegir.DBCredentials)(nil).Params()})
			if err != nil {
				t.Fatalf("%s: %v", app, err)
			}
			if err := undo(ctx); err != nil {
				t.Fatalf("undo %s: %v", app, err)
			}
			if _, err := os.Stat(s.svc.VhostFile(uri)); !os.IsNotExist(err) {
				t.Errorf("undo left %s behind", s.svc.VhostFile(uri))
			}
		}
	})

	t.Run("undo puts the previous vhost back", func(t *testing.T) {
		before := readFile(t, s.svc.VhostFile("b.test"))
		withAlias := *siteB
		withAlias.Aliases = []string{"www.b.test"}
		undo, err := s.svc.WriteSite(ctx, &withAlias)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, s.port, "www.b.test", "/", 200, "this is site B")
		if err := undo(ctx); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, readFile(t, s.svc.VhostFile("b.test"))) {
			t.Error("undo did not put the previous vhost back")
		}
		expect(t, s.port, "www.b.test", "/", 404, "")
	})

	t.Run("redirection answers 301 to the target", func(t *testing.T) {
		redirected := *siteA
		redirected.Redirection = "www.a.test"
		if _, err := s.svc.WriteSite(ctx, &redirected); err != nil {
			t.Fatal(err)
		}
		r := expect(t, s.port, "a.test", "/x?y=1", 301, "")
		if want := "http://www.a.test:" + strconv.Itoa(s.port) + "/x?y=1"; r.Location != want {
			t.Errorf("Location %q, want %q", r.Location, want)
		}
		expect(t, s.port, "www.a.test", "/", 200, "this is site A")
	})

	t.Run("a disabled site answers 503 with a page, or 302 to its URL", func(t *testing.T) {
		disabled := *siteB
		disabled.Aliases = []string{"www.b.test"}
		disabled.Disabled = true
		if _, err := s.svc.WriteSite(ctx, &disabled); err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"b.test", "www.b.test"} {
			r := expect(t, s.port, host, "/any/path", 503, "This site is disabled")
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want text/html", ct)
			}
		}
		disabled.DisabledURL = "https://hosting.test/disabled"
		if _, err := s.svc.WriteSite(ctx, &disabled); err != nil {
			t.Fatal(err)
		}
		if r := expect(t, s.port, "b.test", "/", 302, ""); r.Location != disabled.DisabledURL {
			t.Errorf("Location %q, want %q", r.Location, disabled.DisabledURL)
		}
	})

	t.Run("delete removes the site and undo brings it back", func(t *testing.T) {
		undo, err := s.svc.DeleteSite(ctx, "b.test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(s.svc.VhostFile("b.test")); !os.IsNotExist(err) {
			t.Errorf("vhost still there: %v", err)
		}
		expect(t, s.port, "b.test", "/", 404, "")
		if err := undo(ctx); err != nil {
			t.Fatal(err)
		}
		expect(t, s.port, "b.test", "/", 302, "")
		if _, err := s.svc.DeleteSite(ctx, "b.test"); err != nil {
			t.Fatal(err)
		}
		expect(t, s.port, "b.test", "/", 404, "")
		if undo, err := s.svc.DeleteSite(ctx, "b.test"); err != nil || undo != nil {
			t.Errorf("deleting a missing vhost: undo %v, error %v; want nil, nil", undo != nil, err)
		}
		expect(t, s.port, "a.test", "/", 301, "")
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
