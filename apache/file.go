package apache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFile replaces path atomically: the content goes to a temporary file
// in the same directory, which is then renamed over path. The temporary
// name starts with a dot and ends in ".tmp", so no include glob
// ("*.conf") ever matches it, even when Apache reads the directory while
// the file is being written.
func writeFile(path string, data []byte, mode fs.FileMode) error {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once the rename succeeded
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// snapshot is what a configuration file held before aegir changed it, so
// the change can be reversed.
type snapshot struct {
	path   string
	exists bool
	data   []byte
	mode   fs.FileMode
}

// takeSnapshot records the current content of path, or its absence.
func takeSnapshot(path string) (snapshot, error) {
	s := snapshot{path: path}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	} else if err != nil {
		return s, err
	}
	if !fi.Mode().IsRegular() {
		return s, fmt.Errorf("%s is not a regular file", path)
	}
	if s.data, err = os.ReadFile(path); err != nil {
		return s, err
	}
	s.exists, s.mode = true, fi.Mode().Perm()
	return s, nil
}

// restore puts the recorded content back, or removes the file when there
// was none.
func (s snapshot) restore() error {
	if s.exists {
		return writeFile(s.path, s.data, s.mode)
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// linkSnapshot is what was at the place of the conf link: nothing, or a
// symbolic link and its target.
type linkSnapshot struct {
	path   string
	target string // empty when there was no link
}

func takeLinkSnapshot(path string) (linkSnapshot, error) {
	s := linkSnapshot{path: path}
	target, err := os.Readlink(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	} else if err != nil {
		return s, err
	}
	s.target = target
	return s, nil
}

func (s linkSnapshot) restore() error {
	if s.target == "" {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return symlink(s.target, s.path)
}

// symlink makes path a symbolic link to target, atomically replacing a
// link already there.
func symlink(target, path string) error {
	if cur, err := os.Readlink(path); err == nil && cur == target {
		return nil
	}
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	// CreateTemp reserved a unique name; swap the file for the link.
	if err := os.Remove(tmp); err != nil {
		return err
	}
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
