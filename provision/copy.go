package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// copyWorkers is how many files copyTree copies at once: a few, so small
// files (most of a site's) do not wait on each other's system calls.
const copyWorkers = 4

// copyTree copies the directory src to dst, which must not exist, as a
// backup and its unpack would: directories, regular files (real copies,
// never hard links, with copy_file_range where the file system has it)
// and symlinks (as they are, never followed), with their modes and mtimes;
// regular files lose setuid, setgid and sticky bits. Owners are kept when
// running as root, as cp -a does. Sockets, devices and fifos are skipped,
// and so are the top-level names in skip. On error dst is removed.
func copyTree(ctx context.Context, src, dst string, skip ...string) (err error) {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("copy to %s: it exists already", dst)
	}
	from, err := os.OpenRoot(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer from.Close()
	if err := os.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dst)
		}
	}()
	to, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	defer to.Close()
	c := &treeCopier{ctx: ctx, from: from, to: to, src: src, dst: dst, chown: os.Geteuid() == 0}
	skipped := map[string]bool{}
	for _, name := range skip {
		skipped[name] = true
	}
	files := make(chan fileJob)
	var wg sync.WaitGroup
	for range copyWorkers {
		wg.Go(func() {
			for j := range files {
				if err := c.copyFile(j.name); err != nil {
					c.fail(err)
				}
			}
		})
	}
	var dirs []fileJob
	walkErr := fs.WalkDir(from.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err := c.failed(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err != nil {
			return fmt.Errorf("copy %s: %w", filepath.Join(src, name), err)
		}
		if skipped[name] {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) { // removed meanwhile
			return nil
		} else if err != nil {
			return fmt.Errorf("copy %s: %w", filepath.Join(src, name), err)
		}
		switch {
		case info.IsDir():
			// 0700 until the end, so it can be written whatever its mode.
			if name != "." {
				if err := to.Mkdir(name, 0o700); err != nil {
					return fmt.Errorf("copy to %s: %w", filepath.Join(dst, name), err)
				}
			}
			dirs = append(dirs, fileJob{name, info})
		case info.Mode()&fs.ModeSymlink != 0:
			return c.copySymlink(name, info)
		case info.Mode().IsRegular():
			files <- fileJob{name, info}
		}
		return nil
	})
	close(files)
	wg.Wait()
	if err := errors.Join(walkErr, c.failed()); err != nil {
		return err
	}
	// Directories last, deepest first, so their mtimes stay.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := c.setAttrs(dirs[i].name, dirs[i].info, dirs[i].info.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
	}
	return nil
}

type fileJob struct {
	name string
	info fs.FileInfo
}

// treeCopier is the state of one copyTree.
type treeCopier struct {
	ctx      context.Context
	from, to *os.Root
	src, dst string
	chown    bool
	mu       sync.Mutex
	err      error
}

func (c *treeCopier) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *treeCopier) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// copyFile copies one regular file, read through the handle it is copied
// from, so a file swapped for something else meanwhile is caught.
func (c *treeCopier) copyFile(name string) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	in, err := c.from.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("copy %s: %w", filepath.Join(c.src, name), err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("copy %s: %w", filepath.Join(c.src, name), err)
	} else if !info.Mode().IsRegular() {
		return nil
	}
	out, err := c.to.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
	}
	// *os.File to *os.File: copy_file_range where the file system has it.
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", filepath.Join(c.src, name), err)
	}
	if c.chown {
		if err := out.Chown(owner(info)); err != nil {
			out.Close()
			return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
		}
	}
	if err := out.Chmod(info.Mode().Perm()); err != nil {
		out.Close()
		return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
	}
	return c.chtimes(name, info)
}

func (c *treeCopier) copySymlink(name string, info fs.FileInfo) error {
	target, err := c.from.Readlink(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("copy %s: %w", filepath.Join(c.src, name), err)
	}
	if err := c.to.Symlink(target, name); err != nil {
		return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
	}
	if c.chown {
		uid, gid := owner(info)
		if err := c.to.Lchown(name, uid, gid); err != nil {
			return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
		}
	}
	return nil
}

// setAttrs gives a copied directory the owner, mode and mtime of its
// original.
func (c *treeCopier) setAttrs(name string, info fs.FileInfo, mode fs.FileMode) error {
	if c.chown {
		uid, gid := owner(info)
		if err := c.to.Lchown(name, uid, gid); err != nil {
			return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
		}
	}
	if err := c.to.Chmod(name, mode); err != nil {
		return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
	}
	return c.chtimes(name, info)
}

func (c *treeCopier) chtimes(name string, info fs.FileInfo) error {
	atime := info.ModTime()
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		atime = time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	if err := c.to.Chtimes(name, atime, info.ModTime()); err != nil {
		return fmt.Errorf("copy to %s: %w", filepath.Join(c.dst, name), err)
	}
	return nil
}

// owner is the numeric owner and group of info.
func owner(info fs.FileInfo) (int, int) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}
