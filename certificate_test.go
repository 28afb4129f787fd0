package aegir_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

func TestSSLPropertiesParseValidateAndDefault(t *testing.T) {
	t.Parallel()
	c, err := aegir.NewContext("@a.example", aegir.SiteContext)
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{
		"platform": "@platform_p", "aliases": "www.a.example", "ssl-enabled": "2", "ssl_key": "shared.example", "hsts": "1",
	} {
		if err := c.SetProperty(name, value); err != nil {
			t.Fatalf("SetProperty(%s, %s): %v", name, value, err)
		}
	}
	site := c.WithDefaults().Site
	if site.SSLEnabled != aegir.SSLRequired || !site.HSTS || site.SSLProvider != aegir.SSLSelfSigned || site.CertificateName() != "shared.example" {
		t.Fatalf("site %+v", site)
	}
	if err := c.WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	// The certificate name follows the uri unless ssl_key names one.
	if err := c.SetProperty("ssl_key", "null"); err != nil || c.Site.CertificateName() != "a.example" {
		t.Fatalf("ssl_key reset: %v, name %q", err, c.Site.CertificateName())
	}
	if got := c.Site.Names(); !slices.Equal(got, []string{"a.example", "www.a.example"}) {
		t.Errorf("Names() = %v", got)
	}
	// Without SSL no provider is filled in.
	off := &aegir.Site{URI: "b.example", Platform: "@p"}
	off.Defaults()
	if off.SSLProvider != "" {
		t.Errorf("a site without SSL got provider %q", off.SSLProvider)
	}

	for _, bad := range []struct {
		edit  func(s *aegir.Site)
		field string
	}{
		{func(s *aegir.Site) { s.SSLEnabled = 3 }, "ssl_enabled"},
		{func(s *aegir.Site) { s.SSLEnabled = -1 }, "ssl_enabled"},
		{func(s *aegir.Site) { s.SSLProvider = "letsencrypt" }, "ssl_provider"},
		{func(s *aegir.Site) { s.SSLKey = "../etc" }, "ssl_key"},
		{func(s *aegir.Site) { s.SSLKey = "_acme" }, "ssl_key"},
		{func(s *aegir.Site) { s.SSLKey = "Upper" }, "ssl_key"},
	} {
		s := &aegir.Site{URI: "a.example", Platform: "@p", SSLEnabled: 1}
		bad.edit(s)
		err := s.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), bad.field+": ") || aegir.ErrorCode(err) != aegir.EINVALID {
			t.Errorf("%+v: got %v, want an EINVALID error naming %s", s, err, bad.field)
		}
	}
}

func TestHTTPSPortDefaultsTo443AndDiffersFromTheHTTPPort(t *testing.T) {
	t.Parallel()
	s := &aegir.Server{}
	s.Defaults()
	if s.HTTPSPort != 443 {
		t.Fatalf("https_port defaults to %d", s.HTTPSPort)
	}
	for _, tt := range []struct {
		http, https int
		ok          bool
	}{{0, 0, true}, {8080, 8443, true}, {80, 443, true}, {8443, 8443, false}, {0, 80, false}, {443, 0, false}, {80, 70000, false}, {80, -1, false}} {
		err := (&aegir.Server{HTTPPort: tt.http, HTTPSPort: tt.https}).Validate()
		if (err == nil) != tt.ok {
			t.Errorf("http_port %d, https_port %d: %v", tt.http, tt.https, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "https_port: ") {
			t.Errorf("http_port %d, https_port %d: %v does not name https_port", tt.http, tt.https, err)
		}
	}
}

func TestACertificateIsDueWithin30DaysOfItsEnd(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for days, due := range map[int]bool{-1: true, 29: true, 31: false, 90: false} {
		c := &aegir.Certificate{NotAfter: now.Add(time.Duration(days) * 24 * time.Hour)}
		if c.Due(now) != due || int(c.DaysLeft(now)) != days {
			t.Errorf("%d days left: due %v, DaysLeft %v", days, c.Due(now), c.DaysLeft(now))
		}
	}
}

func TestChallengeDirIsUnderTheServerConfig(t *testing.T) {
	t.Parallel()
	p := aegir.Paths{Home: "/var/aegir"}
	if got, want := p.ChallengeDir("server_master"), "/var/aegir/config/server_master/acme-challenge"; got != want {
		t.Errorf("ChallengeDir = %s, want %s", got, want)
	}
	if got, want := p.SSL(), "/var/aegir/config/ssl.d"; got != want {
		t.Errorf("SSL = %s, want %s", got, want)
	}
}
