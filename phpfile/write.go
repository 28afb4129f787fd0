package phpfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Write replaces path with data atomically: a temporary file in the same
// directory is renamed over it, so readers see the old file or the new one,
// never a partial one, and a read-only file can be replaced. The new file
// has mode and, when group is not empty, that group (an error when it
// cannot be set); without a group it has the process's.
func Write(path string, data []byte, mode fs.FileMode, group string) error {
	gid, err := GroupID(group)
	if err != nil {
		return err
	}
	return write(path, data, mode, gid, false)
}

// WriteKeepingGroup replaces path atomically with data and mode, as Write
// does, for a file whose group is someone else's to set: the new file keeps
// the group of the file it replaces where the process may give it that
// group, so the web server can read it at once.
func WriteKeepingGroup(path string, data []byte, mode fs.FileMode) error {
	gid := -1
	if st, err := os.Stat(path); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			gid = int(sys.Gid)
		}
	}
	return write(path, data, mode, gid, true)
}

// ErrForeign is the error of WriteIfOurs when the file at the path is
// someone else's.
var ErrForeign = errors.New("not a file of aegir's")

// WriteIfOurs writes data to path as Write does without a group, unless a
// regular file there holds none of markers: that file is someone else's
// (it may be a live site's settings), is left alone, and the error is
// ErrForeign. A missing file, and anything that is not a regular file (a
// symbolic link, which the rename replaces, never what it points to), is
// replaced.
func WriteIfOurs(path string, data []byte, mode fs.FileMode, markers ...string) error {
	if st, err := os.Lstat(path); err == nil && st.Mode().IsRegular() {
		old, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		ours := false
		for _, m := range markers {
			ours = ours || bytes.Contains(old, []byte(m))
		}
		if !ours {
			return fmt.Errorf("%s: %w", path, ErrForeign)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return Write(path, data, mode, "")
}

// GroupID returns the id of the named group, or -1 when group is empty.
func GroupID(group string) (int, error) {
	if group == "" {
		return -1, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return -1, fmt.Errorf("web group: %w", err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return -1, fmt.Errorf("web group %s: %w", group, err)
	}
	return gid, nil
}

// write writes data to a temporary file beside path, gives it gid (unless
// -1; failing to is an error unless bestEffort) and mode, and renames it
// over path.
func write(path string, data []byte, mode fs.FileMode, gid int, bestEffort bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Lchown(tmp, -1, gid); err != nil && !bestEffort {
			return fmt.Errorf("chgrp %s: %w", path, err)
		}
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
