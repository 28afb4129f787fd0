//go:build linux

package nginx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/internal/webconf"
	"github.com/aegir-hosting/aegir/local"
)

// countingRunner runs commands on this machine and counts them by kind:
// the full configuration test, the test of new vhosts on their own (a
// configuration under .pretest-), and the reload.
type countingRunner struct {
	local.Runner
	mu     sync.Mutex
	counts map[string]int
}

func (r *countingRunner) Run(ctx context.Context, cmd aegir.Command) ([]byte, error) {
	args := strings.Join(cmd.Args, " ")
	kind := "test"
	switch {
	case strings.Contains(args, "-s reload"), strings.Contains(args, "--signal HUP"):
		kind = "reload"
	case strings.Contains(args, "/.pretest-"):
		kind = "pretest"
	}
	r.mu.Lock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[kind]++
	r.mu.Unlock()
	return r.Runner.Run(ctx, cmd)
}

func (r *countingRunner) count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[kind]
}

// service returns another Nginx of the stack's server with its own log
// and runner, as each task of the dispatcher builds its own.
func (s *stack) service(t *testing.T, runner aegir.Runner) (*Nginx, *aegir.TaskLog) {
	t.Helper()
	log := aegir.NewTaskLog(nil)
	svc, err := New(s.svc.server, s.svc.name, aegir.Env{Paths: s.svc.env.Paths, Runner: runner, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return svc.(*Nginx), log
}

// writeAtOnce calls WriteSite for each vhost from its own goroutine and
// its own service, all released together, and returns each call's error.
func (s *stack) writeAtOnce(t *testing.T, runner aegir.Runner, vhosts []*aegir.Vhost) ([]error, []*aegir.TaskLog) {
	t.Helper()
	errs := make([]error, len(vhosts))
	logs := make([]*aegir.TaskLog, len(vhosts))
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i, v := range vhosts {
		svc, log := s.service(t, runner)
		logs[i] = log
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			_, errs[i] = svc.WriteSite(context.Background(), v)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs, logs
}

func TestConcurrentWriteSitesShareOneTestAndReload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	root := staticRoot(t, "coalesced")
	const sites = 40
	var vhosts []*aegir.Vhost
	for i := range sites {
		vhosts = append(vhosts, &aegir.Vhost{URI: fmt.Sprintf("c%02d.test", i), Root: root, App: "static"})
	}
	runner := &countingRunner{}
	errs, logs := s.writeAtOnce(t, runner, vhosts)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", vhosts[i].URI, err)
		}
	}
	// Every call returned once its vhost was live.
	for _, v := range vhosts {
		r, err := get(s.port, v.URI, "/")
		if err != nil || r.Status != 200 || !strings.Contains(r.Body, "coalesced") {
			t.Errorf("right after WriteSite returned, %s answered %v (%v)", v.URI, r, err)
		}
	}
	// The first call finds nginx idle and goes alone; the others gather
	// while it is tested and reloaded. A few batches, not one per site.
	reloads, tests := runner.count("reload"), runner.count("test")
	t.Logf("%d sites: %d reloads, %d tests, %d tests of new vhosts on their own", sites, reloads, tests, runner.count("pretest"))
	if reloads > sites/4 || tests != reloads {
		t.Errorf("%d reloads and %d tests for %d sites written at once; want at most %d, one test each", reloads, tests, sites, sites/4)
	}
	for i, log := range logs {
		var lines []string
		for _, e := range log.Entries() {
			lines = append(lines, e.Message)
		}
		text := strings.Join(lines, "\n")
		if !strings.Contains(text, "wrote "+s.svc.VhostFile(vhosts[i].URI)) || !strings.Contains(text, "reloaded nginx") {
			t.Errorf("the log of %s does not say its vhost was written and nginx reloaded:\n%s", vhosts[i].URI, text)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(s.svc.confDir(), ".pretest-*")); len(matches) > 0 {
		t.Errorf("test configurations left behind: %v", matches)
	}
	if entries, _ := os.ReadDir(filepath.Dir(s.svc.VhostFile("x.test"))); len(entries) != sites {
		t.Errorf("vhost.d holds %d files, want %d (no temporary files)", len(entries), sites)
	}

	// Their undos, run at once too, also share reloads.
	before := runner.count("reload")
	undos := make([]aegir.Undo, len(vhosts))
	for i, v := range vhosts[:10] {
		svc, _ := s.service(t, runner)
		var err error
		if undos[i], err = svc.DeleteSite(ctx, v.URI); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if err := undos[i](ctx); err != nil {
				t.Errorf("undo delete of %s: %v", vhosts[i].URI, err)
			}
		})
	}
	wg.Wait()
	for _, v := range vhosts[:10] {
		expect(t, s.port, v.URI, "/", 200, "coalesced")
	}
	if got := runner.count("reload") - before; got > 10+5 {
		t.Errorf("10 deletes one after the other and 10 undos at once took %d reloads, want at most 15", got)
	}
}

func TestABrokenVhostAmongConcurrentOnesFailsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	root := staticRoot(t, "good site")
	// A site already live, which the broken rewrite of it must not take down.
	if _, err := s.svc.WriteSite(ctx, &aegir.Vhost{URI: "live.test", Root: root, App: "static"}); err != nil {
		t.Fatal(err)
	}
	liveBefore := readFile(t, s.svc.VhostFile("live.test"))
	// Enough sites that the batch below is small next to the
	// configuration, and its vhosts are tested on their own first.
	var existing []*aegir.Vhost
	for i := range 45 {
		existing = append(existing, &aegir.Vhost{URI: fmt.Sprintf("e%02d.test", i), Root: root, App: "static"})
	}
	if errs, _ := s.writeAtOnce(t, &countingRunner{}, existing); errors.Join(errs...) != nil {
		t.Fatal(errors.Join(errs...))
	}

	var vhosts []*aegir.Vhost
	for i := range 20 {
		vhosts = append(vhosts, &aegir.Vhost{URI: fmt.Sprintf("g%02d.test", i), Root: root, App: "static"})
	}
	broken := []int{7, 13}
	vhosts[7] = &aegir.Vhost{URI: "broken.test", Root: root, App: "nonexistent"}
	vhosts[13] = &aegir.Vhost{URI: "live.test", Root: root, App: "nonexistent"}

	runner := &countingRunner{}
	errs, _ := s.writeAtOnce(t, runner, vhosts)
	for i, err := range errs {
		if !slices.Contains(broken, i) {
			if err != nil {
				t.Errorf("%s failed with the broken ones: %v", vhosts[i].URI, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "nginx_nonexistent.conf") || !strings.Contains(err.Error(), s.svc.VhostFile(vhosts[i].URI)) {
			t.Errorf("%s: got %v, want nginx's message about its missing include in its vhost", vhosts[i].URI, err)
		}
	}
	if _, err := os.Stat(s.svc.VhostFile("broken.test")); !os.IsNotExist(err) {
		t.Errorf("the broken new vhost was left behind: %v", err)
	}
	if got := readFile(t, s.svc.VhostFile("live.test")); string(got) != string(liveBefore) {
		t.Errorf("the broken rewrite of live.test was not put back:\n%s", got)
	}
	for i, v := range vhosts {
		if !slices.Contains(broken, i) {
			expect(t, s.port, v.URI, "/", 200, "good site")
		}
	}
	expect(t, s.port, "live.test", "/", 200, "good site")
	t.Logf("%d reloads, %d tests, %d tests of new vhosts on their own", runner.count("reload"), runner.count("test"), runner.count("pretest"))
	// Each broken vhost costs one test of the whole configuration, after
	// the tests on their own singled it out.
	if tests, reloads := runner.count("test"), runner.count("reload"); tests > reloads+len(broken) {
		t.Errorf("%d tests for %d reloads and %d broken vhosts: the good ones were tested one by one", tests, reloads, len(broken))
	}

	// A batch that rewrites most of the configuration is tested whole
	// first; when that fails, its vhosts are tested on their own to find
	// the broken one, and the others go live together.
	regen := make([]*aegir.Vhost, len(existing))
	for i, v := range existing {
		w := *v
		w.Params = []aegir.Param{{Name: "GENERATION", Value: "2"}}
		regen[i] = &w
	}
	regen[30].App = "nonexistent"
	runner = &countingRunner{}
	errs, _ = s.writeAtOnce(t, runner, regen)
	for i, err := range errs {
		if (i == 30) != (err != nil) {
			t.Errorf("rewrite of %s: %v", regen[i].URI, err)
		}
	}
	if !strings.Contains(string(readFile(t, s.svc.VhostFile(regen[0].URI))), "GENERATION") ||
		strings.Contains(string(readFile(t, s.svc.VhostFile(regen[30].URI))), "GENERATION") {
		t.Error("the good rewrites are not all in place, or the broken one is")
	}
	expect(t, s.port, regen[30].URI, "/", 200, "good site")
	t.Logf("regeneration: %d reloads, %d tests, %d tests of new vhosts on their own", runner.count("reload"), runner.count("test"), runner.count("pretest"))
	if tests, reloads := runner.count("test"), runner.count("reload"); tests > reloads+2 {
		t.Errorf("%d tests for %d reloads and one broken vhost: the good ones were tested one by one", tests, reloads)
	}
}

func TestBatchFallsBackToOneByOneWhenVhostsCannotBeTestedAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	// A test command that is not nginx itself: the driver cannot test a
	// vhost on its own, so a broken one fails the batch's test, and the
	// batch is applied one by one.
	s.svc.server.HTTPTestCmd = []string{"/bin/sh", "-c", `exec nginx "$@"`, "sh"}
	s.svc.server.HTTPTestCmd = append(s.svc.server.HTTPTestCmd, s.nginx.TestCmd()[1:]...)
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	if s.svc.pretestArgs() != nil {
		t.Fatalf("pretest args %v for a wrapped test command", s.svc.pretestArgs())
	}
	root := staticRoot(t, "good site")
	var vhosts []*aegir.Vhost
	for i := range 12 {
		vhosts = append(vhosts, &aegir.Vhost{URI: fmt.Sprintf("o%02d.test", i), Root: root, App: "static"})
	}
	vhosts[5] = &aegir.Vhost{URI: "broken.test", Root: root, App: "nonexistent"}
	runner := &countingRunner{}
	errs, _ := s.writeAtOnce(t, runner, vhosts)
	for i, err := range errs {
		if i == 5 {
			if err == nil || !strings.Contains(err.Error(), "nginx_nonexistent.conf") {
				t.Errorf("broken.test: got %v, want nginx's message about the missing include", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", vhosts[i].URI, err)
		}
		expect(t, s.port, vhosts[i].URI, "/", 200, "good site")
	}
	if _, err := os.Stat(s.svc.VhostFile("broken.test")); !os.IsNotExist(err) {
		t.Errorf("the broken vhost was left behind: %v", err)
	}
	if n := runner.count("pretest"); n != 0 {
		t.Errorf("%d tests on their own with a wrapped test command", n)
	}
}

func TestAWaitingWriteSiteIsWithdrawnWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	if err := s.svc.VerifyServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Hold the server's lock, as another process's batch would, so the
	// first change is under way and the second waits behind it.
	unlock, err := webconf.Lock(s.svc.confDir())
	if err != nil {
		t.Fatal(err)
	}
	root := staticRoot(t, "site")
	first := make(chan error, 1)
	go func() {
		_, err := s.svc.WriteSite(context.Background(), &aegir.Vhost{URI: "first.test", Root: root, App: "static"})
		first <- err
	}()
	teststack.WaitFor(t, func() bool {
		n, underWay := webconf.Pending(s.svc.applyKey())
		return underWay && n == 0
	})
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		_, err := s.svc.WriteSite(ctx, &aegir.Vhost{URI: "second.test", Root: root, App: "static"})
		second <- err
	}()
	teststack.WaitFor(t, func() bool {
		n, underWay := webconf.Pending(s.svc.applyKey())
		return underWay && n == 1
	})
	cancel()
	if err := <-second; err != context.Canceled {
		t.Errorf("the withdrawn change returned %v, want context.Canceled", err)
	}
	unlock()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.svc.VhostFile("second.test")); !os.IsNotExist(err) {
		t.Errorf("the withdrawn vhost was written: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(s.svc.VhostFile("x.test"))); len(entries) != 1 {
		t.Errorf("vhost.d holds %d files, want 1 (no staged file left)", len(entries))
	}
}

func TestARewriteSwapsInPlaceAndLeavesNoPreviousVhostBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	root := staticRoot(t, "site")
	v := &aegir.Vhost{URI: "r.test", Root: root, App: "static", Params: []aegir.Param{{Name: "SECRET", Value: "first"}}}
	if _, err := s.svc.WriteSite(ctx, v); err != nil {
		t.Fatal(err)
	}
	path := s.svc.VhostFile("r.test")
	spare := filepath.Join(filepath.Dir(path), ".r.test.conf.spare")
	if _, err := os.Stat(spare); !os.IsNotExist(err) {
		t.Errorf("a new vhost left a spare: %v", err)
	}
	v.Params[0].Value = "second"
	undo, err := s.svc.WriteSite(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readFile(t, path)), `"second"`) {
		t.Error("the rewrite is not in place")
	}
	if data, _ := os.ReadFile(spare); len(data) != 0 {
		t.Errorf("the spare still holds the previous vhost:\n%s", data)
	}
	if _, err := os.Stat(spare); err != nil {
		t.Errorf("a rewritten vhost kept no spare for its next rewrite: %v", err)
	}
	broken := *v
	broken.App, broken.Params = "nonexistent", []aegir.Param{{Name: "SECRET", Value: "third"}}
	if _, err := s.svc.WriteSite(ctx, &broken); err == nil {
		t.Fatal("a broken rewrite passed")
	}
	if data := readFile(t, path); !strings.Contains(string(data), `"second"`) {
		t.Errorf("the broken rewrite was not swapped back:\n%s", data)
	}
	if data, _ := os.ReadFile(spare); len(data) != 0 {
		t.Errorf("the spare still holds the broken vhost:\n%s", data)
	}
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readFile(t, path)), `"first"`) {
		t.Error("undo did not put the first vhost back")
	}
	if _, err := os.Stat(spare); !os.IsNotExist(err) {
		t.Errorf("the spare outlived the undo (it would hold a vhost's secrets): %v", err)
	}
	if _, err := s.svc.DeleteSite(ctx, "r.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spare); !os.IsNotExist(err) {
		t.Errorf("the spare outlived its vhost: %v", err)
	}
	expect(t, s.port, "r.test", "/", 404, "")
}

// files returns the names and contents of the files of dir.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		out[e.Name()] = string(readFile(t, filepath.Join(dir, e.Name())))
	}
	return out
}

func TestUndoLeavesTheVhostsAndTheirSparesAsTheyWere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	root := staticRoot(t, "site")
	site := func(uri, secret string) *aegir.Vhost {
		return &aegir.Vhost{URI: uri, Root: root, App: "static", Params: []aegir.Param{{Name: "SECRET", Value: secret}}}
	}
	// r.test rewritten once (it has an empty spare), q.test written once.
	for _, v := range []*aegir.Vhost{site("r.test", "1"), site("r.test", "2"), site("q.test", "1")} {
		if _, err := s.svc.WriteSite(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Dir(s.svc.VhostFile("r.test"))
	before := files(t, dir)
	if _, ok := before[".r.test.conf.spare"]; !ok || len(before) != 3 {
		t.Fatalf("vhost.d holds %v, want r.test's vhost and spare, and q.test's vhost", before)
	}
	// Each change of a task that then fails, and its undo.
	for _, step := range []func() (aegir.Undo, error){
		func() (aegir.Undo, error) { return s.svc.WriteSite(ctx, site("r.test", "3")) },
		func() (aegir.Undo, error) { return s.svc.WriteSite(ctx, site("q.test", "2")) },
		func() (aegir.Undo, error) { return s.svc.WriteSite(ctx, site("n.test", "1")) },
		func() (aegir.Undo, error) { return s.svc.DeleteSite(ctx, "r.test") },
	} {
		undo, err := step()
		if err != nil {
			t.Fatal(err)
		}
		if err := undo(ctx); err != nil {
			t.Fatal(err)
		}
		if after := files(t, dir); !reflect.DeepEqual(before, after) {
			t.Fatalf("after the undo, vhost.d holds\n%v\nwant\n%v", after, before)
		}
	}
	expect(t, s.port, "r.test", "/", 200, "site")
}
