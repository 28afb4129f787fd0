package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/phpfpm"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/siteuser"
)

// poolCount is how many per-site pools TestPHPPoolsAtScale writes: 1,000
// for full, 200 for quick, AEGIR_BENCH_POOLS to explore.
func poolCount() int {
	if n, err := strconv.Atoi(os.Getenv("AEGIR_BENCH_POOLS")); err == nil && n > 0 {
		return n
	}
	if mode == "full" {
		return 1000
	}
	return 200
}

// TestPHPPoolsAtScale measures per-site php-fpm pools (issue 13, item 5):
// a private php-fpm master (as root, so pools run as their site users)
// given N site users and N pools, all written at once through
// internal/phpfpm (coalesced test and reload); then the memory of the
// master and its processes at rest (pm = ondemand: no worker for an idle
// site), against the same master with no site pool, and the time of a
// php-fpm -t and of a reload with N pools. It prints its figures; they are
// copied by hand into docs/benchmarks.md.
func TestPHPPoolsAtScale(t *testing.T) {
	if mode == "" {
		t.Skip("AEGIR_BENCH is not set")
	}
	if os.Geteuid() != 0 {
		teststack.Missing(t, "the pools benchmark needs root (site users, pools run as them)")
	}
	teststack.Require(t, "php-fpm8.2", "useradd")
	n := poolCount()
	ctx := context.Background()
	home := aegir.Paths{Home: filepath.Join(teststack.WebDir(t), "aegir")}
	token := teststack.RandomHex(t, 3)
	users := make([]string, n)
	l := siteuser.Local{}
	// Registered before php-fpm starts, so it runs once php-fpm has
	// stopped: userdel refuses a user whose processes still run.
	t.Cleanup(func() {
		for _, u := range users {
			if u != "" {
				l.Remove(context.Background(), u)
			}
		}
	})
	fpm := teststack.StartPHPFPMWithPools(t, home.PHPPoolDir(aegir.MasterServer))
	server := &aegir.Server{PHPFPMSocket: fpm.Socket, PHPFPMTestCmd: fpm.TestCmd(), PHPFPMReloadCmd: fpm.ReloadCmd(), WebGroup: "www-data"}
	server.Defaults()
	root := filepath.Join(home.Platforms(), "p")
	must(t, os.MkdirAll(filepath.Join(root, "sites"), 0o755))

	restPSS := func() (master, total int) {
		pid := readPID(t, filepath.Join(fpm.Dir, "php-fpm.pid"))
		master = pss(pid)
		total = master
		for _, c := range children(pid) {
			total += pss(c)
		}
		return master, total
	}
	baseMaster, baseTotal := restPSS()

	start := time.Now()
	for i := range n {
		uri := fmt.Sprintf("pool%d-%s.test", i, token)
		users[i] = aegir.SiteUser(uri)
		if _, err := l.Ensure(ctx, users[i], "www-data"); err != nil {
			t.Fatal(err)
		}
		must(t, os.MkdirAll(filepath.Join(root, "sites", uri, "private", "temp"), 0o770))
	}
	perUser := time.Since(start) / time.Duration(n)

	reloadsBefore := countInLog(fpm.Log, "Reloading in progress")
	start = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uri := fmt.Sprintf("pool%d-%s.test", i, token)
			site := filepath.Join(root, "sites", uri)
			pools := phpfpm.New(server, aegir.MasterServer, aegir.Env{Paths: home, Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)})
			_, errs[i] = pools.Write(ctx, &aegir.PHPPool{
				User: users[i], Root: root, SiteDir: site, TempDir: filepath.Join(site, "private", "temp"),
				Socket: server.PHPPoolSocket(users[i]),
			})
		}()
	}
	wg.Wait()
	writeAll := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pool %d: %v", i, err)
		}
	}
	reloads := countInLog(fpm.Log, "Reloading in progress") - reloadsBefore
	time.Sleep(2 * time.Second) // at rest
	master, total := restPSS()
	var tests, reloadTimes []time.Duration
	for range 3 {
		start := time.Now()
		if out, err := exec.Command(server.PHPFPMTestCmd[0], server.PHPFPMTestCmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("php-fpm -t: %v\n%s", err, out)
		}
		tests = append(tests, time.Since(start))
		reloadTimes = append(reloadTimes, reloadAndWait(t, fpm, server))
	}
	time.Sleep(2 * time.Second)
	_, totalAfter := restPSS()

	fmt.Printf("php-fpm pools: %d site users made in %s each; %d pools written at once in %s (%d reloads)\n",
		n, perUser.Round(time.Millisecond), n, writeAll.Round(time.Millisecond), reloads)
	fmt.Printf("php-fpm at rest: master PSS %d KiB (%d KiB with no site pool), master and workers %d KiB (%d KiB with none; %d KiB after 3 reloads): %.1f KiB per idle site\n",
		master, baseMaster, total, baseTotal, totalAfter, float64(total-baseTotal)/float64(n))
	fmt.Printf("php-fpm with %d pools: php-fpm -t median %s, reload median %s\n", n, medianDuration(tests).Round(time.Millisecond), medianDuration(reloadTimes).Round(time.Millisecond))
}

// reloadAndWait reloads php-fpm and returns the time until its master says
// it is ready again.
func reloadAndWait(t *testing.T, fpm *teststack.PHPFPM, server *aegir.Server) time.Duration {
	t.Helper()
	ready := func() int { return countInLog(fpm.Log, "ready to handle connections") }
	before := ready()
	start := time.Now()
	if out, err := exec.Command(server.PHPFPMReloadCmd[0], server.PHPFPMReloadCmd[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	for ready() == before {
		if time.Since(start) > time.Minute {
			t.Fatal("php-fpm did not come back within a minute of the reload")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func medianDuration(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	must(t, err)
	return pid
}

// pss is a process's proportional set size in KiB.
func pss(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// countInLog counts the lines of a log that hold s.
func countInLog(path, s string) int {
	data, _ := os.ReadFile(path)
	return bytes.Count(data, []byte(s))
}
