package webconf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
)

// batchTimeout bounds the commands of one batch. A batch goes on when the
// task that started it is cancelled: other tasks wait for its result.
const batchTimeout = 10 * time.Minute

// Gathering of a batch: it starts once no change has arrived for
// gatherQuiet, or after the last test and reload's duration (at most
// maxGather; firstGather before any).
const (
	gatherQuiet = 2 * time.Millisecond
	firstGather = 20 * time.Millisecond
	maxGather   = 5 * time.Second
)

// Server is how a web server's configuration is tested and made live. The
// engine calls the Server of a batch's first change (the changes of a
// batch share a Key, so any of theirs would do), with the lock held.
type Server interface {
	// Generation writes a new token that the configuration answers with
	// once it is live, and returns it. It is called before the batch is
	// tested, so the token is part of what is tested and reloaded.
	Generation() (string, error)
	// Test tests the whole configuration; the error carries the web
	// server's message.
	Test(ctx context.Context) error
	// Reload makes the tested configuration live and waits, for a few
	// seconds at most, until it answers with generation. It reports false
	// when that was not seen in time but the reload was taken (the batch
	// stands, with a warning), and an error when the reload failed or was
	// rejected (the batch is put back).
	Reload(ctx context.Context, generation string) (confirmed bool, err error)
}

// Pretester is a Server that can also test new files on their own, in a
// configuration much smaller than the whole, before a batch is tested
// whole; nginx can, Apache cannot.
type Pretester interface {
	Server
	// Pretest tests the new content of each change (see Change.Spare) on
	// its own and returns those that fail. It returns nil when it cannot
	// tell.
	Pretest(ctx context.Context, changes []*Change) map[*Change]bool
	// Files returns how many files of the kind Pretest tests the
	// configuration holds: a batch of new ones that is more than half as
	// many is tested whole first.
	Files() int
}

// Words are what the log lines of a batch call the web server and its
// commands.
type Words struct {
	// Server is the web server's name: "nginx configuration test passed",
	// "nginx: the change was not applied".
	Server string
	// Test is the test command, as logged.
	Test string
	// Reloaded is logged when a change went live: "reloaded nginx (nginx
	// -s reload)"; " once for N changes" follows when it went with others.
	Reloaded string
	// Unconfirmed is the warning of a reload that Reload did not confirm.
	Unconfirmed string
	// Pretest names what a Pretester runs: "nginx -t" in "... failed
	// nginx -t on its own".
	Pretest string
}

// Target is the configuration of one web server, as the driver of a
// caller sees it.
type Target struct {
	// Dir is the configuration directory; it holds the lock file.
	Dir string
	// Key names what the changes of a batch share (see Key): the changes
	// submitted with the same Key go live together.
	Key    string
	Words  Words
	Server Server
	// Log is the caller's: the lines of its change go to it.
	Log *aegir.TaskLog
	// Wait is the caller's task's hook, told while the change waits for
	// its batch.
	Wait aegir.WaitHook
}

// Change is one file of a server's configuration to write or remove. A
// Change is submitted once; after Submit, it tells what was done.
type Change struct {
	Path string
	Data []byte // the new content; nil for a removal
	Mode fs.FileMode

	t Target
	// undo words the log as the undo of an earlier change.
	undo bool
	// undoneSpare, on the undo of a change, says whether the spare was
	// there before that change, so the undo leaves it as it found it.
	undoneSpare *bool

	// Set by the batch, before done is closed.
	before Snapshot // what Path held before the change
	absent bool     // a removal of a file that was not there: nothing done
	err    error
	ended  bool
	done   chan struct{}
	// notes are log lines held until the test that decides them, so that
	// the lines of one step reach the task's log together.
	notes []string

	// How the batch applies it.
	spare        bool   // the spare file holds Data
	spareExisted bool   // the spare file was there before the batch
	how          method // how Path got Data, while it holds it
}

// method is how a change's file got its new content.
type method int

const (
	notApplied method = iota
	swapped           // exchanged with the spare, which holds the previous content
	moved             // the spare renamed over it
	written           // written with WriteFile
)

// Absent reports whether the change, a removal, found no file to remove,
// and so did nothing.
func (c *Change) Absent() bool { return c.absent }

// Undo returns the change that puts c's file back as it was before c, and
// its spare as it was (see cleanSpares). Submit it to undo c.
func (c *Change) Undo() *Change {
	spareExisted := c.spareExisted
	u := &Change{Path: c.before.Path, undo: true, undoneSpare: &spareExisted}
	if c.before.Exists {
		u.Data, u.Mode = c.before.Data, c.before.Mode
	}
	return u
}

// Spare returns the file beside Path that the new content is written to
// first (.<name>.spare, which no include glob matches), and whether it
// holds the new content now. A Pretester includes it.
func (c *Change) Spare() (path string, holdsData bool) {
	return c.sparePath(), c.spare
}

func (c *Change) sparePath() string {
	dir, base := filepath.Split(c.Path)
	return filepath.Join(dir, "."+base+".spare")
}

// same reports whether the file already holds the new content.
func (c *Change) same() bool {
	return c.Data != nil && c.before.Exists && bytes.Equal(c.before.Data, c.Data) && c.before.Mode == c.Mode
}

func (c *Change) log() *aegir.TaskLog { return c.t.Log }

// finish records the result; release tells the caller, once the batch has
// cleaned up.
func (c *Change) finish(err error) {
	c.err, c.ended = err, true
}

// note holds a log line until flush.
func (c *Change) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// flush logs the held lines.
func (c *Change) flush() {
	for _, line := range c.notes {
		c.log().Infof("%s", line)
	}
	c.notes = nil
}

func (c *Change) release() {
	c.flush()
	if !c.ended {
		c.err = fmt.Errorf("%s: the change was not applied", c.t.Words.Server)
	}
	close(c.done)
}

// applier gathers the pending changes of one server and applies them, a
// batch at a time, from a goroutine that lives while there are any.
type applier struct {
	key     string
	pending []*Change
}

// appliers holds an applier per server configuration with changes under
// way, and how long the last test and reload of each took. It is the one
// piece of package state: coalescing is across the tasks of the process,
// each of which builds its own driver. (Across processes, the lock file
// serialises batches.)
var appliers = struct {
	sync.Mutex
	m     map[string]*applier
	cycle map[string]time.Duration
}{m: map[string]*applier{}, cycle: map[string]time.Duration{}}

// Pending reports how many changes submitted with key wait for a batch,
// and whether any change of key is under way at all (waiting, or in a
// batch being applied). Tests use it to tell a change in a batch from one
// that waits.
func Pending(key string) (n int, underWay bool) {
	appliers.Lock()
	defer appliers.Unlock()
	a := appliers.m[key]
	if a == nil {
		return 0, false
	}
	return len(a.pending), true
}

// Submit makes c live in t, together with whatever changes other callers
// submit meanwhile with the same key, and returns its result. A caller
// whose ctx ends while its change waits withdraws it; once its batch has
// started, it waits for the result, which is bounded by batchTimeout.
func Submit(ctx context.Context, t Target, c *Change) error {
	c.t, c.done = t, make(chan struct{})
	appliers.Lock()
	a := appliers.m[t.Key]
	if a == nil {
		a = &applier{key: t.Key}
		appliers.m[t.Key] = a
		go a.run()
	}
	a.pending = append(a.pending, c)
	appliers.Unlock()

	// Waiting for the batch leaves the caller's worker slot to another
	// task meanwhile, so that more changes join the batch.
	end := t.Wait.Begin()
	defer end()
	select {
	case <-c.done:
		return syncAfter(ctx, t, c.err)
	case <-ctx.Done():
	}
	appliers.Lock()
	for i, p := range a.pending {
		if p == c {
			a.pending = append(a.pending[:i:i], a.pending[i+1:]...)
			appliers.Unlock()
			return ctx.Err()
		}
	}
	appliers.Unlock()
	<-c.done
	return syncAfter(ctx, t, c.err)
}

// syncAfter copies the configuration to a remote server (Syncer) again
// after a change that failed, in the caller's task, so what was put back
// here is put back there before the task ends. Every Test pushes first
// too, so a failed copy is never tested or reloaded there.
func syncAfter(ctx context.Context, t Target, err error) error {
	if s, ok := t.Server.(Syncer); ok && err != nil {
		if serr := s.Sync(ctx); serr != nil {
			return errors.Join(err, fmt.Errorf("put back the configuration on the server: %w", serr))
		}
	}
	return err
}

// run applies batches until no change is pending. Only the first batch
// gathers: the changes that arrive while a batch is applied make up the
// next one, which goes at once.
func (a *applier) run() {
	a.gather()
	for {
		appliers.Lock()
		batch := a.take()
		if len(batch) == 0 {
			delete(appliers.m, a.key)
			appliers.Unlock()
			return
		}
		appliers.Unlock()
		start := time.Now()
		if applyBatch(batch[0].t, batch) {
			appliers.Lock()
			appliers.cycle[a.key] = time.Since(start)
			appliers.Unlock()
		}
	}
}

// gather waits while changes keep arriving, for at most as long as the
// last batch took.
func (a *applier) gather() {
	appliers.Lock()
	limit, ok := appliers.cycle[a.key]
	appliers.Unlock()
	if !ok {
		limit = firstGather
	}
	deadline := time.Now().Add(min(limit, maxGather))
	for {
		appliers.Lock()
		n := len(a.pending)
		appliers.Unlock()
		time.Sleep(gatherQuiet)
		appliers.Lock()
		grew := len(a.pending) > n
		appliers.Unlock()
		if !grew || time.Now().After(deadline) {
			return
		}
	}
}

// take removes the next batch from the pending changes: all of them, in
// order, but one change per file (a later change of the same file waits
// for the next batch). The caller holds the appliers lock.
func (a *applier) take() []*Change {
	seen := map[string]bool{}
	var batch, rest []*Change
	for _, c := range a.pending {
		if seen[c.Path] {
			rest = append(rest, c)
			continue
		}
		seen[c.Path] = true
		batch = append(batch, c)
	}
	a.pending = rest
	return batch
}

// applyBatch makes a batch of changes live and finishes each; t is the
// target of the first, whose server (the same for every change of a
// batch) runs the commands. It reports whether the server was reloaded.
func applyBatch(t Target, batch []*Change) bool {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()

	all := batch
	unlock, err := Lock(t.Dir)
	if err != nil {
		for _, c := range all {
			c.finish(err)
			c.release()
		}
		return false
	}
	batch = prepare(batch)
	defer func() {
		cleanSpares(batch)
		unlock()
		for _, c := range all {
			c.release()
		}
	}()

	// A batch that is small next to the configuration is tested on its
	// own first; a big one only when its test in the whole fails.
	pt, _ := t.Server.(Pretester)
	cands := candidates(batch)
	pretested := pt != nil && len(cands) > 0 && 2*len(cands) <= pt.Files()
	var suspect map[*Change]bool
	if pretested {
		suspect = pt.Pretest(ctx, cands)
	}
	// A batch whose process died between writing its files and the
	// reload left them on disk but not live: its mark says so, and this
	// batch tests and reloads whatever it holds.
	pending := exists(pendingPath(t.Dir))
	var group, alone []*Change
	for _, c := range batch {
		if c.Data == nil && !c.before.Exists {
			c.absent = true
			c.finish(nil)
			continue
		}
		if c.same() && !pending {
			// What the file holds went live when it was written (a reload
			// that fails puts the previous file back, and a batch that
			// dies leaves its mark): nothing to test or reload, which a
			// restore or verify that changes nothing of the site's vhost
			// would otherwise wait for.
			c.note("%s is unchanged: nothing to test or reload", c.Path)
			c.finish(nil)
			continue
		}
		if suspect[c] {
			c.log().Infof("%s failed %s on its own: testing it in the whole configuration", c.Path, t.Words.Pretest)
			alone = append(alone, c)
		} else {
			group = append(group, c)
		}
	}
	if len(group) == 0 && len(alone) == 0 && !pending {
		return false
	}
	generation, err := t.Server.Generation()
	if err == nil {
		err = markPending(t.Dir)
	}
	if err != nil {
		for _, c := range append(group, alone...) {
			c.finish(err)
		}
		return false
	}

	live, failed := tryGroup(ctx, t, group)
	if len(failed) > 0 && pt != nil && !pretested {
		// Find the files that fail on their own, then try the others
		// together again.
		suspect = pt.Pretest(ctx, candidates(failed))
		var again []*Change
		for _, c := range failed {
			if suspect[c] {
				c.log().Infof("%s failed %s on its own: testing it in the whole configuration", c.Path, t.Words.Pretest)
				alone = append(alone, c)
			} else {
				again = append(again, c)
			}
		}
		if len(again) < len(failed) {
			live, failed = tryGroup(ctx, t, again)
		}
	}
	alone = append(alone, failed...)
	// One by one, each tested in the configuration with the ones before.
	for _, c := range alone {
		if !applyOne(c) {
			continue
		}
		if err := t.Server.Test(ctx); err != nil {
			if rerr := putBack(c); rerr != nil {
				err = errors.Join(err, rerr)
			}
			c.finish(err)
			continue
		}
		c.note("%s configuration test passed (%s)", t.Words.Server, t.Words.Test)
		c.flush()
		live = append(live, c)
	}
	if len(live) == 0 && (!pending || t.Server.Test(ctx) != nil) {
		// Nothing of this batch went live: its files are as it found them.
		// A mark it found stays for the next batch, as does the
		// configuration a dead batch left broken.
		if !pending {
			unmarkPending(t)
		}
		return false
	}

	confirmed, err := t.Server.Reload(ctx, generation)
	if err != nil {
		// In reverse, as an undo: a file others need (an Apache platform
		// file) is put back last.
		for i := len(live) - 1; i >= 0; i-- {
			c := live[i]
			if rerr := putBack(c); rerr != nil {
				err = errors.Join(err, rerr)
			}
			c.finish(err)
		}
		if !pending {
			unmarkPending(t)
		}
		return false
	}
	unmarkPending(t)
	for _, c := range live {
		if len(live) == 1 {
			c.log().Infof("%s", t.Words.Reloaded)
		} else {
			c.log().Infof("%s once for %d changes", t.Words.Reloaded, len(live))
		}
		if !confirmed {
			c.log().Warnf("%s", t.Words.Unconfirmed)
		}
		c.finish(nil)
	}
	return true
}

// pendingPath is the mark a batch leaves in the configuration directory
// from before it writes its first file until its reload: when it is there
// while no batch holds the lock, what the files hold may not be live.
func pendingPath(dir string) string { return filepath.Join(dir, ".reload-pending") }

// markPending leaves the mark. It is not synced: it guards against the
// process dying, and after the machine stops the web server starts again
// from the files anyway.
func markPending(dir string) error {
	if err := os.WriteFile(pendingPath(dir), nil, 0o600); err != nil {
		return fmt.Errorf("mark the batch under way: %w", err)
	}
	return nil
}

// unmarkPending removes the mark once what the files hold is live.
func unmarkPending(t Target) {
	if err := os.Remove(pendingPath(t.Dir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Log.Warnf("remove %s: %v", pendingPath(t.Dir), err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// candidates returns the changes whose new content can be tested on its
// own.
func candidates(changes []*Change) []*Change {
	var out []*Change
	for _, c := range changes {
		if c.Data != nil && !c.same() {
			out = append(out, c)
		}
	}
	return out
}

// prepare records what each change's file holds and writes the new
// content of each into its spare, several at once, and returns the
// changes it could prepare; the others are finished with the error.
func prepare(batch []*Change) []*Change {
	errs := make([]error, len(batch))
	parallel(len(batch), func(i int) {
		c := batch[i]
		if c.before, errs[i] = TakeSnapshot(c.Path); errs[i] != nil {
			return
		}
		_, err := os.Lstat(c.sparePath())
		c.spareExisted = err == nil
		if c.Data == nil || c.same() {
			return
		}
		errs[i] = writeSpare(c.sparePath(), c.Data, c.Mode)
		c.spare = errs[i] == nil
	})
	var out []*Change
	for i, c := range batch {
		if errs[i] != nil {
			c.finish(errs[i])
			continue
		}
		out = append(out, c)
	}
	return out
}

// cleanSpares leaves each spare of the batch empty or gone: a spare holds
// the previous content of a swapped file (or a content put back), and no
// old file may linger. A file that was rewritten keeps its spare, empty,
// so that its next rewrite creates no file (a regeneration rewrites every
// vhost, and making a file costs far more than rewriting one on many file
// systems). Otherwise a spare is there after the batch only if it was
// before (for an undo: before the change it undoes), so a failed task
// leaves the files as it found them, and a removed file takes its spare
// along.
func cleanSpares(batch []*Change) {
	parallel(len(batch), func(i int) {
		c := batch[i]
		keep := c.spareExisted
		if c.err == nil && c.how == swapped {
			keep = true
		}
		if c.err == nil && c.undoneSpare != nil {
			keep = *c.undoneSpare
		}
		if c.Data == nil {
			keep = false
		}
		if !keep {
			os.Remove(c.sparePath())
		} else if err := os.Truncate(c.sparePath(), 0); errors.Is(err, fs.ErrNotExist) {
			os.WriteFile(c.sparePath(), nil, 0o600)
		}
	})
}

// parallel runs fn(0) ... fn(n-1) on a few goroutines.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(16, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// writeSpare writes data to the spare path with mode, and syncs it.
func writeSpare(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// tryGroup applies the changes of group together and tests the whole
// configuration. When the test passes it returns them as live; when it
// fails, it puts them back, in reverse (so a file others need is put back
// last), and returns them as failed, in their order, but a lone change,
// which fails with the web server's message at once.
func tryGroup(ctx context.Context, t Target, group []*Change) (live, failed []*Change) {
	applied := applyAll(group)
	if len(applied) == 0 {
		return nil, nil
	}
	err := t.Server.Test(ctx)
	if err == nil {
		for _, c := range applied {
			if len(applied) == 1 {
				c.note("%s configuration test passed (%s)", t.Words.Server, t.Words.Test)
			} else {
				c.note("%s configuration test passed (%s) with %d changes together", t.Words.Server, t.Words.Test, len(applied))
			}
			c.flush()
		}
		return applied, nil
	}
	for i := len(applied) - 1; i >= 0; i-- {
		c := applied[i]
		if rerr := putBack(c); rerr != nil {
			c.finish(errors.Join(err, rerr))
			continue
		}
		if len(applied) == 1 {
			c.finish(err)
			continue
		}
		failed = append(failed, c)
	}
	slices.Reverse(failed)
	return nil, failed
}

// applyAll applies each change of a group and returns those applied; the
// others are finished with their error.
func applyAll(group []*Change) []*Change {
	var applied []*Change
	for _, c := range group {
		if applyOne(c) {
			applied = append(applied, c)
		}
	}
	return applied
}

// applyOne writes or removes c's file; when that fails, c is finished with
// the error and applyOne reports false.
func applyOne(c *Change) bool {
	var err error
	switch {
	case c.Data == nil:
		if err = os.Remove(c.Path); err == nil {
			c.note("removed %s", c.Path)
		}
		return applied(c, err)
	case c.spare && c.before.Exists:
		if err = exchange(c.sparePath(), c.Path); err == nil {
			c.how = swapped
			break
		}
		// A file system that cannot exchange: rename.
		if err = os.Rename(c.sparePath(), c.Path); err == nil {
			c.how, c.spare = moved, false
		}
	case c.spare:
		if err = os.Rename(c.sparePath(), c.Path); err == nil {
			c.how, c.spare = moved, false
		}
	default:
		if err = WriteFile(c.Path, c.Data, c.Mode); err == nil {
			c.how = written
		}
	}
	if err == nil {
		if c.undo {
			c.note("put back the previous %s", c.Path)
		} else {
			c.note("wrote %s", c.Path)
		}
	}
	return applied(c, err)
}

func applied(c *Change, err error) bool {
	if err != nil {
		c.finish(fmt.Errorf("apply %s: %w", c.Path, err))
		return false
	}
	return true
}

// putBack restores c's file as it was before the change; the spare holds
// the new content again where it can.
func putBack(c *Change) error {
	var err error
	switch {
	case c.how == swapped:
		err = exchange(c.sparePath(), c.Path)
	case c.how == moved && !c.before.Exists:
		if err = os.Rename(c.Path, c.sparePath()); err == nil {
			c.spare = true
		}
	default:
		err = c.before.Restore()
	}
	if err != nil {
		return fmt.Errorf("put back %s: %w", c.Path, err)
	}
	c.how = notApplied
	if c.before.Exists {
		c.note("put back the previous %s", c.Path)
	} else {
		c.note("removed %s again", c.Path)
	}
	c.flush()
	return nil
}
