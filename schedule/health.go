package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Defaults of the health checks.
const (
	DefaultHealthInterval    = 5 * time.Minute
	DefaultHealthTimeout     = 10 * time.Second
	DefaultHealthConcurrency = 16
)

// HealthAlerter is told when a site goes down or comes back up; the alert
// package's Notifier is one.
type HealthAlerter interface {
	SiteHealthChanged(ctx context.Context, r *aegir.SiteRecord, h aegir.SiteHealth) error
}

// Health checks every enabled site on a schedule: a GET of "/" from the
// front end's process to the site's web server (its remote_host, or
// 127.0.0.1 for the local one, on its http_port) with the site's Host, so
// it checks that web server's answer whatever DNS says. It follows no
// redirect. A site is down when no answer comes within Timeout, when it
// answers 5xx, or when it sends its visitors to an installer (a site whose
// database is gone or empty: WordPress's wp-admin/install.php, Drupal's
// install.php, MediaWiki's mw-config); otherwise it is up. Each check is
// recorded on the site; a change of state is told to Alerter. A check
// changes nothing on the site, so it is no back-end task.
type Health struct {
	Store   aegir.Store
	Alerter HealthAlerter // nil tells no one
	// Interval is the time between passes; zero is five minutes.
	Interval time.Duration
	// Timeout bounds each request; zero is ten seconds.
	Timeout time.Duration
	// Concurrency is how many sites are checked at once; zero is 16.
	Concurrency int
	// HTTP makes the requests; nil is a client that follows no redirect.
	HTTP   *http.Client
	Clock  Clock
	Logger *slog.Logger
}

// Run checks every enabled site at start and every Interval until ctx
// ends; it returns nil.
func (h *Health) Run(ctx context.Context) error {
	log := loggerOr(h.Logger).With("scheduler", "health")
	every := h.Interval
	if every <= 0 {
		every = DefaultHealthInterval
	}
	return loop(ctx, clockOr(h.Clock), every, log, true, func(ctx context.Context, now time.Time) error {
		n, down, err := h.Check(ctx, now)
		log.Debug("checked site health", "sites", n, "down", down)
		return err
	})
}

func (h *Health) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultHealthTimeout
}

func (h *Health) client() *http.Client {
	if h.HTTP != nil {
		return h.HTTP
	}
	return &http.Client{
		Timeout:       h.timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// Many sites on few web servers: keep a few connections to each.
		Transport: &http.Transport{MaxIdleConnsPerHost: DefaultHealthConcurrency, DisableCompression: true,
			ResponseHeaderTimeout: h.timeout()},
	}
}

// Check checks every enabled site once, at most Concurrency at a time,
// and returns how many it checked and how many are down. An error on one
// site does not stop the others; errors (of the store or the alerter,
// not of the sites, which are their health) are returned together.
func (h *Health) Check(ctx context.Context, now time.Time) (checked, down int, err error) {
	workers := h.Concurrency
	if workers <= 0 {
		workers = DefaultHealthConcurrency
	}
	client := h.client()
	type job struct {
		site *aegir.SiteRecord
		addr string
	}
	sites := make(chan job)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range sites {
				r := j.site
				health, err := h.checkSite(ctx, client, j.addr, r, now)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("site @%s: %w", r.Name, err))
				case health.State != "": // "": not checked
					checked++
					if health.State == aegir.HealthDown {
						down++
					}
				}
				mu.Unlock()
			}
		}()
	}
	// Platform by platform, so that the sites of a server without a web
	// server are not even read.
	err = h.eachPlatform(ctx, func(platform, addr string) error {
		return eachSite(ctx, h.Store, aegir.SiteFilter{Status: aegir.SiteEnabled, Platform: platform}, func(r *aegir.SiteRecord) error {
			select {
			case sites <- job{r, addr}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	close(sites)
	wg.Wait()
	return checked, down, errors.Join(append(errs, err)...)
}

// checkSite checks one site, records the result and tells the alerter of
// a change.
func (h *Health) checkSite(ctx context.Context, client *http.Client, addr string, r *aegir.SiteRecord, now time.Time) (aegir.SiteHealth, error) {
	health := Probe(ctx, client, addr, r.Name)
	at := now
	health.CheckedAt = &at
	if err := h.Store.SetSiteHealth(ctx, r.Name, health); err != nil {
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			return aegir.SiteHealth{}, nil // deleted during the pass: not checked
		}
		return health, err
	}
	changed := health.State != r.Health.State && (health.State == aegir.HealthDown || r.Health.State == aegir.HealthDown)
	if changed && h.Alerter != nil {
		if err := h.Alerter.SiteHealthChanged(ctx, r, health); err != nil {
			return health, fmt.Errorf("alert: %w", err)
		}
	}
	return health, nil
}

// installerPaths are where an app sends visitors when it finds no
// installed site: a site in that state has lost its database.
var installerPaths = []string{"/wp-admin/install.php", "/install.php", "/core/install.php", "/mw-config"}

// installerMarkers are in the page an app shows instead of a redirect:
// MediaWiki without its LocalSettings.php links to its installer.
var installerMarkers = []string{"mw-config/index.php", "wp-admin/install.php", "core/install.php"}

// Probe asks the web server at addr (host:port) for "/" of site, with the
// Host a browser sends, and says what its answer means.
func Probe(ctx context.Context, client *http.Client, addr, site string) aegir.SiteHealth {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return aegir.SiteHealth{State: aegir.HealthDown, Reason: err.Error()}
	}
	// A browser sends the port when it is not HTTP's: so does the check,
	// or an app redirects it to its canonical address.
	req.Host = site
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "80" {
		req.Host = net.JoinHostPort(site, port)
	}
	req.Header.Set("User-Agent", "aegir-health-check")
	resp, err := client.Do(req)
	if err != nil {
		h := aegir.SiteHealth{State: aegir.HealthDown, Millis: time.Since(start).Milliseconds(), Reason: "no answer: " + err.Error()}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			h.Reason = "no answer within " + client.Timeout.String()
		}
		return h
	}
	defer resp.Body.Close()
	// Only the start of a page can be an installer's notice.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	h := aegir.SiteHealth{State: aegir.HealthUp, Code: resp.StatusCode, Millis: time.Since(start).Milliseconds()}
	switch {
	case resp.StatusCode >= 500:
		h.State, h.Reason = aegir.HealthDown, "answered "+strconv.Itoa(resp.StatusCode)
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && installerLocation(resp.Header.Get("Location")):
		h.State, h.Reason = aegir.HealthDown, "sends visitors to the installer ("+resp.Header.Get("Location")+")"
	case resp.StatusCode < 300 && installerPage(string(head)):
		h.State, h.Reason = aegir.HealthDown, "shows the installer"
	}
	return h
}

func installerLocation(loc string) bool {
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		loc = loc[:i]
	}
	for _, p := range installerPaths {
		if strings.HasSuffix(loc, p) || strings.Contains(loc, p+"/") {
			return true
		}
	}
	return false
}

func installerPage(body string) bool {
	for _, m := range installerMarkers {
		if strings.Contains(body, m) {
			return true
		}
	}
	return false
}

// eachPlatform calls fn with each platform whose web server serves sites
// (its http service is not null) and that server's address.
func (h *Health) eachPlatform(ctx context.Context, fn func(platform, addr string) error) error {
	addrs := map[string]string{} // web server → address, "" for none
	for page := 1; ; page++ {
		list, _, err := h.Store.ListPlatforms(ctx, aegir.ListFilter{Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return err
		}
		for _, p := range list {
			pl := p.Platform
			pl.Defaults()
			server := aegir.ContextName(pl.WebServer)
			addr, ok := addrs[server]
			if !ok {
				s, err := h.Store.GetServer(ctx, server)
				if err != nil {
					return err
				}
				if s.Server.HTTPServiceType != aegir.ServiceNull {
					addr = WebAddress(s.Server)
				}
				addrs[server] = addr
			}
			if addr == "" {
				continue
			}
			if err := fn(p.Name, addr); err != nil {
				return err
			}
		}
		if len(list) < aegir.MaxPerPage {
			return nil
		}
	}
}

// WebAddress is where a server's web server answers plain HTTP: its
// remote_host (127.0.0.1 for the local one) and http_port.
func WebAddress(s aegir.Server) string {
	s.Defaults()
	host := s.RemoteHost
	if host == "localhost" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(s.HTTPPort))
}
