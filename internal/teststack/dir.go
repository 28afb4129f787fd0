package teststack

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// WebDir returns a new temporary directory that the web server's workers
// (www-data) can traverse and read: it and its parents up to os.TempDir()
// are made 0755.
func WebDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != filepath.Clean(os.TempDir()) && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// WebGID returns the id of the web server's group, www-data, skipping t
// when there is none.
func WebGID(t testing.TB) int {
	t.Helper()
	g, err := user.LookupGroup("www-data")
	if err != nil {
		Missing(t, "no www-data group: %v", err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		t.Fatal(err)
	}
	return gid
}

// MakeSiteDir makes a site's directory as provision does before its
// settings are written: dir (0755) with each of the app's writable
// directories in it 02770 in the web group, www-data. It is removed when
// the test ends. It skips t when there is no www-data group.
func MakeSiteDir(t testing.TB, dir string, writable ...string) {
	t.Helper()
	gid := WebGID(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range writable {
		path := filepath.Join(dir, d)
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, -1, gid); err != nil {
			t.Fatal(err)
		}
		// 02770: Go spells the setgid bit os.ModeSetgid.
		if err := os.Chmod(path, 0o770|os.ModeSetgid); err != nil {
			t.Fatal(err)
		}
	}
}

// WriteFiles writes files (slash-separated paths relative to root, and
// their contents) under root, mode 0644, making directories 0755 as
// needed.
func WriteFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		path := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
