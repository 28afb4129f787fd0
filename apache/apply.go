package apache

// This file makes the changes of WriteSite, WritePlatform, DeleteSite and
// their undos live. Changes to one server's configuration made at the
// same time in one process (the dispatcher runs many tasks at once) are
// coalesced: they go live together, behind one configuration test and one
// graceful restart, and each caller is told its own result. A broken file
// never reaches the running Apache: when the test of a batch fails, the
// batch is put back and its changes are applied one by one, in the order
// they came (a platform file before the vhosts that need it), each tested
// in the whole configuration, so only the bad ones are rejected, with
// Apache's message.
//
// Unlike the nginx driver, a new vhost is not first tested on its own:
// Apache cannot test a configuration without the system's modules and
// settings, which only the configured test command knows about.
//
// A file is replaced without creating one: its new content is written
// into a spare file beside it (.<name>.conf.spare, which no include
// matches) and synced, then swapped with it in one atomic step
// (renameat2 RENAME_EXCHANGE), and swapped back if the test fails. The
// spare is emptied afterwards.
//
// A change that finds the server idle goes at once (after a couple of
// milliseconds in which others may join). When changes keep arriving at
// an idle server, they are gathered for at most as long as the last test
// and restart took; after that, the changes that arrive while a batch is
// being tested and restarted make up the next one, which goes at once, as
// a database commits a group. The engine is the nginx
// driver's (nginx/apply.go), which this package may not import.

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
	a    *Apache // the service of the caller: its log gets the change's messages
	path string
	data []byte // the new content; nil for a removal
	mode fs.FileMode
	// undo words the log as the undo of an earlier change.
	undo bool

	// Set by the batch, before done is closed.
	before snapshot // what path held before the change
	absent bool     // a removal of a file that was not there: nothing done
	err    error
	ended  bool
	done   chan struct{}

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

func (c *change) log() *aegir.TaskLog { return c.a.env.Log }

// finish records the result; release tells the caller, once the batch has
// cleaned up.
func (c *change) finish(err error) {
	c.err, c.ended = err, true
}

func (c *change) release() {
	if !c.ended {
		c.err = errors.New("apache: the change was not applied")
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
// across the tasks of the process, each of which builds its own Apache.
// (Across processes, the lock file serialises batches.)
var appliers = struct {
	sync.Mutex
	m     map[string]*applier
	cycle map[string]time.Duration
}{m: map[string]*applier{}, cycle: map[string]time.Duration{}}

// applyKey names what a batch shares: the configuration directory and how
// Apache is tested, restarted and asked.
func (a *Apache) applyKey() string {
	s := a.server
	return strings.Join([]string{a.confDir(), strings.Join(s.HTTPTestCmd, " "), strings.Join(s.HTTPRestartCmd, " "),
		strconv.Itoa(s.HTTPPort), s.RemoteHost}, "\x00")
}

// submit makes c live, together with whatever changes of the same server
// other callers submit meanwhile, and returns its result. A caller whose
// ctx ends while its change waits withdraws it; once its batch has
// started, it waits for the result, which is bounded by batchTimeout.
func (a *Apache) submit(ctx context.Context, c *change) error {
	c.a, c.done = a, make(chan struct{})
	key := a.applyKey()
	appliers.Lock()
	ap := appliers.m[key]
	if ap == nil {
		ap = &applier{key: key}
		appliers.m[key] = ap
		go ap.run()
	}
	ap.pending = append(ap.pending, c)
	appliers.Unlock()

	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
	}
	appliers.Lock()
	for i, p := range ap.pending {
		if p == c {
			ap.pending = append(ap.pending[:i:i], ap.pending[i+1:]...)
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
		if batch[0].a.applyBatch(batch) {
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

// applyBatch makes a batch of changes live and finishes each; a is the
// service of the first, whose runner and server settings (the same for
// every change of a batch) run the commands. It reports whether Apache was
// restarted.
func (a *Apache) applyBatch(batch []*change) bool {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()

	all := batch
	unlock, err := a.lock()
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

	var group []*change
	for _, c := range batch {
		if c.data == nil && !c.before.exists {
			c.absent = true
			c.finish(nil)
			continue
		}
		group = append(group, c)
	}
	if len(group) == 0 {
		return false
	}
	token, err := a.writeGeneration()
	if err != nil {
		for _, c := range group {
			c.finish(err)
		}
		return false
	}

	live, alone := a.tryGroup(ctx, group)
	// One by one, each tested in the configuration with the ones before.
	for _, c := range alone {
		if !a.applyOne(c) {
			continue
		}
		if err := a.test(ctx); err != nil {
			if rerr := a.putBack(c); rerr != nil {
				err = errors.Join(err, rerr)
			}
			c.finish(err)
			continue
		}
		c.log().Infof("apache configuration test passed (%s)", strings.Join(a.server.HTTPTestCmd, " "))
		live = append(live, c)
	}
	if len(live) == 0 {
		return false
	}

	if err := a.reload(ctx); err != nil {
		for i := len(live) - 1; i >= 0; i-- {
			c := live[i]
			if rerr := a.putBack(c); rerr != nil {
				err = errors.Join(err, rerr)
			}
			c.finish(err)
		}
		return false
	}
	confirmed := a.waitLive(ctx, token)
	for _, c := range live {
		if len(live) == 1 {
			c.log().Infof("restarted apache gracefully (%s)", strings.Join(a.server.HTTPRestartCmd, " "))
		} else {
			c.log().Infof("restarted apache gracefully (%s) once for %d changes", strings.Join(a.server.HTTPRestartCmd, " "), len(live))
		}
		if !confirmed {
			c.log().Warnf("apache did not confirm the graceful restart within %s", liveTimeout)
		}
		c.finish(nil)
	}
	return true
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
// fails, it puts them back and returns them as failed, in reverse (so the
// platform files the vhosts need are put back last), but a lone change,
// which fails with Apache's message at once.
func (a *Apache) tryGroup(ctx context.Context, group []*change) (live, failed []*change) {
	applied := a.applyAll(group)
	if len(applied) == 0 {
		return nil, nil
	}
	err := a.test(ctx)
	if err == nil {
		for _, c := range applied {
			if len(applied) == 1 {
				c.log().Infof("apache configuration test passed (%s)", strings.Join(a.server.HTTPTestCmd, " "))
			} else {
				c.log().Infof("apache configuration test passed (%s) with %d changes together", strings.Join(a.server.HTTPTestCmd, " "), len(applied))
			}
		}
		return applied, nil
	}
	for i := len(applied) - 1; i >= 0; i-- {
		c := applied[i]
		if rerr := a.putBack(c); rerr != nil {
			c.finish(errors.Join(err, rerr))
			continue
		}
		if len(applied) == 1 {
			c.finish(err)
			continue
		}
		failed = append([]*change{c}, failed...)
	}
	return nil, failed
}

// applyAll applies each change of a group and returns those applied; the
// others are finished with their error.
func (a *Apache) applyAll(group []*change) []*change {
	var applied []*change
	for _, c := range group {
		if a.applyOne(c) {
			applied = append(applied, c)
		}
	}
	return applied
}

// applyOne writes or removes c's file; when that fails, c is finished with
// the error and applyOne reports false.
func (a *Apache) applyOne(c *change) bool {
	var err error
	switch {
	case c.data == nil:
		if err = os.Remove(c.path); err == nil {
			c.log().Infof("removed %s", c.path)
		}
		return a.applied(c, err)
	case c.same():
		c.log().Infof("%s is unchanged", c.path)
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
			c.log().Infof("put back the previous %s", c.path)
		} else {
			c.log().Infof("wrote %s", c.path)
		}
	}
	return a.applied(c, err)
}

func (a *Apache) applied(c *change, err error) bool {
	if err != nil {
		c.finish(fmt.Errorf("apply %s: %w", c.path, err))
		return false
	}
	return true
}

// putBack restores c's file as it was before the change; the spare holds
// the new content again where it can.
func (a *Apache) putBack(c *change) error {
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
		c.log().Infof("put back the previous %s", c.path)
	} else {
		c.log().Infof("removed %s again", c.path)
	}
	return nil
}
