package webconf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// scriptServer is a web server made of real commands: testdata/test.sh
// tests the configuration directory (a file holding "broken" fails, as
// does one that "needs" a missing file) and testdata/reload.sh records
// each reload, or fails when a file "reject" is in the state directory.
type scriptServer struct {
	dir, state string
	gen        int
}

func (s *scriptServer) Generation() (string, error) {
	s.gen++
	token := fmt.Sprintf("g%d", s.gen)
	return token, WriteFile(filepath.Join(s.dir, "generation"), []byte(token), 0o644)
}

func (s *scriptServer) Test(ctx context.Context) error {
	return run(ctx, "testdata/test.sh", s.dir, s.state)
}

func (s *scriptServer) Reload(ctx context.Context, generation string) (bool, error) {
	return true, run(ctx, "testdata/reload.sh", s.dir, s.state, generation)
}

func run(ctx context.Context, script string, args ...string) error {
	out, err := exec.CommandContext(ctx, script, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", filepath.Base(script), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pretester is a scriptServer that tests new files on their own too: a
// file fails alone when it holds "broken" (grep on the spares).
type pretester struct {
	*scriptServer
	pretests int
}

func (p *pretester) Pretest(ctx context.Context, changes []*Change) map[*Change]bool {
	p.pretests++
	suspect := map[*Change]bool{}
	for _, c := range changes {
		path, ok := c.Spare()
		if !ok {
			return nil
		}
		if exec.CommandContext(ctx, "grep", "-q", "broken", path).Run() == nil {
			suspect[c] = true
		}
	}
	return suspect
}

func (p *pretester) Files() int {
	files, _ := filepath.Glob(filepath.Join(p.dir, "*.conf"))
	return len(files)
}

// bundle is a configuration directory and a server of it.
type bundle struct {
	dir    string
	server *scriptServer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	root := t.TempDir()
	b := &bundle{dir: filepath.Join(root, "conf")}
	if err := os.Mkdir(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.server = &scriptServer{dir: b.dir, state: root}
	return b
}

// target returns a target of the bundle's server with a log of its own.
func (b *bundle) target(server Server) (Target, *aegir.TaskLog) {
	log := aegir.NewTaskLog(nil)
	return Target{
		Dir: b.dir, Key: b.dir, Server: server, Log: log,
		Words: Words{Server: "test", Test: "test.sh", Reloaded: "reloaded (reload.sh)", Unconfirmed: "not confirmed", Pretest: "pretest"},
	}, log
}

func (b *bundle) path(name string) string { return filepath.Join(b.dir, name) }

// count returns how many lines the state file name holds (tests, reloads).
func (b *bundle) count(name string) int {
	data, _ := os.ReadFile(filepath.Join(b.server.state, name))
	return strings.Count(string(data), "\n")
}

// write submits a change of the file name to data (nil: removal) and
// returns the change and its error.
func (b *bundle) write(name string, data []byte) (*Change, error) {
	t, _ := b.target(b.server)
	c := &Change{Path: b.path(name), Data: data, Mode: 0o600}
	return c, Submit(context.Background(), t, c)
}

// files returns the names and contents of the files of the directory,
// spares included.
func (b *bundle) files(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.Name() == ".lock" || e.Name() == "generation" {
			continue
		}
		data, err := os.ReadFile(b.path(e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}

func text(log *aegir.TaskLog) string {
	var lines []string
	for _, e := range log.Entries() {
		lines = append(lines, e.Message)
	}
	return strings.Join(lines, "\n")
}

// hold takes the lock of the bundle's directory, as another process's
// batch would, and submits first from its own goroutine, which then waits
// for the lock in its batch. It returns the lock's release and the first
// change's error.
func (b *bundle) hold(t *testing.T, first *Change) (unlock func(), result <-chan error) {
	t.Helper()
	unlock, err := Lock(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	tg, _ := b.target(b.server)
	go func() { done <- Submit(context.Background(), tg, first) }()
	teststack.WaitFor(t, func() bool { n, underWay := Pending(b.dir); return underWay && n == 0 })
	return unlock, done
}

func TestConcurrentChangesShareOneTestAndReloadAndEachCallerLearnsItsResult(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 24
	errs := make([]error, n)
	logs := make([]*aegir.TaskLog, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		tg, log := b.target(b.server)
		logs[i] = log
		wg.Go(func() {
			<-start
			errs[i] = Submit(context.Background(), tg, &Change{Path: b.path(fmt.Sprintf("f%02d.conf", i)), Data: []byte("ok\n"), Mode: 0o600})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("f%02d.conf: %v", i, err)
		}
		if got := text(logs[i]); !strings.Contains(got, "wrote "+b.path(fmt.Sprintf("f%02d.conf", i))) || !strings.Contains(got, "reloaded (reload.sh)") {
			t.Errorf("log of f%02d.conf:\n%s", i, got)
		}
	}
	if got := len(b.files(t)); got != n {
		t.Errorf("%d files written, want %d (and no spare of a new file)", got, n)
	}
	if reloads := b.count("reloads"); reloads == 0 || reloads > n/4 {
		t.Errorf("%d reloads for %d changes submitted at once, want 1 to %d", reloads, n, n/4)
	}
	if tests := b.count("tests"); tests != b.count("reloads") {
		t.Errorf("%d tests for %d reloads: a batch of good changes is tested once", tests, b.count("reloads"))
	}
}

func TestAFailingBatchFallsBackToOneByOneInOrderSoOnlyTheBadChangeFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	unlock, first := b.hold(t, &Change{Path: b.path("first.conf"), Data: []byte("ok\n"), Mode: 0o600})
	// The next batch, in this order: a vhost that needs its platform file,
	// the platform file, a broken file, then the platform's second vhost.
	// Together they fail; one by one, the first vhost fails as its
	// platform file is not there yet, the second passes.
	names := []string{"v1.conf", "p.conf", "bad.conf", "v2.conf"}
	contents := []string{"needs p\n", "platform\n", "broken\n", "needs p\n"}
	errs := make([]error, len(names))
	logs := make([]*aegir.TaskLog, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		tg, log := b.target(b.server)
		logs[i] = log
		wg.Go(func() {
			errs[i] = Submit(context.Background(), tg, &Change{Path: b.path(name), Data: []byte(contents[i]), Mode: 0o600})
		})
		teststack.WaitFor(t, func() bool { n, _ := Pending(b.dir); return n == i+1 })
	}
	unlock()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, want := range []string{"v1.conf needs p.conf", "", "bad.conf is broken", ""} {
		switch {
		case want == "" && errs[i] != nil:
			t.Errorf("%s: %v", names[i], errs[i])
		case want != "" && (errs[i] == nil || !strings.Contains(errs[i].Error(), want)):
			t.Errorf("%s: got %v, want the test's message %q", names[i], errs[i], want)
		}
	}
	want := map[string]string{"first.conf": "ok\n", "p.conf": "platform\n", "v2.conf": "needs p\n"}
	if got := b.files(t); !reflect.DeepEqual(got, want) {
		t.Errorf("the directory holds %v, want %v", got, want)
	}
	if got := text(logs[2]); !strings.Contains(got, "removed "+b.path("bad.conf")+" again") {
		t.Errorf("log of the broken change:\n%s", got)
	}
	if reloads := b.count("reloads"); reloads != 2 {
		t.Errorf("%d reloads, want 2 (one per batch)", reloads)
	}
}

func TestARewriteKeepsAnEmptySpareAndUndoLeavesTheFilesAndSparesAsTheyWere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.write("r.conf", []byte("1\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.path(".r.conf.spare")); !os.IsNotExist(err) {
		t.Errorf("a new file left a spare: %v", err)
	}
	if _, err := b.write("r.conf", []byte("2\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.write("q.conf", []byte("1\n")); err != nil {
		t.Fatal(err)
	}
	before := b.files(t)
	if want := map[string]string{"r.conf": "2\n", ".r.conf.spare": "", "q.conf": "1\n"}; !reflect.DeepEqual(before, want) {
		t.Fatalf("after a rewrite, the directory holds %v, want %v (a rewritten file keeps its spare, empty)", before, want)
	}

	// A broken rewrite is swapped back and its spare emptied.
	if _, err := b.write("r.conf", []byte("broken\n")); err == nil {
		t.Fatal("a broken rewrite passed")
	}
	if got := b.files(t); !reflect.DeepEqual(got, before) {
		t.Fatalf("after a broken rewrite, the directory holds %v, want %v", got, before)
	}

	// Each change of a task that then fails, and its undo.
	for _, step := range []struct {
		name string
		data []byte
	}{{"r.conf", []byte("3\n")}, {"q.conf", []byte("2\n")}, {"n.conf", []byte("1\n")}, {"r.conf", nil}} {
		c, err := b.write(step.name, step.data)
		if err != nil {
			t.Fatal(err)
		}
		tg, log := b.target(b.server)
		if err := Submit(context.Background(), tg, c.Undo()); err != nil {
			t.Fatal(err)
		}
		if got := b.files(t); !reflect.DeepEqual(got, before) {
			t.Fatalf("after the undo of %s, the directory holds\n%v\nwant\n%v", step.name, got, before)
		}
		if step.data != nil && !strings.Contains(text(log), "put back the previous "+b.path(step.name)) && !strings.Contains(text(log), "removed "+b.path(step.name)) {
			t.Errorf("log of the undo of %s:\n%s", step.name, text(log))
		}
	}

	// A removed file takes its spare along.
	if _, err := b.write("r.conf", nil); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"q.conf": "1\n"}; !reflect.DeepEqual(b.files(t), want) {
		t.Errorf("after the removal, the directory holds %v, want %v", b.files(t), want)
	}
	c, err := b.write("r.conf", nil)
	if err != nil || !c.Absent() {
		t.Errorf("removing a missing file: absent %v, error %v; want absent, no error", c.Absent(), err)
	}
}

func TestARejectedReloadPutsTheWholeBatchBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.write("r.conf", []byte("1\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.write("r.conf", []byte("2\n")); err != nil {
		t.Fatal(err)
	}
	before := b.files(t)
	if err := os.WriteFile(filepath.Join(b.server.state, "reject"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	unlock, first := b.hold(t, &Change{Path: b.path("r.conf"), Data: []byte("3\n"), Mode: 0o600})
	tg, _ := b.target(b.server)
	second := make(chan error, 1)
	go func() {
		second <- Submit(context.Background(), tg, &Change{Path: b.path("new.conf"), Data: []byte("1\n"), Mode: 0o600})
	}()
	unlock()
	for _, err := range []error{<-first, <-second} {
		if err == nil || !strings.Contains(err.Error(), "the server rejected the configuration") {
			t.Errorf("got %v, want the reload's message", err)
		}
	}
	if got := b.files(t); !reflect.DeepEqual(got, before) {
		t.Errorf("after a rejected reload, the directory holds %v, want %v", got, before)
	}
}

func TestAWaitingChangeIsWithdrawnWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	unlock, first := b.hold(t, &Change{Path: b.path("first.conf"), Data: []byte("ok\n"), Mode: 0o600})
	ctx, cancel := context.WithCancel(context.Background())
	tg, _ := b.target(b.server)
	second := make(chan error, 1)
	go func() {
		second <- Submit(ctx, tg, &Change{Path: b.path("second.conf"), Data: []byte("ok\n"), Mode: 0o600})
	}()
	teststack.WaitFor(t, func() bool { n, _ := Pending(b.dir); return n == 1 })
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("the withdrawn change returned %v, want context.Canceled", err)
	}
	unlock()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got, want := b.files(t), map[string]string{"first.conf": "ok\n"}; !reflect.DeepEqual(got, want) {
		t.Errorf("the directory holds %v, want %v", got, want)
	}
	if reloads := b.count("reloads"); reloads != 1 {
		t.Errorf("%d reloads, want 1", reloads)
	}
}

func TestAPretesterSetsAsideAFileThatFailsAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Enough files that a batch of three is small next to the whole.
	for i := range 6 {
		if _, err := b.write(fmt.Sprintf("old%d.conf", i), []byte("ok\n")); err != nil {
			t.Fatal(err)
		}
	}
	p := &pretester{scriptServer: b.server}
	unlock, first := b.hold(t, &Change{Path: b.path("first.conf"), Data: []byte("ok\n"), Mode: 0o600})
	tests := b.count("tests")
	names := []string{"a.conf", "bad.conf", "c.conf"}
	errs := make([]error, len(names))
	logs := make([]*aegir.TaskLog, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		tg, log := b.target(p)
		logs[i] = log
		data := "ok\n"
		if name == "bad.conf" {
			data = "broken\n"
		}
		wg.Go(func() {
			errs[i] = Submit(context.Background(), tg, &Change{Path: b.path(name), Data: []byte(data), Mode: 0o600})
		})
		teststack.WaitFor(t, func() bool { n, _ := Pending(b.dir); return n == i+1 })
	}
	unlock()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "bad.conf is broken") {
		t.Errorf("got %v, want only bad.conf to fail, with the test's message", errs)
	}
	if got := text(logs[1]); !strings.Contains(got, b.path("bad.conf")+" failed pretest on its own") {
		t.Errorf("log of the broken change:\n%s", got)
	}
	if !strings.Contains(text(logs[0]), "test passed (test.sh) with 2 changes together") {
		t.Errorf("log of a good change:\n%s", text(logs[0]))
	}
	// The first batch's test, then one test of the two good files
	// together and one of the broken file in the whole configuration.
	if got := b.count("tests") - tests; got != 3 || p.pretests != 1 {
		t.Errorf("%d tests and %d pretests, want 3 and 1", got, p.pretests)
	}
	if _, err := os.Stat(b.path("bad.conf")); !os.IsNotExist(err) {
		t.Errorf("the broken file was left behind: %v", err)
	}
}

// TestWriteAndRemoveReturnUndosThatPutTheFileBack: Write and Remove, what
// the drivers' WriteSite and DeleteSite are made of, return undos that
// bring the directory back; removing a file that is not there (or whose
// directory is not) is no error and has nothing to undo.
func TestWriteAndRemoveReturnUndosThatPutTheFileBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tg, log := b.target(b.server)
	if _, err := Write(ctx, tg, b.path("w.conf"), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := b.files(t)
	undo, err := Write(ctx, tg, b.path("w.conf"), []byte("2\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.files(t)["w.conf"]; got != "2\n" {
		t.Fatalf("w.conf holds %q after Write", got)
	}
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.files(t); !reflect.DeepEqual(got, before) {
		t.Fatalf("after the undo of Write, the directory holds %v, want %v", got, before)
	}
	undo, err = Remove(ctx, tg, b.path("w.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.files(t)["w.conf"]; ok {
		t.Fatal("w.conf is still there after Remove")
	}
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.files(t); !reflect.DeepEqual(got, before) {
		t.Fatalf("after the undo of Remove, the directory holds %v, want %v", got, before)
	}
	for _, missing := range []string{b.path("none.conf"), filepath.Join(b.dir, "nodir", "x.conf")} {
		undo, err := Remove(ctx, tg, missing)
		if err != nil || undo != nil {
			t.Errorf("Remove(%s) = undo %v, %v; want nothing to undo, no error", missing, undo != nil, err)
		}
	}
	if !strings.Contains(text(log), "no none.conf to remove in "+b.dir) {
		t.Errorf("log:\n%s", text(log))
	}
}

// TestAnUnchangedFileIsNeitherTestedNorReloaded writes a file, then the
// same content again: the second write leaves the server alone and says
// why, and a change of content is tested and reloaded as ever.
func TestAnUnchangedFileIsNeitherTestedNorReloaded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.write("same.conf", []byte("a\n")); err != nil {
		t.Fatal(err)
	}
	tests, reloads := b.count("tests"), b.count("reloads")
	if reloads != 1 {
		t.Fatalf("%d reloads for a new file, want 1", reloads)
	}
	tg, log := b.target(b.server)
	c := &Change{Path: b.path("same.conf"), Data: []byte("a\n"), Mode: 0o600}
	if err := Submit(context.Background(), tg, c); err != nil {
		t.Fatal(err)
	}
	if b.count("tests") != tests || b.count("reloads") != reloads {
		t.Errorf("the same content again was tested %d times and reloaded %d times, want none",
			b.count("tests")-tests, b.count("reloads")-reloads)
	}
	if !strings.Contains(text(log), "same.conf is unchanged: nothing to test or reload") {
		t.Errorf("log:\n%s", text(log))
	}
	if _, err := b.write("same.conf", []byte("b\n")); err != nil {
		t.Fatal(err)
	}
	if b.count("reloads") != reloads+1 {
		t.Errorf("a changed file made %d reloads, want 1", b.count("reloads")-reloads)
	}
	// A different mode is a change too.
	c = &Change{Path: b.path("same.conf"), Data: []byte("b\n"), Mode: 0o644}
	if err := Submit(context.Background(), tg, c); err != nil {
		t.Fatal(err)
	}
	if b.count("reloads") != reloads+2 {
		t.Errorf("a new mode made %d reloads, want 1", b.count("reloads")-reloads-1)
	}
}

// dyingServer is a scriptServer whose reload kills the process, as a
// kill -9 of a task between writing its vhost and the reload would.
type dyingServer struct{ *scriptServer }

func (d dyingServer) Reload(context.Context, string) (bool, error) {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestABatchKilledBeforeItsReloadIsReloadedByTheNext: a process killed after
// it wrote a file and before the reload left the file on disk but not live;
// the next change of the same content, which would be "unchanged", tests
// and reloads it (a verify after the crash must make the vhost live), and
// the one after that is unchanged again. The batch runs in a child process
// of the test binary, killed for real.
func TestABatchKilledBeforeItsReloadIsReloadedByTheNext(t *testing.T) {
	if dir := os.Getenv("WEBCONF_DYING_BATCH"); dir != "" {
		server := dyingServer{&scriptServer{dir: filepath.Join(dir, "conf"), state: dir}}
		tg := Target{Dir: server.dir, Key: server.dir, Server: server, Log: aegir.NewTaskLog(nil)}
		Submit(context.Background(), tg, &Change{Path: filepath.Join(server.dir, "site.conf"), Data: []byte("new\n"), Mode: 0o600})
		t.Fatal("the batch's reload did not kill the process")
	}
	t.Parallel()
	b := setup(t)
	if _, err := b.write("site.conf", []byte("old\n")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestABatchKilledBeforeItsReloadIsReloadedByTheNext$")
	cmd.Env = append(os.Environ(), "WEBCONF_DYING_BATCH="+b.server.state)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child batch was not killed: %v\n%s", err, out)
	}
	if got := b.files(t)["site.conf"]; got != "new\n" {
		t.Fatalf("the killed batch left %q, want the new content written before its reload", got)
	}
	tests, reloads := b.count("tests"), b.count("reloads")

	tg, log := b.target(b.server)
	if err := Submit(context.Background(), tg, &Change{Path: b.path("site.conf"), Data: []byte("new\n"), Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	if b.count("tests") != tests+1 || b.count("reloads") != reloads+1 {
		t.Fatalf("the content a killed batch left was tested %d times and reloaded %d times, want once each:\n%s",
			b.count("tests")-tests, b.count("reloads")-reloads, text(log))
	}
	if _, err := os.Lstat(pendingPath(b.dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the mark is still there after the reload: %v", err)
	}
	if _, err := b.write("site.conf", []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if b.count("reloads") != reloads+1 {
		t.Errorf("once live, the same content was reloaded again")
	}
}
