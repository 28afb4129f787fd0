package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sizes are the sizes of one mode of the benchmarks.
type sizes struct {
	DispatchTasks  int  // no-op tasks through the queue, per run
	LatencyTasks   int  // tasks enqueued at LatencyRate for the latency figures
	LatencyRate    int  // tasks per second
	VerifySites    int  // sites verified through the queue
	VerifyWorkers  int  // dispatcher workers of the verify benchmark (0: the default, eight per CPU)
	BackupUploads  int  // MB of uploads of the backed-up site
	BackupDB       int  // MB of rows in its database
	MigrateSites   int  // WordPress sites moved by one batch migrate
	ControlSites   int  // site rows of the control-plane benchmark
	ControlTasks   int  // no-op tasks run through aegir serve
	NginxVhosts    int  // vhosts of the nginx benchmark and the regeneration
	Runs           int  // runs of each cheap measurement, of which the median is kept
	ExpensiveRuns  int  // runs of each expensive measurement
	APIRequests    int  // GET /api/sites requests
	NaiveSitesFrac int  // the naive peer runs VerifySites/NaiveSitesFrac sites, scaled up (1: all)
	CrashKills     int  // kill -9 trials of each task that changes a site, beside the one that measures it
	SkipNaive      bool // AEGIR_BENCH_NAIVE=0: benchmark 2 leaves out its naive peer (minutes at 1,000 sites)
}

var modes = map[string]sizes{
	"quick": {DispatchTasks: 1000, LatencyTasks: 500, LatencyRate: 250, VerifySites: 200, VerifyWorkers: 0,
		BackupUploads: 20, BackupDB: 5, MigrateSites: 8, ControlSites: 10000, ControlTasks: 1000,
		NginxVhosts: 2000, Runs: 3, ExpensiveRuns: 1, APIRequests: 200, NaiveSitesFrac: 1, CrashKills: 4},
	"full": {DispatchTasks: 1000, LatencyTasks: 1000, LatencyRate: 250, VerifySites: 1000, VerifyWorkers: 0,
		BackupUploads: 200, BackupDB: 50, MigrateSites: 100, ControlSites: 100000, ControlTasks: 10000,
		NginxVhosts: 10000, Runs: 3, ExpensiveRuns: 1, APIRequests: 500, NaiveSitesFrac: 1, CrashKills: 25},
}

// mode is AEGIR_BENCH; size its sizes.
var (
	mode = os.Getenv("AEGIR_BENCH")
	size = withOverrides(modes[mode])
)

// withOverrides applies AEGIR_BENCH_WORKERS (dispatcher workers of the
// verify and migrate benchmarks), AEGIR_BENCH_SITES (sites of the verify
// benchmark) and AEGIR_BENCH_NAIVE=0 (no naive peer), for exploring.
func withOverrides(s sizes) sizes {
	if n, err := strconv.Atoi(os.Getenv("AEGIR_BENCH_WORKERS")); err == nil && n > 0 {
		s.VerifyWorkers = n
	}
	if n, err := strconv.Atoi(os.Getenv("AEGIR_BENCH_SITES")); err == nil && n > 0 {
		s.VerifySites = n
	}
	s.SkipNaive = os.Getenv("AEGIR_BENCH_NAIVE") == "0"
	return s
}

// aegirBin is the aegir binary the command benchmarks run, built by the
// first that needs it.
var (
	aegirBin   string
	aegirOnce  sync.Once
	aegirBuild error
)

// binary returns the aegir binary, building it on the first call.
func binary(t testing.TB) string {
	t.Helper()
	aegirOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aegir-bench-bin-")
		if err != nil {
			aegirBuild = err
			return
		}
		aegirBin = filepath.Join(dir, "aegir")
		out, err := exec.Command("go", "build", "-o", aegirBin, "github.com/aegir-hosting/aegir/cmd/aegir").CombinedOutput()
		if err != nil {
			aegirBuild = fmt.Errorf("build aegir: %v\n%s", err, out)
		}
	})
	if aegirBuild != nil {
		t.Fatal(aegirBuild)
	}
	return aegirBin
}

func TestMain(m *testing.M) {
	if _, ok := modes[mode]; !ok {
		// go test ./... : every benchmark skips.
		os.Exit(m.Run())
	}
	start := time.Now()
	fmt.Printf("aegir benchmarks, %s sizes, on %s\n", mode, machine())
	code := m.Run()
	if aegirBin != "" {
		os.RemoveAll(filepath.Dir(aegirBin))
	}
	took := time.Since(start)
	// By benchmark number, in the order measured within each.
	slices.SortStableFunc(figures, func(a, b figure) int { return strings.Compare(a.Bench[:1], b.Bench[:1]) })
	fmt.Printf("\n%d figures in %s:\n", len(figures), took.Round(time.Second))
	for _, f := range figures {
		fmt.Println(f.line())
	}
	// A run of some of the benchmarks (-test.run) leaves the doc alone.
	if f := flag.Lookup("test.run"); os.Getenv("AEGIR_BENCH_DOC") != "0" && len(figures) > 0 && (f == nil || f.Value.String() == "") {
		if err := writeDoc(took); err != nil {
			fmt.Fprintln(os.Stderr, "write docs/benchmarks.md:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// need skips t unless the benchmarks were asked for.
func need(t *testing.T) {
	t.Helper()
	if _, ok := modes[mode]; !ok {
		t.Skip("benchmarks run with AEGIR_BENCH=quick or full (make bench, make bench-full)")
	}
}

// Results of a figure.
const (
	pass  = "PASS"
	short = "FALL SHORT"
	info  = "" // no target: reported only
)

// figure is one measured figure and its target.
type figure struct {
	Bench  string // "1 dispatch"
	Name   string
	Value  string
	Target string
	Result string // pass, short or info
	Note   string // how it was measured, or why it falls short
}

func (f figure) line() string {
	s := fmt.Sprintf("%-18s %-58s %-22s", f.Bench, f.Name, f.Value)
	if f.Target != "" {
		s += fmt.Sprintf(" target %-12s %s", f.Target, f.Result)
	}
	return strings.TrimRight(s, " ")
}

var (
	figuresMu sync.Mutex
	figures   []figure
)

// report prints a figure at once and keeps it for the summary and the doc.
func report(f figure) {
	figuresMu.Lock()
	figures = append(figures, f)
	figuresMu.Unlock()
	fmt.Println(f.line())
	if f.Note != "" && testing.Verbose() {
		fmt.Println("    " + f.Note)
	}
}

// atMost and atLeast return the result of a figure against its target.
func atMost(v, target float64) string {
	if v <= target {
		return pass
	}
	return short
}

func atLeast(v, target float64) string {
	if v >= target {
		return pass
	}
	return short
}

// median returns the median of xs (the mean of the two middle ones when
// there is an even number).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile returns the p-th percentile (0 < p ≤ 100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < 10*time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

func secs(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

// profile runs fn, writing a CPU profile of it to
// $AEGIR_BENCH_PROFILE/name.pprof when that is set.
func profile(t *testing.T, name string, fn func()) {
	t.Helper()
	dir := os.Getenv("AEGIR_BENCH_PROFILE")
	if dir == "" {
		fn()
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Logf("no CPU profile of %s: %v", name, err)
		fn()
		return
	}
	defer pprof.StopCPUProfile()
	fn()
}

// discard is a logger that drops everything.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run runs a command and fails t with its output when it fails.
func run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// timed runs fn and returns how long it took.
func timed(fn func()) time.Duration {
	start := time.Now()
	fn()
	return time.Since(start)
}

// waitFor polls get until it answers want, for at most timeout.
func waitAnswer(t testing.TB, client *http.Client, url string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still not %d after %s (%v)", url, want, timeout, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// machine describes this machine for the doc.
func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(data); m != nil {
			cpu = strings.TrimSpace(string(m[1]))
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GB RAM", float64(kb)/1024/1024)
		}
	}
	kernel := ""
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(data))
	}
	versions := []string{runtime.Version()}
	if out, err := exec.Command("nginx", "-v").CombinedOutput(); err == nil {
		versions = append(versions, strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: "))
	}
	if out, err := exec.Command("mysql", "-uroot", "-h127.0.0.1", "-N", "-e", "SELECT VERSION()").Output(); err == nil {
		versions = append(versions, "MariaDB "+strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("psql", "--version").Output(); err == nil {
		versions = append(versions, strings.TrimSpace(string(out)))
	}
	return fmt.Sprintf("%s, %d CPUs%s%s; %s", cpu, runtime.NumCPU(), mem, kernel, strings.Join(versions, ", "))
}

// docPath finds docs/benchmarks.md from the module root.
func docPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "docs", "benchmarks.md"), nil
		}
	}
	return "", fmt.Errorf("no go.mod above %s", dir)
}

// writeDoc replaces the table of this mode in docs/benchmarks.md, between
// its markers, keeping everything else of the file.
func writeDoc(took time.Duration) error {
	path, err := docPath()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin, end := "<!-- bench:"+mode+":begin -->", "<!-- bench:"+mode+":end -->"
	i, j := bytes.Index(data, []byte(begin)), bytes.Index(data, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s markers", path, begin, end)
	}
	var b strings.Builder
	target := "make bench"
	if mode == "full" {
		target = "make bench-full"
	}
	fmt.Fprintf(&b, "%s\n", begin)
	fmt.Fprintf(&b, "Run on %s, took %s; reproduce with `%s`.\nMachine: %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second), target, machine())
	b.WriteString("| # | Figure | Measured | Target | Result |\n|---|---|---|---|---|\n")
	for _, f := range figures {
		result := f.Result
		if result == short {
			result = "**FALL SHORT**"
		}
		name := f.Name
		if f.Note != "" {
			name += " <br><sub>" + f.Note + "</sub>"
		}
		cell := strings.NewReplacer("|", "\\|").Replace
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(f.Bench), cell(name), cell(f.Value), cell(f.Target), result)
	}
	out := append([]byte(nil), data[:i]...)
	out = append(out, b.String()...)
	out = append(out, data[j:]...)
	return os.WriteFile(path, out, 0o644)
}

// background is a context for the benchmarks' own calls.
var background = context.Background()

// cpuUse is the CPU time used so far by this process's waited-for
// children (and theirs), by MariaDB's server and by the nginx masters
// (with the workers they reaped).
type cpuUse struct{ children, mariadb, nginx time.Duration }

// cpuNow reads cpuUse.
func cpuNow(t testing.TB) cpuUse {
	t.Helper()
	var ru syscall.Rusage
	must(t, syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru))
	u := cpuUse{children: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	entries, err := os.ReadDir("/proc")
	must(t, err)
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime cutime cstime (fields 14-17)
		text := string(stat)
		open, end := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
		if open < 0 || end < open {
			continue
		}
		comm, fields := text[open+1:end], strings.Fields(text[end+1:])
		if len(fields) < 15 {
			continue
		}
		ticks := func(i int) time.Duration {
			n, _ := strconv.ParseInt(fields[i], 10, 64)
			return time.Duration(n) * 10 * time.Millisecond // USER_HZ is 100 on Linux
		}
		switch {
		case comm == "mariadbd" || comm == "mysqld":
			u.mariadb += ticks(11) + ticks(12)
		case comm == "nginx":
			// a master, with the workers it reaped
			if cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); strings.Contains(string(cmd), "master process") {
				u.nginx += ticks(11) + ticks(12) + ticks(13) + ticks(14)
			}
		}
	}
	return u
}

// since returns the CPU used from u until now, as a note.
func (u cpuUse) since(t testing.TB) string {
	t.Helper()
	now := cpuNow(t)
	return fmt.Sprintf("CPU: %s in its processes, %s in MariaDB, %s in nginx", secs((now.children - u.children).Seconds()),
		secs((now.mariadb - u.mariadb).Seconds()), secs((now.nginx - u.nginx).Seconds()))
}
