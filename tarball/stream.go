package tarball

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/aegir-hosting/aegir"
)

// ExtractStream unpacks the archive at path into dest, which must not
// exist yet, as Extract does, but in one pass, and hands the regular file
// name (relative to dest, such as "database.sql") to consume as it is
// written: consume runs in a goroutine of its own from the moment the file
// starts, with a reader that follows the file on disk, waits for more
// while it is being written and ends where the file does. A restore
// imports its database dump that way while the files after it unpack.
// ExtractStream returns once both are done, with the first error (an
// error of consume stops the unpack; a failed unpack fails consume's
// reader and cancels its context), and whether consume was called: it is
// not when the archive holds no such regular file.
//
// The checks are Extract's, made on each entry before it is written: an
// archive refused for an entry has had the entries before it written in
// dest, which is then removed, as on any error. Nothing is ever written
// outside dest: entries are written through an os.Root on dest, and
// symlinks, the only entries that could lead out of it, are created last,
// once every entry has been read and every symlink resolved against the
// whole archive, so no entry is ever written through one. Hard links are
// made to files already written, through the same root. A single pass
// decompresses the archive once, where Extract's first pass, which reads
// everything before writing anything, decompresses it twice.
func ExtractStream(ctx context.Context, path, dest string, opts Options, name string, consume func(context.Context, io.Reader) error) (bool, error) {
	if _, err := os.Lstat(dest); err == nil {
		return false, aegir.Errorf(aegir.ECONFLICT, "restore destination %s already exists", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("restore into %s: %w", dest, bare(err))
	}
	limit, err := opts.limit(dest)
	if err != nil {
		return false, err
	}
	tr, closeAll, err := openArchive(path)
	if err != nil {
		return false, err
	}
	defer closeAll()
	if err := os.Mkdir(dest, 0o755); errors.Is(err, fs.ErrExist) {
		return false, aegir.Errorf(aegir.ECONFLICT, "restore destination %s already exists", dest)
	} else if err != nil {
		return false, fmt.Errorf("restore into %s: %w", dest, bare(err))
	}
	root, err := os.OpenRoot(dest)
	if err == nil {
		err = os.Chmod(dest, 0o755) // whatever the umask
	}
	if err != nil {
		if root != nil {
			root.Close()
		}
		os.RemoveAll(dest)
		return false, fmt.Errorf("restore into %s: %w", dest, bare(err))
	}
	// consume is cancelled when the unpack fails, and the unpack stops at
	// its next entry (or write of the streamed file) when consume fails.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &streamer{name: name, consume: consume, ctx: cctx, cancel: cancel}
	x := &extractor{
		ctx: ctx, root: root, dest: dest,
		chown: opts.KeepOwner && os.Geteuid() == 0,
		made:  map[string]bool{".": true},
		buf:   make([]byte, copyBufferSize),
		tee:   s.start, archive: path,
	}
	err = extractOnePass(ctx, path, tr, x, s.stopped, limit)
	root.Close()
	consumeFirst := s.failed() // then the unpack only stopped because of it
	if cerr := s.wait(err); cerr != nil && (err == nil || consumeFirst) {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(dest)
		return s.started, err
	}
	return s.started, nil
}

// extractOnePass checks and writes each entry in turn, symlinks excepted,
// then, with the whole archive known, checks and creates the symlinks and
// sets the directories' attributes.
func extractOnePass(ctx context.Context, path string, tr *tar.Reader, x *extractor, stopped func() error, limit int64) error {
	c := &checker{path: path, kinds: map[string]byte{}, symlinks: map[string]string{}, limit: limit}
	var entries []entry
	var symlinks []struct {
		e   entry
		hdr *tar.Header
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("restore %s: %w", path, err)
		}
		if err := stopped(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return corrupt(path, err)
		}
		e, err := c.check(hdr)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		if e.typ == tar.TypeSymlink {
			if err := x.mkParent(e.name); err != nil {
				return err
			}
			symlinks = append(symlinks, struct {
				e   entry
				hdr *tar.Header
			}{e, hdr})
			continue
		}
		if err := x.write(tr, hdr, e); err != nil {
			return err
		}
	}
	if len(entries) == 0 {
		return aegir.Errorf(aegir.EINVALID, "backup %s holds no entries", path)
	}
	if err := c.checkSymlinks(entries); err != nil {
		return err
	}
	for _, l := range symlinks {
		if err := x.write(tr, l.hdr, l.e); err != nil {
			return err
		}
	}
	return x.finishDirs()
}

// streamer runs consume on the streamed file.
type streamer struct {
	name    string
	consume func(context.Context, io.Reader) error
	ctx     context.Context
	cancel  context.CancelFunc
	started bool
	g       *growing
	done    chan error

	mu        sync.Mutex
	consumeEr error // consume's error, once it returned one
}

// failed reports whether consume has returned an error already.
func (s *streamer) failed() bool { return s.stopped() != nil }

// stopped returns consume's error, once it has returned one.
func (s *streamer) stopped() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumeEr
}

// start is the extractor's tee: for the streamed file, it starts consume
// on a reader of f and returns the writer's side; for any other file, nil.
func (s *streamer) start(name string, f *os.File) (*growing, error) {
	if s.consume == nil || s.started || name != s.name {
		return nil, nil
	}
	r, err := os.Open(f.Name())
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", f.Name(), bare(err))
	}
	s.started = true
	s.g = newGrowing(s.stopped)
	s.done = make(chan error, 1)
	go func() {
		defer r.Close()
		err := s.consume(s.ctx, &tailReader{g: s.g, f: r})
		if err != nil {
			s.mu.Lock()
			s.consumeEr = err
			s.mu.Unlock()
			s.cancel()
		}
		s.done <- err
	}()
	return s.g, nil
}

// wait ends the stream (failing its reader when the unpack failed) and
// returns consume's error.
func (s *streamer) wait(unpackErr error) error {
	if !s.started {
		return nil
	}
	if unpackErr != nil {
		s.g.fail(unpackErr)
		s.cancel()
	} else {
		s.g.fail(io.ErrUnexpectedEOF) // a no-op once the file was complete
	}
	return <-s.done
}

// growing is the state of a file being written that a tailReader follows.
type growing struct {
	mu   sync.Mutex
	cond *sync.Cond
	size int64 // bytes written so far
	done bool  // the file is complete
	err  error // the writer failed: the reader fails with it
	// stopped returns the reader's error once it gave up, to stop the
	// writer.
	stopped func() error
}

func newGrowing(stopped func() error) *growing {
	g := &growing{stopped: stopped}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// wrote records n more bytes in the file.
func (g *growing) wrote(n int) {
	g.mu.Lock()
	g.size += int64(n)
	g.mu.Unlock()
	g.cond.Broadcast()
}

// finish marks the file complete.
func (g *growing) finish() {
	g.mu.Lock()
	g.done = true
	g.mu.Unlock()
	g.cond.Broadcast()
}

// fail ends an incomplete file with err.
func (g *growing) fail(err error) {
	g.mu.Lock()
	if !g.done && g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.cond.Broadcast()
}

// tailReader reads a growing file from its own descriptor, as far as it
// has been written.
type tailReader struct {
	g   *growing
	f   *os.File
	off int64
}

func (r *tailReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	g := r.g
	g.mu.Lock()
	for r.off >= g.size && !g.done && g.err == nil {
		g.cond.Wait()
	}
	size, done, err := g.size, g.done, g.err
	g.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if r.off >= size && done {
		return 0, io.EOF
	}
	if int64(len(p)) > size-r.off {
		p = p[:size-r.off]
	}
	n, rerr := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if rerr == io.EOF && n > 0 {
		rerr = nil
	}
	if rerr != nil {
		return n, fmt.Errorf("read %s: %w", r.f.Name(), bare(rerr))
	}
	return n, nil
}

// teeWriter writes the streamed file and tells its reader how far it is.
type teeWriter struct {
	f *os.File
	g *growing
}

func (w *teeWriter) Write(p []byte) (int, error) {
	if err := w.g.stopped(); err != nil {
		return 0, err
	}
	n, err := w.f.Write(p)
	if n > 0 {
		w.g.wrote(n)
	}
	return n, err
}
