package phpfpm

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func goldenPools() *Pools {
	s := &aegir.Server{}
	s.Defaults()
	return New(s, "server_master", aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}})
}

func goldenPool() *aegir.PHPPool {
	user := aegir.SiteUser("example.com")
	site := "/var/aegir/platforms/wordpress/sites/example.com"
	return &aegir.PHPPool{
		User: user, Root: "/var/aegir/platforms/wordpress", SiteDir: site,
		TempDir: site + "/private/temp", Socket: "/run/php/aegir-" + user + ".sock",
	}
}

func TestPoolMatchesGolden(t *testing.T) {
	got, err := goldenPools().Render(goldenPool())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "pool.conf.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/phpfpm -update writes it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("the pool differs from %s (-update rewrites it)\n--- got ---\n%s", path, got)
	}
}

func TestPoolRefusesValuesThatWouldAddDirectives(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *aegir.PHPPool, s *aegir.Server)
	}{
		{"user not a site user", func(p *aegir.PHPPool, _ *aegir.Server) { p.User = "root" }},
		{"user with newline", func(p *aegir.PHPPool, _ *aegir.Server) { p.User = "s-0123456789ab\nuser = root" }},
		{"root with newline", func(p *aegir.PHPPool, _ *aegir.Server) { p.Root = "/srv/www\nuser = root" }},
		{"site dir with colon", func(p *aegir.PHPPool, _ *aegir.Server) { p.SiteDir = "/srv/www:/" }},
		{"temp dir with quote", func(p *aegir.PHPPool, _ *aegir.Server) { p.TempDir = `/tmp"x` }},
		{"relative socket", func(p *aegir.PHPPool, _ *aegir.Server) { p.Socket = "run/x.sock" }},
		{"socket with dots", func(p *aegir.PHPPool, _ *aegir.Server) { p.Socket = "/run/../etc/x.sock" }},
		{"web group with space", func(_ *aegir.PHPPool, s *aegir.Server) { s.WebGroup = "www data" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pools, pool := goldenPools(), goldenPool()
			tt.edit(pool, pools.Server)
			if _, err := pools.Render(pool); err == nil {
				t.Errorf("rendered a pool with %s", tt.name)
			}
		})
	}
}

func TestSiteUserIsAValidShortUnixName(t *testing.T) {
	for _, uri := range []string{"example.com", "a.b", "very-long-name-of-a-site.with.many.labels.example.org"} {
		u := aegir.SiteUser(uri)
		if err := aegir.ValidateSiteUser("u", u); err != nil || len(u) > 32 {
			t.Errorf("SiteUser(%q) = %q: %v", uri, u, err)
		}
	}
	if aegir.SiteUser("a.example.com") == aegir.SiteUser("b.example.com") {
		t.Error("two sites share a user")
	}
}
