package webconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// WriteFile replaces path atomically: the content goes to a temporary file
// in the same directory, which is then renamed over path. The temporary
// name starts with a dot and ends in ".tmp", so no include glob
// ("*.conf") ever matches it, even when the web server reads the directory
// while the file is being written.
func WriteFile(path string, data []byte, mode fs.FileMode) error {
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

// Snapshot is what a configuration file held before aegir changed it, so
// the change can be reversed.
type Snapshot struct {
	Path   string
	Exists bool
	Data   []byte
	Mode   fs.FileMode
}

// TakeSnapshot records the current content of path, or its absence.
func TakeSnapshot(path string) (Snapshot, error) {
	s := Snapshot{Path: path}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	} else if err != nil {
		return s, err
	}
	if !fi.Mode().IsRegular() {
		return s, fmt.Errorf("%s is not a regular file", path)
	}
	if s.Data, err = os.ReadFile(path); err != nil {
		return s, err
	}
	s.Exists, s.Mode = true, fi.Mode().Perm()
	return s, nil
}

// Restore puts the recorded content back, or removes the file when there
// was none.
func (s Snapshot) Restore() error {
	if s.Exists {
		return WriteFile(s.Path, s.Data, s.Mode)
	}
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// LinkSnapshot is what was at the place of the conf link: nothing, or a
// symbolic link and its target.
type LinkSnapshot struct {
	path   string
	target string // empty when there was no link
}

// TakeLinkSnapshot records the symbolic link at path, or its absence.
func TakeLinkSnapshot(path string) (LinkSnapshot, error) {
	s := LinkSnapshot{path: path}
	target, err := os.Readlink(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	} else if err != nil {
		return s, err
	}
	s.target = target
	return s, nil
}

// Restore puts the recorded link back, or removes the link when there was
// none.
func (s LinkSnapshot) Restore() error {
	if s.target == "" {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return Symlink(s.target, s.path)
}

// Symlink makes path a symbolic link to target, atomically replacing a
// link already there.
func Symlink(target, path string) error {
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

// CheckLinkPlace reports why the conf link cannot be made at link: a
// missing directory (the web server named software is not installed
// there), or something other than a symbolic link in its place.
func CheckLinkPlace(link, software string) error {
	dir := filepath.Dir(link)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return aegir.FieldErrorf("http_conf_link", "directory %s of %s does not exist: is %s installed there, or should http_conf_link point elsewhere?", dir, link, software)
	}
	fi, err := os.Lstat(link)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("http_conf_link: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return aegir.FieldErrorf("http_conf_link", "%s exists and is not a symbolic link; aegir will not replace it: move it away, or point http_conf_link elsewhere", link)
	}
	return nil
}
