package schedule_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/schedule"
)

// alerts records what a Health scheduler tells.
type alerts struct {
	mu  sync.Mutex
	got []string
}

func (a *alerts) SiteHealthChanged(_ context.Context, r *aegir.SiteRecord, h aegir.SiteHealth) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, r.Name+" "+h.State)
	return nil
}

// TestHealthChecksFindDownSitesAndTellChanges runs the health checks
// against a web server that answers by Host as sites in trouble do: a 500,
// a redirect to WordPress's or Drupal's installer, MediaWiki's installer
// notice, a hang past the timeout; the others answer 200 or redirect to
// HTTPS. Disabled sites and sites on a server without a web server are
// not checked. Each check is recorded on the site, with its request going to
// the web server's address with the site's Host; a state change is told
// once, and a site back up is told too.
func TestHealthChecksFindDownSitesAndTellChanges(t *testing.T) {
	forEachStore(t, func(t *testing.T, store aegir.Store) {
		ctx := t.Context()
		var mu sync.Mutex
		broken := map[string]bool{"wp.example": true}
		release := make(chan struct{})
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The Host has the port, as a browser's does.
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				http.Error(w, "no port in the Host", http.StatusBadRequest)
				return
			}
			r.Host = host
			mu.Lock()
			isBroken := broken[r.Host]
			mu.Unlock()
			switch {
			case r.URL.Path != "/":
				http.NotFound(w, r)
			case r.Host == "wp.example" && isBroken:
				http.Error(w, "Error establishing a database connection", http.StatusInternalServerError)
			case r.Host == "install.example":
				http.Redirect(w, r, "http://install.example/wp-admin/install.php", http.StatusFound)
			case r.Host == "drupal.example":
				http.Redirect(w, r, "/core/install.php?rewrite=ok", http.StatusFound)
			case r.Host == "wiki.example":
				w.Write([]byte(`<p>LocalSettings.php not found.</p><a href="/mw-config/index.php">set up the wiki</a>`))
			case r.Host == "slow.example":
				select {
				case <-release:
				case <-r.Context().Done():
				}
			case r.Host == "https.example":
				http.Redirect(w, r, "https://https.example/", http.StatusMovedPermanently)
			default:
				w.Write([]byte("<h1>Hello</h1>"))
			}
		}))
		t.Cleanup(web.Close)
		t.Cleanup(func() { close(release) })
		host, port, _ := net.SplitHostPort(web.Listener.Addr().String())
		p, _ := strconv.Atoi(port)
		must(t, store.CreateServer(ctx, &aegir.ServerRecord{Name: "server_web", Status: "enabled",
			Server: aegir.Server{RemoteHost: host, HTTPPort: p}}))
		must(t, store.CreatePlatform(ctx, &aegir.PlatformRecord{Name: "platform_wp", Status: "enabled",
			Platform: aegir.Platform{Root: "/srv/wp", WebServer: "@server_web"}}))
		for _, n := range []string{"wp.example", "ok.example", "install.example", "drupal.example", "wiki.example", "slow.example", "https.example", "off.example"} {
			r := &aegir.SiteRecord{Name: n, Status: aegir.SiteEnabled, Site: aegir.Site{URI: n, Platform: "@platform_wp"}}
			if n == "off.example" {
				r.Status = aegir.SiteDisabled // not checked: it answers its disabled page on purpose
			}
			must(t, store.CreateSite(ctx, r))
		}
		// A server without a web server has no site to ask.
		must(t, store.CreateServer(ctx, &aegir.ServerRecord{Name: "server_none", Status: "enabled",
			Server: aegir.Server{HTTPServiceType: aegir.ServiceNull, HTTPPort: p}}))
		must(t, store.CreatePlatform(ctx, &aegir.PlatformRecord{Name: "platform_none", Status: "enabled",
			Platform: aegir.Platform{Root: "/srv/none", WebServer: "@server_none"}}))
		must(t, store.CreateSite(ctx, &aegir.SiteRecord{Name: "none.example", Status: aegir.SiteEnabled, Site: aegir.Site{URI: "none.example", Platform: "@platform_none"}}))
		told := &alerts{}
		h := &schedule.Health{Store: store, Alerter: told, Timeout: 500 * time.Millisecond, Concurrency: 3}
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		checked, down, err := h.Check(ctx, now)
		must(t, err)
		if checked != 7 || down != 5 {
			t.Fatalf("checked %d, down %d; want 7 and 5", checked, down)
		}
		want := map[string]struct {
			state  string
			code   int
			reason string
		}{
			"wp.example":      {aegir.HealthDown, 500, "answered 500"},
			"ok.example":      {aegir.HealthUp, 200, ""},
			"install.example": {aegir.HealthDown, 302, "sends visitors to the installer (http://install.example/wp-admin/install.php)"},
			"drupal.example":  {aegir.HealthDown, 302, "sends visitors to the installer (/core/install.php?rewrite=ok)"},
			"wiki.example":    {aegir.HealthDown, 200, "shows the installer"},
			"slow.example":    {aegir.HealthDown, 0, "no answer within 500ms"},
			"https.example":   {aegir.HealthUp, 301, ""},
		}
		for name, w := range want {
			r, err := store.GetSite(ctx, name)
			must(t, err)
			if r.Health.State != w.state || r.Health.Code != w.code || r.Health.Reason != w.reason || r.Health.CheckedAt == nil || !r.Health.CheckedAt.Equal(now) {
				t.Errorf("%s: health %+v, want %+v", name, r.Health, w)
			}
		}
		for _, n := range []string{"off.example", "none.example"} {
			if r, _ := store.GetSite(ctx, n); r.Health.State != "" {
				t.Errorf("%s was checked: %+v", n, r.Health)
			}
		}
		told.mu.Lock()
		if len(told.got) != 5 {
			t.Errorf("told %v, want the 5 sites down", told.got)
		}
		told.got = nil
		told.mu.Unlock()

		// The next pass tells nothing new; then wp.example comes back.
		_, _, err = h.Check(ctx, now.Add(time.Minute))
		must(t, err)
		mu.Lock()
		broken["wp.example"] = false
		mu.Unlock()
		_, down, err = h.Check(ctx, now.Add(2*time.Minute))
		must(t, err)
		told.mu.Lock()
		defer told.mu.Unlock()
		if down != 4 || len(told.got) != 1 || told.got[0] != "wp.example up" {
			t.Fatalf("down %d, told %v; want 4 and wp.example up", down, told.got)
		}
	})
}

// TestWebAddressIsTheServersHostAndPort: the local server is reached at
// 127.0.0.1, a remote one at its remote_host, on the http_port.
func TestWebAddressIsTheServersHostAndPort(t *testing.T) {
	for _, c := range []struct {
		s    aegir.Server
		want string
	}{
		{aegir.Server{}, "127.0.0.1:80"},
		{aegir.Server{RemoteHost: "localhost", HTTPPort: 8080}, "127.0.0.1:8080"},
		{aegir.Server{RemoteHost: "web1.example.com", HTTPPort: 80}, "web1.example.com:80"},
		{aegir.Server{RemoteHost: "::1", HTTPPort: 81}, "[::1]:81"},
	} {
		if got := schedule.WebAddress(c.s); got != c.want {
			t.Errorf("WebAddress(%+v) = %s, want %s", c.s, got, c.want)
		}
	}
}
