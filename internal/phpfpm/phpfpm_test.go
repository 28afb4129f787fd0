package phpfpm

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
		{"private dir with colon", func(p *aegir.PHPPool, _ *aegir.Server) { p.PrivateDir = "/var/aegir/private/x:/" }},
		{"relative private dir", func(p *aegir.PHPPool, _ *aegir.Server) { p.PrivateDir = "private/x" }},
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

// TestPoolOpensThePrivateDirOutsideTheRoot checks that a site with a
// private directory outside its platform's root (Drupal's) may open it,
// and keeps its temporary files there.
func TestPoolOpensThePrivateDirOutsideTheRoot(t *testing.T) {
	t.Parallel()
	pool := goldenPool()
	pool.PrivateDir = "/var/aegir/private/example.com"
	pool.TempDir = pool.PrivateDir + "/temp"
	got, err := goldenPools().Render(pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`php_admin_value[open_basedir] = "/var/aegir/platforms/wordpress/:/var/aegir/platforms/wordpress/sites/example.com/:/var/aegir/private/example.com/:/var/aegir/private/example.com/temp/"`,
		`php_admin_value[upload_tmp_dir] = "/var/aegir/private/example.com/temp"`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the pool lacks %s:\n%s", want, got)
		}
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

// countingRunner runs nothing: the test command fails when fail is set,
// and it counts the tests and reloads.
type countingRunner struct {
	mu             sync.Mutex
	fail           bool
	tests, reloads int
}

func (r *countingRunner) Run(_ context.Context, cmd aegir.Command) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch cmd.Args[0] {
	case "php-fpm-test":
		r.tests++
		if r.fail {
			return nil, errors.New("ERROR: [pool s-0123456789ab] invalid")
		}
	case "php-fpm-reload":
		r.reloads++
	}
	return nil, nil
}

func testPools(t *testing.T, r *countingRunner) *Pools {
	s := &aegir.Server{RemoteHost: "web1.example", WebGroup: "www-data",
		PHPFPMTestCmd: []string{"php-fpm-test"}, PHPFPMReloadCmd: []string{"php-fpm-reload"}}
	return New(s, "server_web1", aegir.Env{Paths: aegir.Paths{Home: t.TempDir()}, Runner: r, Log: aegir.NewTaskLog(nil)})
}

func TestARejectedPoolIsPutBackAndNothingReloads(t *testing.T) {
	t.Parallel()
	r := &countingRunner{fail: true}
	pools, pool := testPools(t, r), goldenPool()
	if _, err := pools.Write(context.Background(), pool); err == nil {
		t.Fatal("a pool php-fpm rejected was written")
	}
	if _, err := os.Stat(pools.File(pool.User)); err == nil {
		t.Error("the rejected pool is still there")
	}
	if r.reloads != 0 {
		t.Errorf("php-fpm was reloaded %d times after a failed test", r.reloads)
	}

	r.fail = false
	undo, err := pools.Write(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pools.File(pool.User)); err != nil || r.reloads != 1 {
		t.Fatalf("after a write: %v, %d reloads", err, r.reloads)
	}
	if err := undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pools.File(pool.User)); err == nil {
		t.Error("the undo left the pool")
	}
}

func TestPoolsWrittenAtOnceShareATestAndAReload(t *testing.T) {
	t.Parallel()
	r := &countingRunner{}
	home := t.TempDir()
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pools := testPools(t, r)
			pools.Env.Paths.Home = home
			pools.Dir = pools.Env.Paths.PHPPoolDir("server_web1")
			pool := goldenPool()
			pool.User = aegir.SiteUser(fmt.Sprintf("site%d.example", i))
			_, errs[i] = pools.Write(context.Background(), pool)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(home, "config", "server_web1", "php-fpm"))
	files := 0
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".conf" && e.Name()[0] != '.' {
			files++
		}
	}
	if files != n {
		t.Errorf("%d pools written, want %d", files, n)
	}
	if r.reloads >= n/2 {
		t.Errorf("%d pools written at once took %d reloads: they were not coalesced", n, r.reloads)
	}
	t.Logf("%d pools, %d tests, %d reloads", n, r.tests, r.reloads)
}
