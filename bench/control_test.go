package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/sqlite"
)

// server is a running aegir serve.
type server struct {
	cmd   *exec.Cmd
	url   string
	token string
	http  *http.Client
}

// startServe runs aegir serve on home and returns once the API answers,
// with an admin token made by aegir token create.
func startServe(t *testing.T, home string, args ...string) *server {
	t.Helper()
	port := teststack.FreePort(t)
	cmd := exec.Command(binary(t), append([]string{"serve", "--home", home, "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, args...)...)
	cmd.Env = append(os.Environ(), "AEGIR_HOME="+home, "AEGIR_ALLOW_ROOT=1")
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	s := &server{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), http: &http.Client{Timeout: time.Minute}}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "serving ") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	// serve prints no secret: the admin's token comes from the CLI.
	tokenArgs := []string{"token", "create", "admin", "--home", home}
	if i := slices.Index(args, "--database"); i >= 0 {
		tokenArgs = append(tokenArgs, args[i:i+2]...)
	}
	tc := exec.Command(binary(t), tokenArgs...)
	tc.Env = append(os.Environ(), "AEGIR_HOME="+home, "AEGIR_ALLOW_ROOT=1")
	out, err := tc.Output()
	if s.token = strings.TrimSpace(string(out)); err != nil || s.token == "" {
		t.Fatalf("aegir token create: %v; serve:\n%s", err, stderr.String())
	}
	return s
}

// api requests path and decodes the answer into out; it fails t.
func (s *server) api(t testing.TB, method, path string, body any, out any) {
	t.Helper()
	must(t, s.call(method, path, body, out))
}

// call requests path and decodes the answer into out.
func (s *server) call(method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// rss returns the resident set size of the process, in bytes.
func rss(t testing.TB, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			must(t, err)
			return kb * 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// restingRSS waits for the process to settle and returns its smallest RSS
// once it has stopped falling: the Go runtime returns the memory a burst
// freed to the system in the background, a little at a time, so RSS just
// after a burst says more about the burst than about what the process
// keeps. It samples for at least 3 s, until 5 s without a new low (and at
// most a minute).
func restingRSS(t testing.TB, pid int) int64 {
	t.Helper()
	start := time.Now()
	least, lowAt := rss(t, pid), start
	for now := start; now.Sub(start) < 3*time.Second || (now.Sub(lowAt) < 5*time.Second && now.Sub(start) < time.Minute); now = time.Now() {
		time.Sleep(250 * time.Millisecond)
		if r := rss(t, pid); r < least {
			least, lowAt = r, time.Now()
		}
	}
	return least
}

// heapInUse reads the Go heap in use of serve from its /metrics.
func (s *server) heapInUse(t testing.TB) int64 {
	t.Helper()
	resp, err := s.http.Get(s.url + "/metrics")
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			must(t, err)
			return int64(f)
		}
	}
	t.Fatal("no go_memstats_heap_inuse_bytes in /metrics")
	return 0
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// TestControlPlane is benchmark 5 (but the regeneration figure, which
// TestNginxScale measures): aegir serve on an SQLite store of
// ControlSites site rows made directly (services null): GET /api/sites
// pages, its RSS at rest, and after ControlTasks site verify tasks queued
// through the API (which takes no no-op tasks) and run by its dispatcher.
func TestControlPlane(t *testing.T) {
	need(t)
	home := filepath.Join(teststack.WebDir(t), "aegir")
	must(t, os.MkdirAll(filepath.Join(home, "platforms", "static", "sites"), 0o755))
	store, err := sqlite.Open(background, filepath.Join(home, "hosting.db"))
	must(t, err)
	must(t, store.CreateServer(background, &aegir.ServerRecord{Name: aegir.MasterServer,
		Server: aegir.Server{HTTPServiceType: aegir.ServiceNull, DBServiceType: aegir.ServiceNull}}))
	must(t, store.CreatePlatform(background, &aegir.PlatformRecord{Name: "static",
		Platform: aegir.Platform{Root: filepath.Join(home, "platforms", "static"), WebServer: "@" + aegir.MasterServer}}))
	// Backed up and cron run just now, so that the schedulers have
	// nothing due at once.
	n, now := size.ControlSites, time.Now()
	for i := range n {
		must(t, store.CreateSite(background, &aegir.SiteRecord{Name: siteName(i), Status: aegir.SiteEnabled, LastBackup: &now, LastCron: &now,
			Site: aegir.Site{URI: siteName(i), Platform: "@static", Aliases: []string{"www." + siteName(i)}, Status: aegir.SiteEnabled}}))
	}
	must(t, store.Close())

	srv := startServe(t, home)
	pid := srv.cmd.Process.Pid
	started := restingRSS(t, pid)

	// Pages of 50 sites, anywhere in the list, and searches.
	const perPage = 50
	pages := n / perPage
	var lat []time.Duration
	for i := range size.APIRequests {
		path := fmt.Sprintf("/api/sites?page=%d&per_page=%d", 1+rand.IntN(pages), perPage)
		if i%5 == 4 {
			path = fmt.Sprintf("/api/sites?q=s%03d&per_page=%d", rand.IntN(n/10), perPage)
		}
		var page struct {
			Sites []map[string]any `json:"sites"`
			Total int              `json:"total"`
		}
		lat = append(lat, timed(func() { srv.api(t, "GET", path, nil, &page) }))
		if i%5 != 4 && (len(page.Sites) != perPage || page.Total != n) {
			t.Fatalf("GET %s: %d sites of %d, want %d of %d", path, len(page.Sites), page.Total, perPage, n)
		}
	}
	p50, p95 := percentile(lat, 50), percentile(lat, 95)
	// The site list page of the web UI, logged in as the admin.
	const password = "bench-Passw0rd-of-the-admin"
	srv.api(t, "PATCH", "/api/users/admin", map[string]any{"password": password}, nil)
	browser := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(srv.url+"/login", url.Values{"name": {"admin"}, "password": {password}})
	must(t, err)
	resp.Body.Close()
	if len(resp.Cookies()) == 0 {
		t.Fatalf("login: %s, no session cookie", resp.Status)
	}
	cookies := resp.Cookies()
	var pageLat []time.Duration
	for i := range size.APIRequests {
		path := fmt.Sprintf("/sites?page=%d", 1+rand.IntN(pages))
		if i%5 == 4 {
			path = fmt.Sprintf("/sites?q=s%03d", rand.IntN(n/10))
		}
		req, err := http.NewRequest("GET", srv.url+path, nil)
		must(t, err)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		pageLat = append(pageLat, timed(func() {
			resp, err := browser.Do(req)
			must(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || (i%5 != 4 && !bytes.Contains(body, []byte(".example"))) {
				t.Fatalf("GET %s: %s\n%.300s", path, resp.Status, body)
			}
		}))
	}
	pageGet := func(path string) time.Duration {
		req, err := http.NewRequest("GET", srv.url+path, nil)
		must(t, err)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return timed(func() {
			resp, err := browser.Do(req)
			must(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`id="sites-by-status"`)) {
				t.Fatalf("GET %s: %s\n%.300s", path, resp.Status, body)
			}
		})
	}
	dashboard := func() (p50, p95 time.Duration) {
		var lat []time.Duration
		for range size.APIRequests / 5 {
			lat = append(lat, pageGet("/"))
		}
		return percentile(lat, 50), percentile(lat, 95)
	}
	dash50, dash95 := dashboard()
	report(figure{Bench: "5 control plane", Name: fmt.Sprintf("site list page of the web UI, %d sites: p50 / p95", n),
		Value: ms(percentile(pageLat, 50)) + " / " + ms(percentile(pageLat, 95)), Target: "p95 ≤ 50 ms", Result: atMost(percentile(pageLat, 95).Seconds(), 0.050),
		Note: "the API's target; GET /sites as the logged-in admin, random pages and one in five a search"})

	// Verify tasks through the API, four clients at a time, until the
	// store has recorded done of them in all.
	queued := 0
	runTasks := func(count int) time.Duration {
		t.Helper()
		var wg sync.WaitGroup
		next := make(chan int)
		errs := make(chan error, count)
		for range 4 {
			wg.Go(func() {
				for i := range next {
					if err := srv.call("POST", "/api/sites/"+siteName(i%n)+"/tasks", map[string]any{"type": "verify"}, nil); err != nil {
						errs <- err
					}
				}
			})
		}
		start := time.Now()
		for i := range count {
			next <- queued + i
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		queued += count
		for {
			var list struct {
				Total int `json:"total"`
			}
			done := 0
			for _, status := range []string{aegir.StatusSuccess, aegir.StatusWarning, aegir.StatusFailed} {
				srv.api(t, "GET", "/api/tasks?type=verify&per_page=1&status="+status, nil, &list)
				if status != aegir.StatusSuccess && list.Total > 0 {
					t.Fatalf("%d verify tasks ended %s", list.Total, status)
				}
				done += list.Total
			}
			if done >= queued {
				return time.Since(start)
			}
			if time.Since(start) > 10*time.Minute {
				t.Fatalf("%d of %d tasks done after 10 minutes", done, queued)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// At rest: idle, after it has served its pages and run a first tenth
	// of the tasks (as a server at rest has: its caches, SQLite's page
	// caches above all, are warm and bounded; what grows after is what
	// the tasks leave behind).
	warmUp := size.ControlTasks / 10
	runTasks(warmUp)
	atRest := restingRSS(t, pid)
	if os.Getenv("AEGIR_BENCH_DEBUG") != "" {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		t.Logf("at rest:\n%s", data)
	}
	heapAtRest := srv.heapInUse(t)
	report(figure{Bench: "5 control plane", Name: fmt.Sprintf("GET /api/sites page of %d, %d sites: p50", perPage, n),
		Value: ms(p50), Result: info, Note: fmt.Sprintf("%d requests, one at a time: random pages, and one in five a search", size.APIRequests)})
	report(figure{Bench: "5 control plane", Name: fmt.Sprintf("GET /api/sites page of %d, %d sites: p95", perPage, n),
		Value: ms(p95), Target: "≤ 50 ms", Result: atMost(p95.Seconds(), 0.050)})
	report(figure{Bench: "5 control plane", Name: fmt.Sprintf("aegir serve RSS at rest, %d sites", n),
		Value: mb(atRest), Target: "≤ 150 MB", Result: atMost(float64(atRest), 150<<20),
		Note: fmt.Sprintf("idle after the requests above and %d verify tasks (%s just after start); the least VmRSS once it stops falling (the runtime returns freed memory to the system gradually)", warmUp, mb(started))})

	tasks := size.ControlTasks
	took := runTasks(tasks)
	// The dashboard again, with the tasks' history of the last day to sum.
	dashAfter50, dashAfter95 := dashboard()
	after := restingRSS(t, pid)
	if os.Getenv("AEGIR_BENCH_DEBUG") != "" {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		t.Logf("after the tasks:\n%s", data)
	}
	heapAfter := srv.heapInUse(t)
	growth := float64(after-atRest) / float64(atRest)
	report(figure{Bench: "5 control plane", Name: fmt.Sprintf("aegir serve RSS growth after %d tasks", tasks),
		Value: fmt.Sprintf("%+.1f%% (%s)", 100*growth, mb(after)), Target: "≤ +10%", Result: atMost(growth, 0.10),
		Note: fmt.Sprintf("%d site verify tasks (static app, null services) queued through the API by 4 clients and run by its dispatcher (default workers), %s (%.0f tasks/s end to end); Go heap in use %s at rest, %s after", tasks, secs(took.Seconds()), float64(tasks)/took.Seconds(), mb(heapAtRest), mb(heapAfter))})
	report(figure{Bench: "5 control plane", Name: fmt.Sprintf("dashboard of the web UI, %d sites: p50 / p95", n),
		Value: ms(dash50) + " / " + ms(dash95), Target: "p95 ≤ 100 ms", Result: atMost(dash95.Seconds(), 0.100),
		Note: fmt.Sprintf("GET / as the logged-in admin, %d requests: sites by status and down, tasks, disk use per server, the day's task chart", size.APIRequests/5)})
	report(figure{Bench: "5 control plane", Name: fmt.Sprintf("dashboard of the web UI, %d sites, after %d tasks: p50 / p95", n, tasks+warmUp),
		Value: ms(dashAfter50) + " / " + ms(dashAfter95), Target: "p95 ≤ 100 ms", Result: atMost(dashAfter95.Seconds(), 0.100)})
}
