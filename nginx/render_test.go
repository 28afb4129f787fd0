package nginx

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenService returns a service with fixed paths, so rendered files are
// the same on every machine.
func goldenService(t *testing.T) *Nginx {
	t.Helper()
	server := &aegir.Server{}
	server.Defaults()
	env := aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)}
	svc, err := New(server, aegir.MasterServer, env)
	if err != nil {
		t.Fatal(err)
	}
	return svc.(*Nginx)
}

// noRunner refuses every command: rendering must not run any.
type noRunner struct{}

func (noRunner) Run(context.Context, aegir.Command) ([]byte, error) {
	return nil, aegir.Errorf(aegir.EINTERNAL, "no command may run while rendering")
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./nginx -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./nginx -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func goldenParams() []aegir.Param {
	creds := &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "examplecom", User: "examplecom", Password: "Xk7pQ2mZ9aBc"}
	params := append(creds.Params(), aegir.Param{Name: "AEGIR_SITE", Value: "example.com"})
	return append(params, aegir.Custom{"cheesy": "cheddar"}.Params()...)
}

func TestServerFileMatchesGolden(t *testing.T) {
	n := goldenService(t)
	got, err := n.renderServer()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "server.conf.golden", got)
}

func TestVhostMatchesGolden(t *testing.T) {
	base := func() *aegir.Vhost {
		return &aegir.Vhost{
			URI: "example.com", Root: "/var/aegir/platforms/wordpress", Platform: "platform_wordpress", App: "wordpress",
			SiteDir: "/var/aegir/platforms/wordpress/sites/example.com", Params: goldenParams(),
		}
	}
	tests := []struct {
		golden string
		edit   func(v *aegir.Vhost)
	}{
		{"vhost_plain.conf.golden", func(*aegir.Vhost) {}},
		{"vhost_frontend.conf.golden", func(v *aegir.Vhost) {
			v.URI, v.Root, v.Platform, v.App, v.SiteDir, v.Params = "aegir.example.com", "", "", "", "", nil
			v.ProxyTo = "127.0.0.1:8080"
		}},
		{"vhost_aliases.conf.golden", func(v *aegir.Vhost) {
			v.Aliases = []string{"www.example.com", "example.org"}
		}},
		{"vhost_redirection.conf.golden", func(v *aegir.Vhost) {
			v.Aliases = []string{"www.example.com", "example.org"}
			v.Redirection = "www.example.com"
		}},
		{"vhost_own_pool.conf.golden", func(v *aegir.Vhost) {
			v.PHPSocket = "/run/php/aegir-" + aegir.SiteUser("example.com") + ".sock"
		}},
		{"vhost_disabled.conf.golden", func(v *aegir.Vhost) {
			v.Aliases = []string{"www.example.com"}
			v.Disabled = true
		}},
		{"vhost_disabled_url.conf.golden", func(v *aegir.Vhost) {
			v.Aliases = []string{"www.example.com"}
			v.Disabled = true
			v.DisabledURL = "https://hosting.example.net/hosting/disabled/example.com"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			n := goldenService(t)
			v := base()
			tt.edit(v)
			got, err := n.renderVhost(v)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, got)
		})
	}
}

func TestRedirectionKeepsAPortOtherThan80(t *testing.T) {
	n := goldenService(t)
	n.server.HTTPPort = 8080
	got, err := n.renderVhost(&aegir.Vhost{URI: "example.com", Aliases: []string{"www.example.com"}, Redirection: "example.com", Root: "/srv/www", App: "static"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "return 301 $scheme://example.com:8080$request_uri;"; !strings.Contains(string(got), want) {
		t.Errorf("vhost lacks %q:\n%s", want, got)
	}
}

// TestPHPLocationsSetNoFastCGIParam guards the inheritance rule: a location
// that sets any fastcgi_param inherits none of the server's, and would lose
// the site's cloaked credentials.
func TestPHPLocationsSetNoFastCGIParam(t *testing.T) {
	names := includeNames()
	for _, want := range []string{"fastcgi_params.conf", "nginx_common.conf", "nginx_drupal.conf", "nginx_mediawiki.conf", "nginx_php.conf", "nginx_static.conf", "nginx_wordpress.conf"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("include %s is missing from %v", want, names)
		}
	}
	for _, name := range names {
		if name == "fastcgi_params.conf" {
			continue
		}
		data, err := render(name+".tmpl", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "fastcgi_param ") {
				t.Errorf("%s:%d sets %q", name, i+1, line)
			}
		}
	}
}

func TestVhostRejectsValuesThatBreakOutOfTheConfig(t *testing.T) {
	good := func() *aegir.Vhost {
		return &aegir.Vhost{URI: "example.com", Root: "/srv/www", App: "php", Params: goldenParams()}
	}
	tests := []struct {
		name  string
		field string
		edit  func(v *aegir.Vhost)
	}{
		{"double quote in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `pa"ss` }},
		{"single quote in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `pa'ss` }},
		{"backslash in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `pa\ss` }},
		{"variable in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `$request_uri` }},
		{"semicolon in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `x; include /etc/passwd` }},
		{"brace in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `x}` }},
		{"space in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `a b` }},
		{"newline in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "a\nb" }},
		{"tab in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "a\tb" }},
		{"NUL in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "a\x00b" }},
		{"non-ASCII value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "pässword" }},
		{"overlong value", "params", func(v *aegir.Vhost) { v.Params[3].Value = strings.Repeat("a", 1025) }},
		{"empty name", "params", func(v *aegir.Vhost) { v.Params = append(v.Params, aegir.Param{Name: "", Value: "x"}) }},
		{"space in name", "params", func(v *aegir.Vhost) { v.Params = append(v.Params, aegir.Param{Name: "a b", Value: "x"}) }},
		{"semicolon in name", "params", func(v *aegir.Vhost) { v.Params = append(v.Params, aegir.Param{Name: "a;b", Value: "x"}) }},
		{"name starting with digit", "params", func(v *aegir.Vhost) { v.Params = append(v.Params, aegir.Param{Name: "1a", Value: "x"}) }},
		{"bad uri", "uri", func(v *aegir.Vhost) { v.URI = "example.com;" }},
		{"uppercase uri", "uri", func(v *aegir.Vhost) { v.URI = "Example.com" }},
		{"uri with path", "uri", func(v *aegir.Vhost) { v.URI = "../../etc/x" }},
		{"bad alias", "aliases", func(v *aegir.Vhost) { v.Aliases = []string{"www.example.com", "a b"} }},
		{"redirection to a stranger", "redirection", func(v *aegir.Vhost) { v.Redirection = "elsewhere.com" }},
		{"root with space", "root", func(v *aegir.Vhost) { v.Root = "/srv/my site" }},
		{"root with semicolon", "root", func(v *aegir.Vhost) { v.Root = "/srv/x;deny" }},
		{"relative root", "root", func(v *aegir.Vhost) { v.Root = "srv/www" }},
		{"root with dot-dot", "root", func(v *aegir.Vhost) { v.Root = "/srv/../etc" }},
		{"app with slash", "app", func(v *aegir.Vhost) { v.App = "../x" }},
		{"empty app", "app", func(v *aegir.Vhost) { v.App = "" }},
		{"disabled url with quote", "disabled_url", func(v *aegir.Vhost) { v.Disabled, v.DisabledURL = true, `https://x.com/"` }},
		{"disabled url not http", "disabled_url", func(v *aegir.Vhost) { v.Disabled, v.DisabledURL = true, "javascript:alert(1)" }},
		{"disabled url with variable", "disabled_url", func(v *aegir.Vhost) { v.Disabled, v.DisabledURL = true, "https://x.com/$host" }},
	}
	n := goldenService(t)
	if _, err := n.renderVhost(good()); err != nil {
		t.Fatalf("the good vhost is rejected: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			tt.edit(v)
			_, err := n.renderVhost(v)
			e, ok := err.(*aegir.Error)
			if !ok || e.Code != aegir.EINVALID || e.Field != tt.field {
				t.Fatalf("got %v, want an invalid %s error", err, tt.field)
			}
			if tt.field == "params" && strings.Contains(err.Error(), v.Params[3].Value) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestNewRejectsServersTheConfigCannotHold(t *testing.T) {
	tests := []struct {
		name  string
		field string
		edit  func(s *aegir.Server, home *string)
	}{
		{"port 0", "http_port", func(s *aegir.Server, _ *string) { s.HTTPPort = 0 }},
		{"port too big", "http_port", func(s *aegir.Server, _ *string) { s.HTTPPort = 70000 }},
		{"socket with space", "php_fpm_socket", func(s *aegir.Server, _ *string) { s.PHPFPMSocket = "/run/php fpm.sock" }},
		{"socket with semicolon", "php_fpm_socket", func(s *aegir.Server, _ *string) { s.PHPFPMSocket = "/run/x;}" }},
		{"relative conf link", "http_conf_link", func(s *aegir.Server, _ *string) { s.HTTPConfLink = "conf.d/aegir.conf" }},
		{"no test command", "http_test_cmd", func(s *aegir.Server, _ *string) { s.HTTPTestCmd = nil }},
		{"no restart command", "http_restart_cmd", func(s *aegir.Server, _ *string) { s.HTTPRestartCmd = nil }},
		{"home with space", "aegir_home", func(_ *aegir.Server, home *string) { *home = "/var/my aegir" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &aegir.Server{}
			s.Defaults()
			home := "/var/aegir"
			tt.edit(s, &home)
			_, err := New(s, aegir.MasterServer, aegir.Env{Paths: aegir.Paths{Home: home}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)})
			e, ok := err.(*aegir.Error)
			if !ok || e.Field != tt.field {
				t.Fatalf("got %v, want an invalid %s error", err, tt.field)
			}
		})
	}
	s := &aegir.Server{}
	s.Defaults()
	if _, err := New(s, "bad/name", aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)}); err == nil {
		t.Error("a server name with a slash is accepted")
	}
}

func TestRegisteredAsNginx(t *testing.T) {
	s := &aegir.Server{}
	s.Defaults()
	svc, err := aegir.NewHTTPService(s, aegir.MasterServer, aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.(*Nginx); !ok {
		t.Fatalf("nginx service type builds a %T", svc)
	}
}

func TestWritePlatformWritesNothingAndRejectsUnknownApps(t *testing.T) {
	n := goldenService(t)
	for _, app := range []string{"drupal", "wordpress", "mediawiki", "php", "static"} {
		undo, err := n.WritePlatform(context.Background(), "platform_x", "/srv/x", app)
		if err != nil || undo != nil {
			t.Errorf("WritePlatform(%s) = %v, %v; want nil, nil", app, undo != nil, err)
		}
	}
	if _, err := n.WritePlatform(context.Background(), "platform_x", "/srv/x", "cobol"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("WritePlatform(cobol) = %v, want an invalid app error", err)
	}
}
