package tarball

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"

	"github.com/aegir-hosting/aegir"
)

// Options tune Extract.
type Options struct {
	// KeepOwner restores the archived numeric uid and gid of every entry.
	// It only takes effect when running as root; otherwise entries belong
	// to the user running Extract.
	KeepOwner bool
	// MaxBytes bounds what an archive may expand to (the sizes its files
	// declare, added up): 0 is what the disk can spare (SpareBytes of the
	// destination's file system), a negative value no bound. An archive
	// past it is refused before the entry that passes it is written, so
	// a small archive of zeros cannot fill the disk.
	MaxBytes int64
}

// spareShare is the share of a file system's free space a restore may take:
// the rest stays for the sites and databases already there.
const spareShare = 0.9

// SpareBytes is what a restore into dir may write: nine tenths of the space
// free for unprivileged users on dir's file system.
func SpareBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return int64(float64(st.Bavail) * float64(st.Bsize) * spareShare), nil
}

// limit is the bound of opts for a restore into dest (-1: none).
func (opts Options) limit(dest string) (int64, error) {
	switch {
	case opts.MaxBytes < 0:
		return -1, nil
	case opts.MaxBytes > 0:
		return opts.MaxBytes, nil
	}
	return SpareBytes(filepath.Dir(dest))
}

// maxSymlinkDepth bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinkDepth = 40

// Extract unpacks the archive at path (gzip, zstd or plain tar, told apart
// by their magic bytes) into dest, which must not exist yet: it is created
// 0755, then takes the mode and mtime of the archive's "./" entry if there
// is one.
//
// A first pass reads every header without writing anything and refuses,
// with an EINVALID error naming the entry, absolute names, names with a
// ".." component, symlinks or hard links that resolve outside dest,
// entries under a symlink or a file of the archive, duplicates, device
// files and fifos. A second pass writes the entries through an os.Root on
// dest. Modes and mtimes are restored, except that regular files lose
// setuid, setgid and sticky bits (directories keep setgid and sticky);
// owners are restored when opts.KeepOwner is set and Extract runs as
// root. On any error dest is removed, so nothing is left behind.
func Extract(ctx context.Context, path, dest string, opts Options) error {
	if _, err := os.Lstat(dest); err == nil {
		return aegir.Errorf(aegir.ECONFLICT, "restore destination %s already exists", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore into %s: %w", dest, bare(err))
	}
	limit, err := opts.limit(dest)
	if err != nil {
		return err
	}
	entries, err := scan(ctx, path, limit)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dest, 0o755); errors.Is(err, fs.ErrExist) {
		return aegir.Errorf(aegir.ECONFLICT, "restore destination %s already exists", dest)
	} else if err != nil {
		return fmt.Errorf("restore into %s: %w", dest, bare(err))
	}
	if err := os.Chmod(dest, 0o755); err != nil { // whatever the umask
		os.RemoveAll(dest)
		return fmt.Errorf("restore into %s: %w", dest, bare(err))
	}
	if err := extract(ctx, path, dest, entries, opts); err != nil {
		os.RemoveAll(dest)
		return err
	}
	return nil
}

// entry is what the first pass learnt of one header, checked again on the
// second so an archive changed in between is caught.
type entry struct {
	raw      string // the name as archived, for messages
	name     string // cleaned, relative to dest; "." is the top directory
	typ      byte
	linkname string // symlink target as archived, or cleaned hard link target
}

// openArchive opens path and returns a tar reader over its decompressed
// content, and a function that closes both.
func openArchive(path string) (*tar.Reader, func(), error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, aegir.Errorf(aegir.ENOTFOUND, "backup %s does not exist", path)
	} else if err != nil {
		return nil, nil, fmt.Errorf("open backup %s: %w", path, bare(err))
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, _ := br.Peek(4) // a short file is not compressed; tar tells it is no archive
	var r io.Reader = br
	closeAll := func() { f.Close() }
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := pgzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, corrupt(path, err)
		}
		r, closeAll = zr, func() { zr.Close(); f.Close() }
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, corrupt(path, err)
		}
		r, closeAll = zr, func() { zr.Close(); f.Close() }
	}
	return tar.NewReader(r), closeAll, nil
}

// corrupt words an error met reading an archive: the archive's fault
// (EINVALID) unless the file itself could not be read.
func corrupt(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("read backup %s: %w", path, pe.Err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aegir.Errorf(aegir.EINVALID, "backup %s is truncated", path)
	}
	return aegir.Errorf(aegir.EINVALID, "backup %s is not a readable tar archive: %v", path, err)
}

// scan is the first pass: it reads every header (and, through the
// decompressor, every byte, so a damaged archive is caught too) and
// returns the entries once all of them are known to be safe.
func scan(ctx context.Context, path string, limit int64) ([]entry, error) {
	tr, closeAll, err := openArchive(path)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	c := &checker{path: path, kinds: map[string]byte{}, symlinks: map[string]string{}, limit: limit}
	var entries []entry
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("restore %s: %w", path, err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, corrupt(path, err)
		}
		e, err := c.check(hdr)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, aegir.Errorf(aegir.EINVALID, "backup %s holds no entries", path)
	}
	if err := c.checkSymlinks(entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// checker validates headers one by one, keeping the tree they build.
type checker struct {
	path     string
	kinds    map[string]byte   // name → tar type; parents seen only as prefixes count as directories
	symlinks map[string]string // symlink name → target
	limit    int64             // the most the files may add up to; -1: no bound
	total    int64             // what they add up to so far
}

func (c *checker) refuse(name, format string, args ...any) error {
	return aegir.Errorf(aegir.EINVALID, "backup %s: entry %q %s", c.path, name, fmt.Sprintf(format, args...))
}

// cleanName returns a header name relative to dest ("." for the top
// directory), or why it is not safe.
func cleanName(raw string) (string, string) {
	if raw == "" {
		return "", "has an empty name"
	}
	if strings.HasPrefix(raw, "/") {
		return "", "is an absolute path"
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", "has a .. component"
		}
	}
	name := path.Clean(raw)
	if name != "." && !filepath.IsLocal(name) {
		return "", "is not a path inside the archive"
	}
	return name, ""
}

// check validates one header against those before it.
func (c *checker) check(hdr *tar.Header) (entry, error) {
	if hdr.Typeflag == tar.TypeXGlobalHeader { // PAX defaults (git archive writes one): nothing to extract
		return entry{typ: hdr.Typeflag}, nil
	}
	name, why := cleanName(hdr.Name)
	if why != "" {
		return entry{}, c.refuse(hdr.Name, "%s", why)
	}
	e := entry{raw: hdr.Name, name: name, typ: hdr.Typeflag}
	if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeGNUSparse {
		c.total += hdr.Size
		if c.limit >= 0 && c.total > c.limit {
			return entry{}, &aegir.Error{Code: aegir.EINVALID, Field: "file", Message: fmt.Sprintf(
				"backup %s expands past %d bytes (at entry %q), more than the %d this restore may write: free space, or set AEGIR_RESTORE_MAX_BYTES",
				c.path, c.total, hdr.Name, c.limit)}
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeGNUSparse:
	case tar.TypeSymlink:
		switch {
		case hdr.Linkname == "":
			return entry{}, c.refuse(hdr.Name, "is a symlink without a target")
		case strings.HasPrefix(hdr.Linkname, "/"):
			return entry{}, c.refuse(hdr.Name, "is a symlink to %q, outside the site directory", hdr.Linkname)
		}
		e.linkname = hdr.Linkname
	case tar.TypeLink:
		target, why := cleanName(hdr.Linkname)
		if why != "" {
			return entry{}, c.refuse(hdr.Name, "is a hard link to %q, which %s", hdr.Linkname, why)
		}
		if k, ok := c.kinds[target]; !ok || (k != tar.TypeReg && k != tar.TypeGNUSparse) {
			return entry{}, c.refuse(hdr.Name, "is a hard link to %q, which is not a regular file earlier in the archive", hdr.Linkname)
		}
		e.linkname = target
	case tar.TypeChar, tar.TypeBlock:
		return entry{}, c.refuse(hdr.Name, "is a device file")
	case tar.TypeFifo:
		return entry{}, c.refuse(hdr.Name, "is a fifo")
	default:
		return entry{}, c.refuse(hdr.Name, "has unsupported type %q", hdr.Typeflag)
	}
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return entry{}, c.refuse(hdr.Name, "is the top directory but not a directory")
		}
		return e, nil
	}
	// Every parent must be a directory: nothing is written through a
	// symlink or under a file of the archive.
	var parents []string
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		parents = append(parents, p)
	}
	for _, p := range parents {
		switch k, ok := c.kinds[p]; {
		case !ok || k == tar.TypeDir:
		case k == tar.TypeSymlink:
			return entry{}, c.refuse(hdr.Name, "would be written through the symlink %q", p)
		default:
			return entry{}, c.refuse(hdr.Name, "would be written under the file %q", p)
		}
	}
	if k, ok := c.kinds[name]; ok && (k != tar.TypeDir || hdr.Typeflag != tar.TypeDir) {
		return entry{}, c.refuse(hdr.Name, "appears twice in the archive")
	}
	for _, p := range parents {
		c.kinds[p] = tar.TypeDir
	}
	c.kinds[name] = hdr.Typeflag
	if hdr.Typeflag == tar.TypeSymlink {
		c.symlinks[name] = hdr.Linkname
	}
	return e, nil
}

// checkSymlinks resolves every symlink against the whole archive, which is
// all dest will hold, and refuses one that leads outside. Resolution is
// done component by component, following the archive's symlinks as the
// kernel would, since a lexical clean of "a/.." is wrong when a is a link.
func (c *checker) checkSymlinks(entries []entry) error {
	for _, e := range entries {
		if e.typ != tar.TypeSymlink {
			continue
		}
		base := strings.Split(path.Dir(e.name), "/")
		if base[0] == "." {
			base = nil
		}
		if _, why := c.resolve(base, e.linkname, 0); why != "" {
			return c.refuse(e.raw, "is a symlink to %q, which %s", e.linkname, why)
		}
	}
	return nil
}

// resolve walks target from the directory base (a path of real
// directories) and returns the path it reaches, or why it cannot.
func (c *checker) resolve(base []string, target string, depth int) ([]string, string) {
	if depth > maxSymlinkDepth {
		return nil, "goes through too many levels of symlinks"
	}
	if strings.HasPrefix(target, "/") {
		return nil, "leads outside the site directory"
	}
	cur := append([]string(nil), base...)
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return nil, "leads outside the site directory"
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, part)
		if t, ok := c.symlinks[strings.Join(cur, "/")]; ok {
			var why string
			if cur, why = c.resolve(cur[:len(cur)-1], t, depth+1); why != "" {
				return nil, why
			}
		}
	}
	return cur, ""
}

// dirAttrs is a directory whose mode, owner and mtime are set once
// everything under it is written.
type dirAttrs struct {
	name string
	hdr  *tar.Header
}

// extract is the second pass: it writes the entries scan approved.
func extract(ctx context.Context, path, dest string, entries []entry, opts Options) error {
	tr, closeAll, err := openArchive(path)
	if err != nil {
		return err
	}
	defer closeAll()
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("restore into %s: %w", dest, bare(err))
	}
	defer root.Close()
	x := &extractor{
		ctx: ctx, root: root, dest: dest,
		chown: opts.KeepOwner && os.Geteuid() == 0,
		made:  map[string]bool{".": true},
		buf:   make([]byte, copyBufferSize),
	}
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("restore %s: %w", path, err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			if i != len(entries) {
				return aegir.Errorf(aegir.EINVALID, "backup %s changed while it was restored", path)
			}
			break
		} else if err != nil {
			return corrupt(path, err)
		}
		if i >= len(entries) || !sameEntry(hdr, entries[i]) {
			return aegir.Errorf(aegir.EINVALID, "backup %s changed while it was restored", path)
		}
		if err := x.write(tr, hdr, entries[i]); err != nil {
			return err
		}
	}
	return x.finishDirs()
}

// finishDirs sets the attributes of the directories last, deepest first,
// so writing into them changes neither their mtime nor needs a mode they
// may not have.
func (x *extractor) finishDirs() error {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.setAttrs(x.dirs[i].name, x.dirs[i].hdr, dirMode(x.dirs[i].hdr)); err != nil {
			return err
		}
	}
	return nil
}

// sameEntry reports whether hdr is what scan saw at its place.
func sameEntry(hdr *tar.Header, e entry) bool {
	if hdr.Typeflag != e.typ {
		return false
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return true
	}
	name, _ := cleanName(hdr.Name)
	link := hdr.Linkname
	if hdr.Typeflag == tar.TypeLink {
		link, _ = cleanName(hdr.Linkname)
	}
	return name == e.name && link == e.linkname
}

type extractor struct {
	ctx   context.Context
	root  *os.Root
	dest  string
	chown bool
	made  map[string]bool // directories known to exist
	dirs  []dirAttrs
	buf   []byte
	// archive is the archive's path when it is read in a single pass, so
	// an error reading an entry's content is worded as the scan would.
	archive string
	// tee, when set, is asked about each regular file once created: for
	// the one it follows it returns where to report what is written.
	tee func(name string, f *os.File) (*growing, error)
}

func (x *extractor) fail(name, what string, err error) error {
	return fmt.Errorf("restore %s: %s: %w", filepath.Join(x.dest, name), what, bare(err))
}

// write writes one entry.
func (x *extractor) write(tr *tar.Reader, hdr *tar.Header, e entry) error {
	if e.typ == tar.TypeXGlobalHeader {
		return nil
	}
	if e.name == "." {
		x.dirs = append(x.dirs, dirAttrs{".", hdr})
		return nil
	}
	if err := x.mkParent(e.name); err != nil {
		return err
	}
	switch e.typ {
	case tar.TypeDir:
		// 0700 until the end: its archived mode may not let us write in it.
		if err := x.root.Mkdir(e.name, 0o700); err != nil && !(errors.Is(err, fs.ErrExist) && x.made[e.name]) {
			return x.fail(e.name, "create directory", err)
		}
		x.made[e.name] = true
		x.dirs = append(x.dirs, dirAttrs{e.name, hdr})
	case tar.TypeReg, tar.TypeGNUSparse:
		return x.writeFile(tr, hdr, e.name)
	case tar.TypeSymlink:
		if err := x.root.Symlink(e.linkname, e.name); err != nil {
			return x.fail(e.name, "create symlink", err)
		}
		if x.chown {
			if err := x.root.Lchown(e.name, hdr.Uid, hdr.Gid); err != nil {
				return x.fail(e.name, "set owner", err)
			}
		}
	case tar.TypeLink:
		if err := x.root.Link(e.linkname, e.name); err != nil {
			return x.fail(e.name, "create hard link", err)
		}
	}
	return nil
}

// mkParent makes sure the directory name goes in exists.
func (x *extractor) mkParent(name string) error {
	parent := path.Dir(name)
	if x.made[parent] {
		return nil
	}
	if err := x.root.MkdirAll(parent, 0o755); err != nil {
		return x.fail(parent, "create directory", err)
	}
	for p := parent; p != "."; p = path.Dir(p) {
		x.made[p] = true
	}
	return nil
}

// writeFile writes a regular file. O_EXCL makes sure it is a new file,
// never something already there or a symlink's target.
func (x *extractor) writeFile(tr *tar.Reader, hdr *tar.Header, name string) error {
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return x.fail(name, "create file", err)
	}
	var w io.Writer = f
	var g *growing
	if x.tee != nil {
		if g, err = x.tee(name, f); err != nil {
			f.Close()
			return err
		}
		if g != nil {
			w = &teeWriter{f: f, g: g}
		}
	}
	r := &ctxReader{ctx: x.ctx, r: tr, what: "backup entry " + hdr.Name}
	_, err = io.CopyBuffer(onlyWriter{w}, r, x.buf)
	if err == nil && g != nil {
		g.finish()
	}
	if err != nil {
		f.Close()
		if x.ctx.Err() != nil {
			return fmt.Errorf("restore into %s: %w", x.dest, x.ctx.Err())
		}
		var pe *fs.PathError
		if errors.As(err, &pe) { // from the file we write
			return x.fail(name, "write", err)
		}
		if x.archive != "" { // a single pass: what the scan would have caught
			return corrupt(x.archive, err)
		}
		return fmt.Errorf("restore into %s: %w", x.dest, err)
	}
	if x.chown { // before chmod: chown clears setuid and setgid
		if err := f.Chown(hdr.Uid, hdr.Gid); err != nil {
			f.Close()
			return x.fail(name, "set owner", err)
		}
	}
	if err := f.Chmod(fileMode(hdr)); err != nil {
		f.Close()
		return x.fail(name, "set mode", err)
	}
	if err := f.Close(); err != nil {
		return x.fail(name, "write", err)
	}
	if err := x.root.Chtimes(name, atime(hdr), hdr.ModTime); err != nil {
		return x.fail(name, "set mtime", err)
	}
	return nil
}

// setAttrs restores the owner, mode and mtime of a directory.
func (x *extractor) setAttrs(name string, hdr *tar.Header, mode fs.FileMode) error {
	if x.chown {
		if err := x.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
			return x.fail(name, "set owner", err)
		}
	}
	if err := x.root.Chmod(name, mode); err != nil {
		return x.fail(name, "set mode", err)
	}
	if err := x.root.Chtimes(name, atime(hdr), hdr.ModTime); err != nil {
		return x.fail(name, "set mtime", err)
	}
	return nil
}

// fileMode is a regular file's archived mode without setuid, setgid and
// sticky: a restored site must not gain privileged programs.
func fileMode(hdr *tar.Header) fs.FileMode {
	return fs.FileMode(hdr.Mode).Perm()
}

// dirMode is a directory's archived mode with setgid (site directories
// use 02770 so new files keep the web group) and sticky kept.
func dirMode(hdr *tar.Header) fs.FileMode {
	mode := fs.FileMode(hdr.Mode).Perm()
	if hdr.Mode&tarSetgid != 0 {
		mode |= fs.ModeSetgid
	}
	if hdr.Mode&tarSticky != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

func atime(hdr *tar.Header) time.Time {
	if !hdr.AccessTime.IsZero() {
		return hdr.AccessTime
	}
	return hdr.ModTime
}

// onlyWriter hides a writer's ReadFrom, so io.CopyBuffer copies through
// the buffer it is given (an *os.File would allocate its own).
type onlyWriter struct{ io.Writer }
