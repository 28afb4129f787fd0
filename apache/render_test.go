package apache

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenService returns a service with fixed paths, so rendered files are
// the same on every machine.
func goldenService(t *testing.T) *Apache {
	t.Helper()
	server := &aegir.Server{HTTPServiceType: aegir.ServiceApache}
	server.Defaults()
	env := aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)}
	svc, err := New(server, aegir.MasterServer, env)
	if err != nil {
		t.Fatal(err)
	}
	return svc.(*Apache)
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
		t.Fatalf("%v (run go test ./apache -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./apache -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func goldenParams() []aegir.Param {
	creds := &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "examplecom", User: "examplecom", Password: "Xk7pQ2mZ9aBc"}
	params := append(creds.Params(), aegir.Param{Name: "AEGIR_SITE", Value: "example.com"})
	return append(params, aegir.Custom{"cheesy": "cheddar"}.Params()...)
}

func TestServerFileMatchesGolden(t *testing.T) {
	a := goldenService(t)
	got, err := a.renderServer()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "server.conf.golden", got)
}

func TestServerFileListensOnlyOnPortsTheSystemDoesNot(t *testing.T) {
	for port, want := range map[int]bool{80: false, 443: false, 8080: true} {
		a := goldenService(t)
		a.server.HTTPPort = port
		got, err := a.renderServer()
		if err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(string(got), "\nListen "); has != want {
			t.Errorf("port %d: Listen in the server file is %v, want %v", port, has, want)
		}
		if !strings.Contains(string(got), fmt.Sprintf("<VirtualHost *:%d>", port)) {
			t.Errorf("port %d: no default virtual host", port)
		}
	}
}

func TestPlatformFileMatchesGolden(t *testing.T) {
	for _, app := range []string{"drupal", "mediawiki", "php", "static", "wordpress"} {
		t.Run(app, func(t *testing.T) {
			a := goldenService(t)
			got, err := a.renderPlatform("platform_"+app, "/var/aegir/platforms/"+app+"-1.2+x", app)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "platform_"+app+".conf.golden", got)
		})
	}
	if got, want := apps(), []string{"drupal", "mediawiki", "php", "static", "wordpress"}; !slices.Equal(got, want) {
		t.Errorf("apps with platform rules: %v, want %v", got, want)
	}
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
			a := goldenService(t)
			v := base()
			tt.edit(v)
			got, err := a.renderVhost(v)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, got)
		})
	}
}

func TestRedirectionKeepsAPortOtherThan80(t *testing.T) {
	a := goldenService(t)
	a.server.HTTPPort = 8080
	got, err := a.renderVhost(&aegir.Vhost{URI: "example.com", Aliases: []string{"www.example.com"}, Redirection: "example.com", Root: "/srv/www", App: "static"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `Redirect permanent / "http://example.com:8080/"`; !strings.Contains(string(got), want) {
		t.Errorf("vhost lacks %q:\n%s", want, got)
	}
	// A redirection to the only name leaves no other virtual host.
	got, err = a.renderVhost(&aegir.Vhost{URI: "example.com", Redirection: "example.com", Root: "/srv/www", App: "static"})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(got), "<VirtualHost"); n != 1 {
		t.Errorf("%d virtual hosts, want 1:\n%s", n, got)
	}
}

func TestVhostRequiresItsPlatformFile(t *testing.T) {
	a := goldenService(t)
	platform, err := a.renderPlatform("platform_x", "/srv/www", "php")
	if err != nil {
		t.Fatal(err)
	}
	vhost, err := a.renderVhost(&aegir.Vhost{URI: "example.com", Root: "/srv/www", App: "php"})
	if err != nil {
		t.Fatal(err)
	}
	define := rootDefine("/srv/www")
	if !strings.Contains(string(platform), "\nDefine "+define+"\n") {
		t.Errorf("the platform file does not define %s:\n%s", define, platform)
	}
	if !strings.Contains(string(vhost), "<IfDefine !"+define+">") {
		t.Errorf("the vhost does not test %s:\n%s", define, vhost)
	}
	if rootDefine("/srv/www2") == define {
		t.Error("two roots share a define")
	}
}

func TestRootRegexMatchesOnlyTheRoot(t *testing.T) {
	if got, want := rootRegex("/srv/drupal-10.2+x/web"), "/srv/drupal-10[.]2[+]x/web"; got != want {
		t.Errorf("rootRegex = %q, want %q", got, want)
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
		{"variable in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `${APACHE_RUN_USER}` }},
		{"expression in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `%{HTTP_HOST}` }},
		{"brace in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `x}` }},
		{"space in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = `a b` }},
		{"newline in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "a\nb" }},
		{"newline and directive in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "a\n</VirtualHost>" }},
		{"tab in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "a\tb" }},
		{"NUL in value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "a\x00b" }},
		{"non-ASCII value", "params", func(v *aegir.Vhost) { v.Params[3].Value = "pässword" }},
		{"overlong value", "params", func(v *aegir.Vhost) { v.Params[3].Value = strings.Repeat("a", 1025) }},
		{"empty name", "params", func(v *aegir.Vhost) { v.Params = append(v.Params, aegir.Param{Name: "", Value: "x"}) }},
		{"space in name", "params", func(v *aegir.Vhost) { v.Params = append(v.Params, aegir.Param{Name: "a b", Value: "x"}) }},
		{"quote in name", "params", func(v *aegir.Vhost) { v.Params = append(v.Params, aegir.Param{Name: `a"b`, Value: "x"}) }},
		{"name starting with digit", "params", func(v *aegir.Vhost) { v.Params = append(v.Params, aegir.Param{Name: "1a", Value: "x"}) }},
		{"bad uri", "uri", func(v *aegir.Vhost) { v.URI = "example.com>" }},
		{"uppercase uri", "uri", func(v *aegir.Vhost) { v.URI = "Example.com" }},
		{"uri with path", "uri", func(v *aegir.Vhost) { v.URI = "../../etc/x" }},
		{"bad alias", "aliases", func(v *aegir.Vhost) { v.Aliases = []string{"www.example.com", "a b"} }},
		{"redirection to a stranger", "redirection", func(v *aegir.Vhost) { v.Redirection = "elsewhere.com" }},
		{"root with space", "root", func(v *aegir.Vhost) { v.Root = "/srv/my site" }},
		{"root with quote", "root", func(v *aegir.Vhost) { v.Root = `/srv/x"` }},
		{"root with angle bracket", "root", func(v *aegir.Vhost) { v.Root = "/srv/x>" }},
		{"relative root", "root", func(v *aegir.Vhost) { v.Root = "srv/www" }},
		{"root with dot-dot", "root", func(v *aegir.Vhost) { v.Root = "/srv/../etc" }},
		{"root with trailing slash", "root", func(v *aegir.Vhost) { v.Root = "/srv/www/" }},
		{"the file system root", "root", func(v *aegir.Vhost) { v.Root = "/" }},
		{"app with slash", "app", func(v *aegir.Vhost) { v.App = "../x" }},
		{"empty app", "app", func(v *aegir.Vhost) { v.App = "" }},
		{"disabled url with quote", "disabled_url", func(v *aegir.Vhost) { v.Disabled, v.DisabledURL = true, `https://x.com/"` }},
		{"disabled url not http", "disabled_url", func(v *aegir.Vhost) { v.Disabled, v.DisabledURL = true, "javascript:alert(1)" }},
		{"disabled url with variable", "disabled_url", func(v *aegir.Vhost) { v.Disabled, v.DisabledURL = true, "https://x.com/${HOME}" }},
		{"disabled url with expression", "disabled_url", func(v *aegir.Vhost) { v.Disabled, v.DisabledURL = true, "https://x.com/%{HTTP_HOST}" }},
	}
	a := goldenService(t)
	if _, err := a.renderVhost(good()); err != nil {
		t.Fatalf("the good vhost is rejected: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			tt.edit(v)
			_, err := a.renderVhost(v)
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

func TestPlatformRejectsValuesThatBreakOutOfTheConfig(t *testing.T) {
	tests := []struct {
		name, platform, root, app, field string
	}{
		{"unknown app", "platform_x", "/srv/x", "cobol", "app"},
		{"app with slash", "platform_x", "/srv/x", "../static", "app"},
		{"name with slash", "a/b", "/srv/x", "php", "platform"},
		{"name with dot-dot", "a..b", "/srv/x", "php", "platform"},
		{"root with space", "platform_x", "/srv/my x", "php", "root"},
		{"root with quote", "platform_x", `/srv/x"`, "php", "root"},
		{"root with regex", "platform_x", "/srv/(x|y)", "php", "root"},
		{"file system root", "platform_x", "/", "static", "root"},
		{"relative root", "platform_x", "srv/x", "static", "root"},
	}
	a := goldenService(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.renderPlatform(tt.platform, tt.root, tt.app)
			e, ok := err.(*aegir.Error)
			if !ok || e.Code != aegir.EINVALID || e.Field != tt.field {
				t.Fatalf("got %v, want an invalid %s error", err, tt.field)
			}
		})
	}
	// WritePlatform checks before it takes the lock or touches a file.
	if _, err := a.WritePlatform(context.Background(), "platform_x", "/srv/x", "cobol"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("WritePlatform(cobol) = %v, want an invalid app error", err)
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
		{"socket with pipe", "php_fpm_socket", func(s *aegir.Server, _ *string) { s.PHPFPMSocket = "/run/x|fcgi://evil" }},
		{"relative conf link", "http_conf_link", func(s *aegir.Server, _ *string) { s.HTTPConfLink = "conf.d/aegir.conf" }},
		{"no test command", "http_test_cmd", func(s *aegir.Server, _ *string) { s.HTTPTestCmd = nil }},
		{"no restart command", "http_restart_cmd", func(s *aegir.Server, _ *string) { s.HTTPRestartCmd = nil }},
		{"home with space", "aegir_home", func(_ *aegir.Server, home *string) { *home = "/var/my aegir" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &aegir.Server{HTTPServiceType: aegir.ServiceApache}
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
	s := &aegir.Server{HTTPServiceType: aegir.ServiceApache}
	s.Defaults()
	if _, err := New(s, "bad/name", aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)}); err == nil {
		t.Error("a server name with a slash is accepted")
	}
}

func TestNewUsesApacheDefaultsInPlaceOfNginxOnes(t *testing.T) {
	s := &aegir.Server{HTTPServiceType: aegir.ServiceApache}
	s.Defaults()
	before := *s
	a := goldenService(t)
	if got, want := a.server.HTTPTestCmd, []string{"apache2ctl", "configtest"}; !slices.Equal(got, want) {
		t.Errorf("test command %v, want %v", got, want)
	}
	if got, want := a.server.HTTPRestartCmd, []string{"apache2ctl", "graceful"}; !slices.Equal(got, want) {
		t.Errorf("restart command %v, want %v", got, want)
	}
	if got, want := a.server.HTTPConfLink, "/etc/apache2/conf-enabled/aegir.conf"; got != want {
		t.Errorf("conf link %q, want %q", got, want)
	}
	// The caller's server is left as it was.
	if _, err := New(s, aegir.MasterServer, aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.HTTPTestCmd, before.HTTPTestCmd) || s.HTTPConfLink != before.HTTPConfLink {
		t.Error("New changed the server it was given")
	}
	// Commands and a link of the admin's own are kept.
	s.HTTPTestCmd = []string{"apachectl", "-t"}
	s.HTTPRestartCmd = []string{"systemctl", "reload", "httpd"}
	s.HTTPConfLink = "/etc/httpd/conf.d/aegir.conf"
	svc, err := New(s, aegir.MasterServer, aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)})
	if err != nil {
		t.Fatal(err)
	}
	got := svc.(*Apache).server
	if !slices.Equal(got.HTTPTestCmd, s.HTTPTestCmd) || !slices.Equal(got.HTTPRestartCmd, s.HTTPRestartCmd) || got.HTTPConfLink != s.HTTPConfLink {
		t.Errorf("the admin's settings were replaced: %v %v %s", got.HTTPTestCmd, got.HTTPRestartCmd, got.HTTPConfLink)
	}
}

func TestRegisteredAsApache(t *testing.T) {
	s := &aegir.Server{HTTPServiceType: aegir.ServiceApache}
	s.Defaults()
	svc, err := aegir.NewHTTPService(s, aegir.MasterServer, aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.(*Apache); !ok {
		t.Fatalf("apache service type builds a %T", svc)
	}
}
