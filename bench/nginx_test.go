package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/dispatch"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// nginxStack is a private nginx, an $AEGIR_HOME whose server_master drives
// it (nginx http service, null db service) and a static platform.
type nginxStack struct {
	ng       *teststack.Nginx
	port     int
	home     string
	server   aegir.Server
	root     string // the static platform
	client   *http.Client
	vhostDir string
}

func newNginxStack(t *testing.T) *nginxStack {
	t.Helper()
	ng := teststack.StartNginx(t)
	s := &nginxStack{ng: ng, port: teststack.FreePort(t), home: filepath.Join(teststack.WebDir(t), "aegir")}
	s.server = aegir.Server{
		HTTPServiceType: aegir.ServiceNginx, HTTPPort: s.port,
		HTTPTestCmd: ng.TestCmd(), HTTPRestartCmd: ng.ReloadCmd(), HTTPConfLink: filepath.Join(ng.ConfD, "aegir.conf"),
		PHPFPMSocket: "/run/php/php8.2-fpm.sock", DBServiceType: aegir.ServiceNull, WebGroup: "www-data",
	}
	s.server.Defaults()
	s.root = filepath.Join(s.home, "platforms", "static")
	must(t, os.MkdirAll(filepath.Join(s.root, "sites"), 0o755))
	must(t, os.WriteFile(filepath.Join(s.root, "index.html"), []byte("<p>static</p>\n"), 0o644))
	s.client = teststack.HostClient(s.port)
	s.vhostDir = filepath.Join(s.home, "config", aegir.MasterServer, "nginx", "vhost.d")
	return s
}

// service returns a new nginx service of server_master with its own log,
// as each task builds its own.
func (s *nginxStack) service(t testing.TB) aegir.HTTPService {
	t.Helper()
	server := s.server
	svc, err := aegir.NewHTTPService(&server, aegir.MasterServer,
		aegir.Env{Paths: aegir.Paths{Home: s.home}, Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)})
	must(t, err)
	return svc
}

// nginx runs nginx on the stack's instance with args.
func (s *nginxStack) nginx(t testing.TB, args ...string) string {
	t.Helper()
	cmd := append(s.ng.TestCmd()[1:len(s.ng.TestCmd())-1], args...)
	return run(t, nil, "nginx", cmd...)
}

// nginxArgs are the arguments that select the stack's nginx instance.
func (s *nginxStack) nginxArgs() []string { return s.ng.TestCmd()[1 : len(s.ng.TestCmd())-1] }

// pidFile is the pid file of the nginx instance's master, which the peers
// signal to reload, as aegir's driver does.
func (s *nginxStack) pidFile() string { return filepath.Join(s.ng.Dir, "nginx.pid") }

func (s *nginxStack) url(site string) string { return fmt.Sprintf("http://%s:%d/", site, s.port) }

// reset removes every vhost and reloads, until site no longer answers.
func (s *nginxStack) reset(t testing.TB, site string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.vhostDir, "*.conf"))
	for _, f := range files {
		must(t, os.Remove(f))
	}
	s.nginx(t, "-s", "reload")
	waitAnswer(t, s.client, s.url(site), 404, time.Minute)
}

// script runs one of scripts/ with the staging and vhost directories and
// the nginx instance's arguments, then waits until site answers: what the
// peer takes until its last vhost is live.
func (s *nginxStack) script(t testing.TB, name, staging, site string) time.Duration {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("scripts", name))
	must(t, err)
	return timed(func() {
		run(t, []string{"NGINX_PID=" + s.pidFile()}, script, append([]string{staging, s.vhostDir}, s.nginxArgs()...)...)
		s.waitLive(t, site)
	})
}

// waitLive waits until site answers and nginx runs one generation of
// workers, the reload's: what aegir's driver waits for before a task goes
// on, since until then an old worker may answer with the old
// configuration. (nginx itself waits 100 ms after starting the new workers
// before it tells the old ones to leave.)
func (s *nginxStack) waitLive(t testing.TB, site string) {
	t.Helper()
	waitAnswer(t, s.client, s.url(site), 200, time.Minute)
	data, err := os.ReadFile(filepath.Join(s.ng.Dir, "nginx.pid"))
	must(t, err)
	master, err := strconv.Atoi(strings.TrimSpace(string(data)))
	must(t, err)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if len(children(master)) <= 1 {
			return
		}
	}
	t.Fatal("old nginx workers still run a minute after the reload")
}

// children lists the live (not zombie) processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(data), ')')
		fields := strings.Fields(string(data[i+1:]))
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// stage copies the vhosts aegir wrote into a new directory, for the peers.
func (s *nginxStack) stage(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(s.vhostDir, "*.conf"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600))
	}
	return dir
}

func siteName(i int) string { return fmt.Sprintf("s%05d.example", i) }

// TestVerifyAtScale is benchmark 2: N sites on nginx (static platform,
// null db) verified through the queue, against the naive serial peer (a
// shell loop that writes each vhost, tests and reloads) and the floor
// (write every vhost, one nginx -t, one reload), each timed until its last
// vhost answers.
func TestVerifyAtScale(t *testing.T) {
	need(t)
	n := size.VerifySites
	s := newNginxStack(t)
	store := openSQLite(t)
	backend := newBackend(t, s.home)
	must(t, store.CreateServer(background, &aegir.ServerRecord{Name: aegir.MasterServer, Server: s.server}))
	must(t, store.CreatePlatform(background, &aegir.PlatformRecord{Name: "static",
		Platform: aegir.Platform{Root: s.root, WebServer: "@" + aegir.MasterServer}}))
	var sites []*aegir.SiteRecord
	for i := range n {
		r := &aegir.SiteRecord{Name: siteName(i), Status: aegir.SiteEnabled,
			Site: aegir.Site{URI: siteName(i), Platform: "@static", Aliases: []string{"www." + siteName(i)}, Status: aegir.SiteEnabled}}
		must(t, store.CreateSite(background, r))
		sites = append(sites, r)
	}
	counted := &countingStore{Store: store}
	d := startDispatcher(t, counted, backend, size.VerifyWorkers)
	must(t, store.EnqueueTask(background, dispatch.ServerTask("verify", aegir.MasterServer, nil)))
	d.wait(t, store, 1, time.Minute)
	must(t, store.EnqueueTask(background, dispatch.PlatformTask("verify", "static", nil)))
	d.wait(t, store, 1, time.Minute)
	last := siteName(n - 1)
	verify := func() {
		for _, r := range sites {
			must(t, store.EnqueueTask(background, dispatch.SiteTask("verify", r, nil)))
		}
		d.wait(t, store, n, 30*time.Minute)
	}
	// The sites are set up first, as installed sites are: their contexts
	// and directories exist (a first verify creates them). What is timed
	// is a verify of every site from an empty vhost.d, as the peers start.
	verify()
	counted.writes.Store(0)
	_, err := store.PruneTasks(background, time.Now().Add(time.Hour))
	must(t, err)

	var batches string
	var writes int64
	var ours, naive, floor []float64
	var ratioNaive, ratioFloor []float64
	for i := range size.ExpensiveRuns {
		s.reset(t, last)
		var took time.Duration
		if i == 0 {
			profile(t, "verify", func() { took = timed(verify) })
		} else {
			took = timed(verify)
		}
		// Each task returned once its vhost was live.
		waitAnswer(t, s.client, s.url(last), 200, 0)
		if i == 0 {
			writes = counted.writes.Load()
			batches = reloadBatches(t, store)
			if os.Getenv("AEGIR_BENCH_DEBUG") != "" {
				timeline(t, store)
			}
		}
		staging := s.stage(t)
		if got := len(mustGlob(t, filepath.Join(staging, "*.conf"))); got != n {
			t.Fatalf("%d vhosts written for %d sites", got, n)
		}

		s.reset(t, last)
		f := s.script(t, "floor-verify.sh", staging, last)
		nv := time.Duration(0)
		if !size.SkipNaive {
			s.reset(t, last)
			nv = s.script(t, "naive-verify.sh", staging, last)
		}

		ours, floor, naive = append(ours, took.Seconds()), append(floor, f.Seconds()), append(naive, nv.Seconds())
		ratioNaive = append(ratioNaive, took.Seconds()/nv.Seconds())
		ratioFloor = append(ratioFloor, took.Seconds()/f.Seconds())
	}
	workers := fmt.Sprintf("%d dispatcher workers", size.VerifyWorkers)
	if size.VerifyWorkers == 0 {
		workers = fmt.Sprintf("%d dispatcher workers (the default, eight per CPU; a task waiting for its reload leaves its worker to another)", dispatch.DefaultWorkers())
	}
	note := fmt.Sprintf("aegir %s (%.0f sites/s, %s, %s, %.1f store writes per task), naive %s, floor %s",
		secs(median(ours)), float64(n)/median(ours), workers, batches, float64(writes)/float64(n), secs(median(naive)), secs(median(floor)))
	if size.SkipNaive {
		report(figure{Bench: "2 verify at scale", Name: fmt.Sprintf("verify %d nginx sites through the queue / naive serial loop", n),
			Value: "skipped", Target: "≤ 0.05×", Result: info, Note: note + " (AEGIR_BENCH_NAIVE=0)"})
	} else {
		report(figure{Bench: "2 verify at scale", Name: fmt.Sprintf("verify %d nginx sites through the queue / naive serial loop", n),
			Value: fmt.Sprintf("%.3f×", median(ratioNaive)), Target: "≤ 0.05×", Result: atMost(median(ratioNaive), 0.05), Note: note})
	}
	report(figure{Bench: "2 verify at scale", Name: fmt.Sprintf("verify %d nginx sites through the queue / floor", n),
		Value: fmt.Sprintf("%.2f×", median(ratioFloor)), Target: "≤ 2×", Result: atMost(median(ratioFloor), 2)})

}

// reloadBatches reads the logs of the site verify tasks and says how many
// reloads made their vhosts live, and the largest batch.
func reloadBatches(t testing.TB, store aegir.Store) string {
	t.Helper()
	reloads, largest := map[string]bool{}, 0
	for page := 1; ; page++ {
		tasks, _, err := store.ListTasks(background, aegir.TaskFilter{Type: "verify", Page: page, PerPage: aegir.MaxPerPage})
		must(t, err)
		for _, task := range tasks {
			if task.ObjectType != aegir.SiteContext {
				continue
			}
			entries, err := store.TaskLog(background, task.ID, 0)
			must(t, err)
			for _, e := range entries {
				if !strings.HasPrefix(e.Message, "reloaded nginx") {
					continue
				}
				// Tasks of one batch log the same message at the same time.
				reloads[e.Time.Format(time.RFC3339Nano)[:22]+e.Message] = true
				var k int
				if _, err := fmt.Sscanf(e.Message[strings.LastIndex(e.Message, "once for ")+9:], "%d", &k); err == nil {
					largest = max(largest, k)
				}
			}
		}
		if len(tasks) < aegir.MaxPerPage {
			break
		}
	}
	return fmt.Sprintf("about %d reloads, the largest for %d sites", len(reloads), max(largest, 1))
}

// countingStore counts the write transactions the dispatcher makes.
type countingStore struct {
	aegir.Store
	writes atomic.Int64
}

func (c *countingStore) ClaimTask(ctx context.Context, worker string) (*aegir.Task, error) {
	c.writes.Add(1)
	return c.Store.ClaimTask(ctx, worker)
}

func (c *countingStore) AppendTaskLog(ctx context.Context, id int64, entries ...aegir.LogEntry) error {
	c.writes.Add(1)
	return c.Store.AppendTaskLog(ctx, id, entries...)
}

func (c *countingStore) FinishTask(ctx context.Context, id int64, status string, data map[string]any) error {
	c.writes.Add(1)
	return c.Store.FinishTask(ctx, id, status, data)
}

func (c *countingStore) UpdateSite(ctx context.Context, r *aegir.SiteRecord) error {
	c.writes.Add(1)
	return c.Store.UpdateSite(ctx, r)
}

func (c *countingStore) SetSitePackages(ctx context.Context, site string, pkgs []aegir.Package) error {
	c.writes.Add(1)
	return c.Store.SetSitePackages(ctx, site, pkgs)
}

func mustGlob(t testing.TB, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	must(t, err)
	return m
}

// writeAll calls WriteSite for every vhost at once, each from its own
// goroutine and service, as the tasks of the dispatcher do.
func (s *nginxStack) writeAll(t *testing.T, service func(testing.TB) aegir.HTTPService, vhosts []*aegir.Vhost) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(vhosts))
	for _, v := range vhosts {
		svc := service(t)
		wg.Go(func() {
			if _, err := svc.WriteSite(background, v); err != nil {
				errs <- fmt.Errorf("%s: %w", v.URI, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestNginxScale is benchmark 6, with the regeneration figure of
// benchmark 5: nginx with N vhosts (each with an alias): nginx -t must be
// clean (no warning about the server names hash), and how long nginx -t
// and a reload (until a new vhost answers) take. Then every vhost is
// regenerated from the front end's site records (read page by page,
// written through the nginx driver at once, as many tasks would), against
// the floor of writing them all with one test and one reload.
func TestNginxScale(t *testing.T) {
	need(t)
	n := size.NginxVhosts
	s := newNginxStack(t)
	must(t, s.service(t).VerifyServer(background))
	store := openSQLite(t)
	must(t, store.CreateServer(background, &aegir.ServerRecord{Name: aegir.MasterServer, Server: s.server}))
	must(t, store.CreatePlatform(background, &aegir.PlatformRecord{Name: "static",
		Platform: aegir.Platform{Root: s.root, WebServer: "@" + aegir.MasterServer}}))
	for i := range n {
		must(t, store.CreateSite(background, &aegir.SiteRecord{Name: siteName(i), Status: aegir.SiteEnabled,
			Site: aegir.Site{URI: siteName(i), Platform: "@static", Aliases: []string{"www." + siteName(i)}, Status: aegir.SiteEnabled}}))
	}
	// vhosts reads every site record and returns its vhost; generation
	// changes the content, as a new template would.
	vhosts := func(generation int) []*aegir.Vhost {
		var out []*aegir.Vhost
		for page := 1; ; page++ {
			list, _, err := store.ListSites(background, aegir.SiteFilter{Page: page, PerPage: aegir.MaxPerPage})
			must(t, err)
			for _, r := range list {
				params := append((*aegir.DBCredentials)(nil).Params(), aegir.Param{Name: "AEGIR_GENERATION", Value: fmt.Sprint(generation)})
				out = append(out, &aegir.Vhost{URI: r.Site.URI, Aliases: r.Site.Aliases, Root: s.root, App: "static", Params: params})
			}
			if len(list) < aegir.MaxPerPage {
				return out
			}
		}
	}
	create := timed(func() { s.writeAll(t, s.service, vhosts(1)) })
	last := siteName(n - 1)
	waitAnswer(t, s.client, s.url(last), 200, 0)
	report(figure{Bench: "6 nginx", Name: fmt.Sprintf("create %d vhosts through the driver at once", n), Value: secs(create.Seconds()), Result: info})

	// nginx -t: clean, and how long.
	var tests, reloads []float64
	for range size.Runs {
		var out []byte
		took := timed(func() {
			var err error
			out, err = exec.Command("nginx", append(s.nginxArgs(), "-t")...).CombinedOutput()
			must(t, err)
		})
		if strings.Contains(string(out), "[warn]") || strings.Contains(string(out), "[emerg]") {
			report(figure{Bench: "6 nginx", Name: fmt.Sprintf("nginx -t with %d vhosts and %d names is clean", n, 2*n),
				Value: "warnings", Target: "clean", Result: short, Note: strings.TrimSpace(string(out))})
			t.Fatalf("nginx -t:\n%s", out)
		}
		tests = append(tests, took.Seconds())
	}
	report(figure{Bench: "6 nginx", Name: fmt.Sprintf("nginx -t with %d vhosts and %d names is clean", n, 2*n),
		Value: "clean", Target: "clean", Result: pass, Note: "server_names_hash_bucket_size 128, server_names_hash_max_size 32768 in the server file"})
	// A reload, until a vhost it brings answers.
	staging := s.stage(t)
	var hups []float64
	for i := range 2 * size.Runs {
		probe := fmt.Sprintf("reload%d.example", i)
		data, err := os.ReadFile(filepath.Join(staging, last+".conf"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(s.vhostDir, probe+".conf"), []byte(strings.ReplaceAll(string(data), last, probe)), 0o600))
		took := timed(func() {
			if i%2 == 0 {
				s.nginx(t, "-s", "reload")
			} else {
				pid, err := os.ReadFile(s.pidFile())
				must(t, err)
				run(t, nil, "kill", "-HUP", strings.TrimSpace(string(pid)))
			}
			s.waitLive(t, probe)
		})
		if i%2 == 0 {
			reloads = append(reloads, took.Seconds())
		} else {
			hups = append(hups, took.Seconds())
		}
		must(t, os.Remove(filepath.Join(s.vhostDir, probe+".conf")))
	}
	report(figure{Bench: "6 nginx", Name: fmt.Sprintf("nginx -t with %d vhosts", n), Value: secs(median(tests)), Result: info,
		Note: fmt.Sprintf("median of %d", size.Runs)})
	report(figure{Bench: "6 nginx", Name: fmt.Sprintf("nginx -s reload with %d vhosts, until live", n), Value: secs(median(reloads)), Result: info,
		Note: fmt.Sprintf("median of %d; until a vhost it adds answers and the old workers are gone; nginx -s reload parses the whole configuration to find the master's pid", size.Runs)})
	report(figure{Bench: "6 nginx", Name: fmt.Sprintf("HUP to the master with %d vhosts, until live", n), Value: secs(median(hups)), Result: info,
		Note: fmt.Sprintf("median of %d; how aegir's nginx driver reloads (start-stop-daemon --signal HUP --pidfile), alternated with the line above", size.Runs)})

	// Regeneration from the records until live, against the floor.
	var regen, floor []float64
	for i := range size.ExpensiveRuns {
		took := timed(func() { s.writeAll(t, s.service, vhosts(2+i)) })
		waitAnswer(t, s.client, s.url(last), 200, 0)
		staging := s.stage(t)
		f := timed(func() {
			run(t, []string{"NGINX_PID=" + s.pidFile()}, mustAbs(t, "scripts/floor-verify.sh"), append([]string{staging, s.vhostDir}, s.nginxArgs()...)...)
			s.waitLive(t, last)
		})
		regen, floor = append(regen, took.Seconds()), append(floor, f.Seconds())
	}
	report(figure{Bench: "6 nginx", Name: fmt.Sprintf("regenerate all %d vhosts until live / floor", n),
		Value: fmt.Sprintf("%.2f×", median(regen)/median(floor)), Result: info,
		Note: fmt.Sprintf("aegir %s: every WriteSite at once through the driver, coalesced; floor %s: write all, nginx -t, reload, until live",
			secs(median(regen)), secs(median(floor)))})

	// Aegir's own share of a regeneration: the same, with nginx's test and
	// reload (measured above) taken out, as on a server whose commands are
	// no-ops.
	quiet := s.server
	quiet.HTTPTestCmd, quiet.HTTPRestartCmd, quiet.RemoteHost = []string{"true"}, []string{"true"}, "web1.example"
	service := func(t testing.TB) aegir.HTTPService {
		t.Helper()
		q := quiet
		svc, err := aegir.NewHTTPService(&q, aegir.MasterServer,
			aegir.Env{Paths: aegir.Paths{Home: s.home}, Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)})
		must(t, err)
		return svc
	}
	var share []float64
	for i := range size.Runs {
		fn := func() { share = append(share, timed(func() { s.writeAll(t, service, vhosts(10+i)) }).Seconds()) }
		if i == 0 {
			profile(t, "regenerate", fn)
		} else {
			fn()
		}
	}
	report(figure{Bench: "5 control plane", Name: fmt.Sprintf("regenerate all %d vhosts from the site records", n),
		Value: secs(median(share)), Target: "≤ 5 s", Result: atMost(median(share), 5),
		Note: fmt.Sprintf("median of %d; rows read page by page, rendered and written through the driver at once, nginx's own test and reload (above) taken out", size.Runs)})
}

func mustAbs(t testing.TB, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	must(t, err)
	return p
}

// timeline prints when the site tasks were claimed and finished (DEBUG).
func timeline(t testing.TB, store aegir.Store) {
	var starts, ends []time.Duration
	var first time.Time
	var all []*aegir.Task
	for page := 1; ; page++ {
		tasks, _, err := store.ListTasks(background, aegir.TaskFilter{Type: "verify", Page: page, PerPage: aegir.MaxPerPage})
		must(t, err)
		for _, task := range tasks {
			if task.ObjectType == aegir.SiteContext {
				all = append(all, task)
				if first.IsZero() || task.CreatedAt.Before(first) {
					first = task.CreatedAt
				}
			}
		}
		if len(tasks) < aegir.MaxPerPage {
			break
		}
	}
	for _, task := range all {
		starts = append(starts, task.StartedAt.Sub(first))
		ends = append(ends, task.FinishedAt.Sub(first))
	}
	for _, p := range []float64{1, 10, 25, 50, 75, 90, 99, 100} {
		fmt.Printf("  p%-3.0f claimed %8s finished %8s\n", p, percentile(starts, p).Round(time.Millisecond), percentile(ends, p).Round(time.Millisecond))
	}
}
