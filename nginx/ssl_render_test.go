package nginx

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
			n := goldenService(t)
			if tt.httpsPort != 0 {
				n.server.HTTPSPort = tt.httpsPort
			}
			ssl := aegir.SSLOn
			if strings.Contains(tt.golden, "required") {
				ssl = aegir.SSLRequired
			}
			v := sslVhost(ssl)
			tt.edit(v)
			got, err := n.renderVhost(v)
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
		edit  func(n *Nginx, v *aegir.Vhost)
	}{
		{"ssl_enabled", func(_ *Nginx, v *aegir.Vhost) { v.SSL = 3 }},
		{"ssl_certificate", func(_ *Nginx, v *aegir.Vhost) { v.CertFile = "/x/cert.pem; include /etc/passwd" }},
		{"ssl_certificate_key", func(_ *Nginx, v *aegir.Vhost) { v.KeyFile = "relative/key.pem" }},
		{"ssl_serial", func(_ *Nginx, v *aegir.Vhost) { v.CertSerial = "4b:e1\n    ssl_stapling on" }},
		{"https_port", func(n *Nginx, _ *aegir.Vhost) { n.server.HTTPSPort = 80 }},
	} {
		n := goldenService(t)
		v := sslVhost(aegir.SSLRequired)
		tt.edit(n, v)
		_, err := n.renderVhost(v)
		if e, ok := err.(*aegir.Error); !ok || e.Field != tt.field {
			t.Errorf("%s: got %v, want an error naming %s", tt.field, err, tt.field)
		}
	}
}

// TestSSLOffWritesNoTLS guards the default: a vhost without SSL has no TLS
// directive, even when certificate paths are set.
func TestSSLOffWritesNoTLS(t *testing.T) {
	n := goldenService(t)
	got, err := n.renderVhost(sslVhost(aegir.SSLOff))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ssl", "443", "https"} {
		if strings.Contains(string(got), s) {
			t.Errorf("a vhost without SSL holds %q:\n%s", s, got)
		}
	}
}
