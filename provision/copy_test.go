package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// treeEntry is what copyTree must keep of one entry.
type treeEntry struct {
	mode  fs.FileMode
	mtime time.Time
	body  string // file content, or symlink target
	ino   uint64
}

func readTree(t *testing.T, dir string) map[string]treeEntry {
	t.Helper()
	tree := map[string]treeEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := treeEntry{mode: fi.Mode(), mtime: fi.ModTime(), ino: fi.Sys().(*syscall.Stat_t).Ino}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.body, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			e.body = string(b)
		}
		tree[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestCopyTreeMakesARealCopyWithModesAndTimes(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	src := filepath.Join(base, "site")
	files := map[string]fs.FileMode{
		"settings.php":            0o440,
		"database.sql":            0o600,
		"files/a/b/doc.txt":       0o664,
		"files/setuid":            0o755 | fs.ModeSetuid,
		"private/empty-dir/.keep": 0o600,
	}
	for name, mode := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(src, "files/big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a/b/doc.txt", filepath.Join(src, "files/latest")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(src, "files/outside")); err != nil { // kept as a link, never followed
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(src, "files/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "files"), 0o770|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "files/a/b"), 0o550); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"settings.php", "files/a/b/doc.txt", "files/a/b", "files", "."} {
		if err := os.Chtimes(filepath.Join(src, name), when, when); err != nil {
			t.Fatal(err)
		}
	}
	want := readTree(t, src)

	dst := filepath.Join(base, "copy")
	if err := copyTree(context.Background(), src, dst, "database.sql"); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dst)
	delete(want, "database.sql")
	delete(want, "files/fifo")
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s was not copied", name)
			continue
		}
		wantMode := w.mode
		if w.mode.IsRegular() {
			wantMode = w.mode.Perm()
		}
		if g.mode != wantMode || g.body != w.body {
			t.Errorf("%s: mode %v, %d bytes; want %v, %d bytes", name, g.mode, len(g.body), wantMode, len(w.body))
		}
		if g.mode&fs.ModeSymlink == 0 && !g.mtime.Equal(w.mtime) {
			t.Errorf("%s: mtime %v, want %v", name, g.mtime, w.mtime)
		}
		if g.ino == w.ino {
			t.Errorf("%s is the same inode as the original, not a copy", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s should not have been copied", name)
		}
	}
}

func TestCopyTreeLeavesNothingWhenItFails(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	src := filepath.Join(base, "site")
	for i := range 20 {
		p := filepath.Join(src, "files", fmt.Sprint(i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(base, "copy")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := copyTree(ctx, src, dst); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled copy: %v", err)
	}
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed copy left %s: %v", dst, err)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(context.Background(), src, dst); err == nil {
		t.Fatalf("copied over an existing directory")
	}
}
