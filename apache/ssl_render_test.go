package apache

import (
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// sslVhost is the golden site with a certificate.
func sslVhost(ssl int) *aegir.Vhost {
	return &aegir.Vhost{
		URI: "example.com", Aliases: []string{"www.example.com"}, Root: "/var/aegir/platforms/wordpress", App: "wordpress",
		SiteDir: "/var/aegir/platforms/wordpress/sites/example.com", Params: goldenParams(),
		SSL: ssl, CertFile: "/var/aegir/config/ssl.d/example.com/live/fullchain.pem",
		KeyFile: "/var/aegir/config/ssl.d/example.com/live/privkey.pem", CertSerial: "4be1c0ffee",
	}
}

func TestSSLVhostMatchesGolden(t *testing.T) {
	tests := []struct {
		golden    string
		httpsPort int
		edit      func(v *aegir.Vhost)
	}{
		{"vhost_ssl_on.conf.golden", 0, func(*aegir.Vhost) {}},
		{"vhost_ssl_required_hsts.conf.golden", 0, func(v *aegir.Vhost) { v.HSTS = true }},
		{"vhost_ssl_required_redirection.conf.golden", 8443, func(v *aegir.Vhost) {
			v.Aliases = append(v.Aliases, "example.org")
			v.Redirection = "www.example.com"
		}},
		{"vhost_ssl_on_redirection.conf.golden", 0, func(v *aegir.Vhost) { v.Redirection = "www.example.com" }},
		{"vhost_ssl_disabled.conf.golden", 0, func(v *aegir.Vhost) { v.Disabled = true }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			a := goldenService(t)
			if tt.httpsPort != 0 {
				a.server.HTTPSPort = tt.httpsPort
			}
			ssl := aegir.SSLOn
			if strings.Contains(tt.golden, "required") {
				ssl = aegir.SSLRequired
			}
			v := sslVhost(ssl)
			tt.edit(v)
			got, err := a.renderVhost(v)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, got)
		})
	}
}

func TestSSLVhostRefusesWhatCannotBeWritten(t *testing.T) {
	for _, tt := range []struct {
		field string
		edit  func(a *Apache, v *aegir.Vhost)
	}{
		{"ssl_enabled", func(_ *Apache, v *aegir.Vhost) { v.SSL = 3 }},
		{"ssl_certificate", func(_ *Apache, v *aegir.Vhost) { v.CertFile = "/x/cert.pem; include /etc/passwd" }},
		{"ssl_certificate_key", func(_ *Apache, v *aegir.Vhost) { v.KeyFile = "relative/key.pem" }},
		{"ssl_serial", func(_ *Apache, v *aegir.Vhost) { v.CertSerial = "4b:e1\n    ssl_stapling on" }},
		{"https_port", func(a *Apache, _ *aegir.Vhost) { a.server.HTTPSPort = 80 }},
	} {
		a := goldenService(t)
		v := sslVhost(aegir.SSLRequired)
		tt.edit(a, v)
		_, err := a.renderVhost(v)
		if e, ok := err.(*aegir.Error); !ok || e.Field != tt.field {
			t.Errorf("%s: got %v, want an error naming %s", tt.field, err, tt.field)
		}
	}
}

// TestSSLOffWritesNoTLS guards the default: a vhost without SSL has no TLS
// directive, even when certificate paths are set.
func TestSSLOffWritesNoTLS(t *testing.T) {
	a := goldenService(t)
	got, err := a.renderVhost(sslVhost(aegir.SSLOff))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"SSL", "443", "https"} {
		if strings.Contains(string(got), s) {
			t.Errorf("a vhost without SSL holds %q:\n%s", s, got)
		}
	}
}

func TestServerFileListensOnAnHTTPSPortOtherThan443(t *testing.T) {
	for port, want := range map[int]bool{0: false, 443: false, 8443: true} {
		a := goldenService(t)
		a.server.HTTPPort, a.server.HTTPSPort = 8080, port
		got, err := a.renderServer()
		if err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(string(got), "\nListen 8443 https\n"); has != want {
			t.Errorf("https port %d: Listen in the server file is %v, want %v", port, has, want)
		}
	}
}
