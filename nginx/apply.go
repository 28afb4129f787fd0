package nginx

// This file makes the changes of WriteSite, DeleteSite and their undos
// live. Changes to one server's configuration made at the same time in one
// process (the dispatcher runs many tasks at once) are coalesced: they go
// live together, behind one nginx -t and one reload, and each caller is
// told its own result. A broken vhost never reaches the running nginx:
//
//   - each new vhost is first tested on its own, in a small configuration
//     made of the live server file with only the batch's new vhosts in
//     place of vhost.d (nginx -t of it takes a few milliseconds when the
//     batch is small); when that fails, halving the set finds the vhosts
//     that fail alone, and only those are set aside;
//   - the batch is then written and the whole configuration tested, as
//     before any reload; if that still fails (vhosts that only clash with
//     others), the batch is put back and its changes are applied one by
//     one, each tested in the whole configuration, so only the bad ones
//     are rejected, with nginx's message;
//   - vhosts set aside by the first test go through that one-by-one path
//     too, so a vhost is only ever rejected by the test of the real
//     configuration.
//
// When a batch rewrites most of the configuration (every vhost
// regenerated), the small configuration would be as big as the whole one,
// and testing it first would double the cost of every batch: such a batch
// is tested whole first, and only when that fails are its vhosts tested on
// their own to find the broken ones.
//
// A vhost is replaced without creating a file: its new content is written
// into a spare file beside it (.<uri>.conf.spare, which no include
// matches) and synced, then swapped with it in one atomic step
// (renameat2 RENAME_EXCHANGE), and swapped back if the test fails. Making
// a file costs far more than rewriting one on many file systems, and a
// regeneration rewrites every vhost. The spare is emptied afterwards.
//
// A change that finds the server idle goes at once (after a couple of
// milliseconds in which others may join). When changes keep arriving at
// an idle server, they are gathered for at most as long as the last test
// and reload took, so a flood goes in one or two batches rather than a
// small one first. After that, the changes that arrive while a batch is
// being tested and reloaded make up the next one, which goes at once, as
// a database commits a group.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// change is one file of a server's configuration to write or remove.
type change struct {
	n    *Nginx // the service of the caller: its log gets the change's messages
	path string
	data []byte // the new content; nil for a removal
	mode fs.FileMode
	// pretest says data is a vhost, tested on its own before it joins a
	// batch.
	pretest bool
	// undo words the log as the undo of an earlier change.
	undo bool

	// Set by the batch, before done is closed.
	before snapshot // what path held before the change
	absent bool     // a removal of a file that was not there: nothing done
	err    error
	ended  bool
	done   chan struct{}
	// notes are log lines held until the test that decides them, so that
	// the lines of one step reach the task's log together.
	notes []string

	// How the batch applies it.
	spare bool   // the spare file holds data
	how   method // how path got data, while it holds it
}

// method is how a change's file got its new content.
type method int

const (
	notApplied method = iota
	swapped           // exchanged with the spare, which holds the previous content
	moved             // the spare renamed over it
	written           // written with writeFile
)

// spare is the file beside path that a new content is written to first.
func (c *change) sparePath() string {
	dir, base := filepath.Split(c.path)
	return filepath.Join(dir, "."+base+".spare")
}

// same reports whether the file already holds the new content.
func (c *change) same() bool {
	return c.data != nil && c.before.exists && bytes.Equal(c.before.data, c.data) && c.before.mode == c.mode
}

func (c *change) log() *aegir.TaskLog { return c.n.env.Log }

// finish records the result; release tells the caller, once the batch has
// cleaned up.
func (c *change) finish(err error) {
	c.err, c.ended = err, true
}

// note holds a log line until flush.
func (c *change) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// flush logs the held lines.
func (c *change) flush() {
	for _, line := range c.notes {
		c.log().Infof("%s", line)
	}
	c.notes = nil
}

func (c *change) release() {
	c.flush()
	if !c.ended {
		c.err = errors.New("nginx: the change was not applied")
	}
	close(c.done)
}

// applier gathers the pending changes of one server and applies them, a
// batch at a time, from a goroutine that lives while there are any.
type applier struct {
	key     string
	pending []*change
}

// appliers holds an applier per server configuration with changes under
// way, and how long the last test and reload of each took. It is the one
// piece of package state besides the driver registry: coalescing is
// across the tasks of the process, each of which builds its own Nginx.
// (Across processes, the lock file serialises batches.)
var appliers = struct {
	sync.Mutex
	m     map[string]*applier
	cycle map[string]time.Duration
}{m: map[string]*applier{}, cycle: map[string]time.Duration{}}

// applyKey names what a batch shares: the configuration directory and how
// nginx is tested, reloaded and asked.
func (n *Nginx) applyKey() string {
	s := n.server
	return strings.Join([]string{n.confDir(), strings.Join(s.HTTPTestCmd, " "), strings.Join(s.HTTPRestartCmd, " "),
		strconv.Itoa(s.HTTPPort), s.RemoteHost}, "\x00")
}

// submit makes c live, together with whatever changes of the same server
// other callers submit meanwhile, and returns its result. A caller whose
// ctx ends while its change waits withdraws it; once its batch has
// started, it waits for the result, which is bounded by batchTimeout.
func (n *Nginx) submit(ctx context.Context, c *change) error {
	c.n, c.done = n, make(chan struct{})
	key := n.applyKey()
	appliers.Lock()
	a := appliers.m[key]
	if a == nil {
		a = &applier{key: key}
		appliers.m[key] = a
		go a.run()
	}
	a.pending = append(a.pending, c)
	appliers.Unlock()

	select {
	case <-c.done:
		return c.err
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
	return c.err
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
		if batch[0].n.applyBatch(batch) {
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
func (a *applier) take() []*change {
	seen := map[string]bool{}
	var batch, rest []*change
	for _, c := range a.pending {
		if seen[c.path] {
			rest = append(rest, c)
			continue
		}
		seen[c.path] = true
		batch = append(batch, c)
	}
	a.pending = rest
	return batch
}

// applyBatch makes a batch of changes live and finishes each; n is the
// service of the first, whose runner and server settings (the same for
// every change of a batch) run the commands. It reports whether nginx was
// reloaded.
func (n *Nginx) applyBatch(batch []*change) bool {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()

	all := batch
	unlock, err := n.lock()
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
	cands := candidates(batch)
	pretested := len(cands) > 0 && 2*len(cands) <= n.vhostCount()
	var suspect map[*change]bool
	if pretested {
		suspect = n.pretest(ctx, cands)
	}
	var group, alone []*change
	for _, c := range batch {
		if c.data == nil && !c.before.exists {
			c.absent = true
			c.finish(nil)
			continue
		}
		if suspect[c] {
			c.log().Infof("%s failed nginx -t on its own: testing it in the whole configuration", c.path)
			alone = append(alone, c)
		} else {
			group = append(group, c)
		}
	}
	if len(group) == 0 && len(alone) == 0 {
		return false
	}
	generation, err := n.writeGeneration()
	if err != nil {
		for _, c := range append(group, alone...) {
			c.finish(err)
		}
		return false
	}

	live, failed := n.tryGroup(ctx, group)
	if len(failed) > 0 && !pretested {
		// Find the vhosts that fail on their own, then try the others
		// together again.
		suspect = n.pretest(ctx, candidates(failed))
		var again []*change
		for _, c := range failed {
			if suspect[c] {
				c.log().Infof("%s failed nginx -t on its own: testing it in the whole configuration", c.path)
				alone = append(alone, c)
			} else {
				again = append(again, c)
			}
		}
		if len(again) < len(failed) {
			live, failed = n.tryGroup(ctx, again)
		}
	}
	alone = append(alone, failed...)
	// One by one, each tested in the configuration with the ones before.
	for _, c := range alone {
		if !n.applyOne(c) {
			continue
		}
		if err := n.test(ctx); err != nil {
			if rerr := n.putBack(c); rerr != nil {
				err = errors.Join(err, rerr)
			}
			c.finish(err)
			continue
		}
		c.note("nginx configuration test passed (%s)", strings.Join(n.server.HTTPTestCmd, " "))
		c.flush()
		live = append(live, c)
	}
	if len(live) == 0 {
		return false
	}

	old := n.workers(ctx)
	if err := n.reload(ctx); err != nil {
		for _, c := range live {
			if rerr := n.putBack(c); rerr != nil {
				err = errors.Join(err, rerr)
			}
			c.finish(err)
		}
		return false
	}
	confirmed := n.waitLive(ctx, generation, old)
	for _, c := range live {
		if len(live) == 1 {
			c.log().Infof("reloaded nginx (%s)", strings.Join(n.server.HTTPRestartCmd, " "))
		} else {
			c.log().Infof("reloaded nginx (%s) once for %d changes", strings.Join(n.server.HTTPRestartCmd, " "), len(live))
		}
		if !confirmed {
			c.log().Warnf("nginx did not confirm the reload within %s", liveTimeout)
		}
		c.finish(nil)
	}
	return true
}

// candidates returns the changes whose new vhost can be tested on its own.
func candidates(changes []*change) []*change {
	var out []*change
	for _, c := range changes {
		if c.pretest && c.data != nil && !c.same() {
			out = append(out, c)
		}
	}
	return out
}

// vhostCount returns how many vhosts vhost.d holds (*.conf files, not the
// staged ones).
func (n *Nginx) vhostCount() int {
	f, err := os.Open(filepath.Join(n.confDir(), "vhost.d"))
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	count := 0
	for _, name := range names {
		if strings.HasSuffix(name, ".conf") && !strings.HasPrefix(name, ".") {
			count++
		}
	}
	return count
}

// prepare records what each change's file holds and writes the new
// content of each into its spare, several at once, and returns the
// changes it could prepare; the others are finished with the error.
func prepare(batch []*change) []*change {
	errs := make([]error, len(batch))
	parallel(len(batch), func(i int) {
		c := batch[i]
		if c.before, errs[i] = takeSnapshot(c.path); errs[i] != nil || c.data == nil || c.same() {
			return
		}
		errs[i] = writeSpare(c.sparePath(), c.data, c.mode)
		c.spare = errs[i] == nil
	})
	var out []*change
	for i, c := range batch {
		if errs[i] != nil {
			c.finish(errs[i])
			continue
		}
		out = append(out, c)
	}
	return out
}

// cleanSpares removes the spares of the batch's changes, which hold the
// previous content of a swapped file (or a content put back), so no old
// vhost lingers and a failed task leaves no file behind.
func cleanSpares(batch []*change) {
	parallel(len(batch), func(i int) {
		os.Remove(batch[i].sparePath())
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
// fails, it puts them back and returns them as failed, but a lone change,
// which fails with nginx's message at once.
func (n *Nginx) tryGroup(ctx context.Context, group []*change) (live, failed []*change) {
	applied := n.applyAll(group)
	if len(applied) == 0 {
		return nil, nil
	}
	err := n.test(ctx)
	if err == nil {
		for _, c := range applied {
			if len(applied) == 1 {
				c.note("nginx configuration test passed (%s)", strings.Join(n.server.HTTPTestCmd, " "))
			} else {
				c.note("nginx configuration test passed (%s) with %d changes together", strings.Join(n.server.HTTPTestCmd, " "), len(applied))
			}
			c.flush()
		}
		return applied, nil
	}
	for _, c := range applied {
		if rerr := n.putBack(c); rerr != nil {
			c.finish(errors.Join(err, rerr))
			continue
		}
		if len(applied) == 1 {
			c.finish(err)
			continue
		}
		failed = append(failed, c)
	}
	return nil, failed
}

// applyAll applies each change of a group and returns those applied; the
// others are finished with their error.
func (n *Nginx) applyAll(group []*change) []*change {
	var applied []*change
	for _, c := range group {
		if n.applyOne(c) {
			applied = append(applied, c)
		}
	}
	return applied
}

// applyOne writes or removes c's file; when that fails, c is finished with
// the error and applyOne reports false.
func (n *Nginx) applyOne(c *change) bool {
	var err error
	switch {
	case c.data == nil:
		if err = os.Remove(c.path); err == nil {
			c.note("removed %s", c.path)
		}
		return n.applied(c, err)
	case c.same():
		c.note("%s is unchanged", c.path)
		return true
	case c.spare && c.before.exists:
		if err = exchange(c.sparePath(), c.path); err == nil {
			c.how = swapped
			break
		}
		// A file system that cannot exchange: rename.
		if err = os.Rename(c.sparePath(), c.path); err == nil {
			c.how, c.spare = moved, false
		}
	case c.spare:
		if err = os.Rename(c.sparePath(), c.path); err == nil {
			c.how, c.spare = moved, false
		}
	default:
		if err = writeFile(c.path, c.data, c.mode); err == nil {
			c.how = written
		}
	}
	if err == nil {
		if c.undo {
			c.note("put back the previous %s", c.path)
		} else {
			c.note("wrote %s", c.path)
		}
	}
	return n.applied(c, err)
}

func (n *Nginx) applied(c *change, err error) bool {
	if err != nil {
		c.finish(fmt.Errorf("apply %s: %w", c.path, err))
		return false
	}
	return true
}

// putBack restores c's file as it was before the change; the spare holds
// the new content again where it can.
func (n *Nginx) putBack(c *change) error {
	if c.same() {
		return nil
	}
	var err error
	switch {
	case c.how == swapped:
		err = exchange(c.sparePath(), c.path)
	case c.how == moved && !c.before.exists:
		if err = os.Rename(c.path, c.sparePath()); err == nil {
			c.spare = true
		}
	default:
		err = c.before.restore()
	}
	if err != nil {
		return fmt.Errorf("put back %s: %w", c.path, err)
	}
	c.how = notApplied
	if c.before.exists {
		c.note("put back the previous %s", c.path)
	} else {
		c.note("removed %s again", c.path)
	}
	c.flush()
	return nil
}

// pretestArgs returns the command that runs nginx -t on another
// configuration: the test command up to and including the nginx binary
// (so a "sudo" before it stays). It returns nil when the test command
// does not run nginx itself (a wrapper script), or nginx runs elsewhere.
func (n *Nginx) pretestArgs() []string {
	if !n.local() {
		return nil
	}
	for i, a := range n.server.HTTPTestCmd {
		if base := filepath.Base(a); base == "nginx" || strings.HasPrefix(base, "nginx-") {
			return append([]string(nil), n.server.HTTPTestCmd[:i+1]...)
		}
	}
	return nil
}

// pretest tests the new vhosts of cands on their own and returns those
// that fail. It runs nginx -t on a small configuration: the live server
// file with its include of vhost.d replaced by includes of the spares of
// the vhosts tested, so nothing is copied. All of them are tested at once;
// only when that fails is the set halved until the failing vhosts are
// found. It returns nil when it cannot tell: no server file yet, a test
// command that does not run nginx, or a small configuration that fails
// without any vhost (the server file relies on something of the system's
// nginx.conf).
func (n *Nginx) pretest(ctx context.Context, cands []*change) map[*change]bool {
	if len(cands) == 0 {
		return nil
	}
	args := n.pretestArgs()
	server, err := os.ReadFile(n.ServerFile())
	include := []byte("include " + filepath.Join(n.confDir(), "vhost.d") + "/*.conf;")
	if args == nil || err != nil || !bytes.Contains(server, include) {
		return nil
	}
	dir, err := os.MkdirTemp(n.confDir(), ".pretest-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	runs := 0
	try := func(set []*change) error {
		runs++
		var includes bytes.Buffer
		includes.WriteString("# the vhosts tested on their own\n")
		for _, c := range set {
			path := c.sparePath()
			if !c.spare {
				// The spare is gone (renamed over the file, and put back).
				path = filepath.Join(dir, fmt.Sprintf("vhost%d-%s", runs, filepath.Base(c.path)))
				if err := os.WriteFile(path, c.data, 0o600); err != nil {
					return err
				}
			}
			fmt.Fprintf(&includes, "include %s;\n", path)
		}
		conf := bytes.Replace(server, include, includes.Bytes(), 1)
		server := filepath.Join(dir, fmt.Sprintf("server%d.conf", runs))
		if err := os.WriteFile(server, conf, 0o600); err != nil {
			return err
		}
		main := filepath.Join(dir, fmt.Sprintf("nginx%d.conf", runs))
		text := fmt.Sprintf("# nginx -t of new vhosts on their own, by aegir\npid %s/nginx.pid;\nevents {}\nhttp {\n    include %s;\n}\n", dir, server)
		if err := os.WriteFile(main, []byte(text), 0o600); err != nil {
			return err
		}
		_, err := n.env.Runner.Run(ctx, aegir.Command{Args: append(args[:len(args):len(args)],
			"-t", "-q", "-p", dir+"/", "-c", main, "-e", filepath.Join(dir, "error.log"))})
		return err
	}
	if try(cands) == nil {
		return nil
	}
	if try(nil) != nil {
		return nil
	}
	suspect := map[*change]bool{}
	var bisect func(set []*change)
	bisect = func(set []*change) {
		if len(set) == 1 {
			suspect[set[0]] = true
			return
		}
		h := len(set) / 2
		for _, half := range [][]*change{set[:h], set[h:]} {
			if try(half) != nil {
				bisect(half)
			}
		}
	}
	bisect(cands)
	return suspect
}
