//go:build linux

package apache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/local"
)

// countingRunner runs commands on this machine and counts the
// configuration tests and the graceful restarts.
type countingRunner struct {
	local.Runner
	mu             sync.Mutex
	tests, restart int
}

func (r *countingRunner) Run(ctx context.Context, cmd aegir.Command) ([]byte, error) {
	args := strings.Join(cmd.Args, " ")
	r.mu.Lock()
	switch {
	case strings.Contains(args, "graceful"):
		r.restart++
	case strings.Contains(args, "-t"):
		r.tests++
	}
	r.mu.Unlock()
	return r.Runner.Run(ctx, cmd)
}

func TestConcurrentWriteSitesShareOneGracefulRestartAndABrokenOneFailsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	root, orphan := staticRoot(t, "coalesced"), staticRoot(t, "no platform file")
	if _, err := s.svc.WritePlatform(ctx, "platform_c", root, "static"); err != nil {
		t.Fatal(err)
	}
	const sites, broken = 24, 9
	vhosts := make([]*aegir.Vhost, sites)
	for i := range vhosts {
		vhosts[i] = &aegir.Vhost{URI: fmt.Sprintf("c%02d.test", i), Root: root, App: "static"}
	}
	// A vhost whose platform has no file fails Apache's test.
	vhosts[broken].Root = orphan

	runner := &countingRunner{}
	errs := make([]error, sites)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, v := range vhosts {
		svc, err := New(s.svc.server, s.svc.name, aegir.Env{Paths: s.svc.env.Paths, Runner: runner, Log: aegir.NewTaskLog(nil)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			<-start
			_, errs[i] = svc.WriteSite(ctx, v)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i == broken {
			if err == nil || !strings.Contains(err.Error(), "no platform file configures "+orphan) {
				t.Errorf("%s: got %v, want Apache's message about the missing platform file", vhosts[i].URI, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", vhosts[i].URI, err)
			continue
		}
		// Every call returned once its vhost was live.
		expectNow(t, s.port, vhosts[i].URI, "/", 200, "coalesced")
	}
	if _, err := os.Stat(s.svc.VhostFile(vhosts[broken].URI)); !os.IsNotExist(err) {
		t.Errorf("the broken vhost was left behind: %v", err)
	}
	t.Logf("%d sites: %d graceful restarts, %d tests", sites, runner.restart, runner.tests)
	if runner.restart > sites/4 {
		t.Errorf("%d graceful restarts for %d sites written at once, want at most %d", runner.restart, sites, sites/4)
	}
}

func TestARewriteSwapsInPlaceAndLeavesNoPreviousFileBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStack(t, "/run/php/php8.2-fpm.sock")
	if err := s.svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	root, orphan := staticRoot(t, "site"), staticRoot(t, "no platform file")
	if _, err := s.svc.WritePlatform(ctx, "platform_r", root, "static"); err != nil {
		t.Fatal(err)
	}
	v := &aegir.Vhost{URI: "r.test", Root: root, App: "static", Params: []aegir.Param{{Name: "SECRET", Value: "first"}}}
	if _, err := s.svc.WriteSite(ctx, v); err != nil {
		t.Fatal(err)
	}
	path := s.svc.VhostFile("r.test")
	spare := filepath.Join(filepath.Dir(path), ".r.test.conf.spare")
	v.Params[0].Value = "second"
	undo, err := s.svc.WriteSite(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readFile(t, path)), "second") || len(readOptional(spare)) != 0 {
		t.Error("the rewrite is not in place, or the spare still holds the previous vhost")
	}
	broken := *v
	broken.Root, broken.Params = orphan, []aegir.Param{{Name: "SECRET", Value: "third"}}
	if _, err := s.svc.WriteSite(ctx, &broken); err == nil {
		t.Fatal("a broken rewrite passed")
	}
	if !strings.Contains(string(readFile(t, path)), "second") || len(readOptional(spare)) != 0 {
		t.Error("the broken rewrite was not swapped back, or the spare holds it")
	}
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readFile(t, path)), "first") {
		t.Error("undo did not put the first vhost back")
	}
	expectNow(t, s.port, "r.test", "/", 200, "site")
	if _, err := s.svc.DeleteSite(ctx, "r.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spare); !os.IsNotExist(err) {
		t.Errorf("the spare outlived its vhost: %v", err)
	}
}

// readOptional reads a file that may not exist (a removed spare).
func readOptional(path string) []byte {
	data, _ := os.ReadFile(path)
	return data
}
