package phpfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// webGroup returns the id of www-data, skipping when the test cannot give
// files that group.
func webGroup(t *testing.T) int {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files another group")
	}
	return teststack.WebGID(t)
}

func gidOf(t *testing.T, path string) int {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Sys().(*syscall.Stat_t).Gid)
}

// onlyFile fails unless dir holds exactly the one file name: no temporary
// file is left beside it.
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %v, want only %s", dir, names, name)
	}
}

func TestWriteReplacesAReadOnlyFileWithMode(t *testing.T) {
	t.Parallel()
	for _, write := range []struct {
		name string
		fn   func(path string, data []byte) error
	}{
		{"Write", func(path string, data []byte) error { return Write(path, data, 0o440, "") }},
		{"WriteKeepingGroup", func(path string, data []byte) error { return WriteKeepingGroup(path, data, 0o440) }},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "settings.php")
		if err := os.WriteFile(path, []byte("<?php // old\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := write.fn(path, []byte("<?php // new\n")); err != nil {
			t.Fatalf("%s: %v", write.name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != "<?php // new\n" {
			t.Errorf("%s wrote %q", write.name, b)
		}
		if st, _ := os.Stat(path); st.Mode() != 0o440 {
			t.Errorf("%s: mode %v, want 0440", write.name, st.Mode())
		}
		onlyFile(t, dir, "settings.php")
	}
}

func TestWriteMakesANewFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "new.php")
	if err := WriteKeepingGroup(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode() != 0o644 {
		t.Errorf("new file: %v, %v; want mode 0644", st, err)
	}
	onlyFile(t, dir, "new.php")
}

func TestWriteGivesTheFileTheGroup(t *testing.T) {
	t.Parallel()
	gid := webGroup(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "wp-config.php")
	if err := Write(path, []byte("<?php\n"), 0o440, "www-data"); err != nil {
		t.Fatal(err)
	}
	if got := gidOf(t, path); got != gid {
		t.Errorf("group %d, want www-data (%d)", got, gid)
	}
	// Without a group, the file has the process's, whatever the old one had.
	if err := Write(path, []byte("<?php\n"), 0o440, ""); err != nil {
		t.Fatal(err)
	}
	if got := gidOf(t, path); got != os.Getegid() {
		t.Errorf("group %d without a group given, want the process's %d", got, os.Getegid())
	}
}

func TestWriteKeepingGroupKeepsTheGroupOfTheReplacedFile(t *testing.T) {
	t.Parallel()
	gid := webGroup(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "settings.php")
	if err := os.WriteFile(path, []byte("old"), 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeepingGroup(path, []byte("new"), 0o440); err != nil {
		t.Fatal(err)
	}
	if got := gidOf(t, path); got != gid {
		t.Errorf("group %d, want the old file's %d", got, gid)
	}
}

func TestWriteWithAnUnknownGroupLeavesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "settings.php")
	if err := os.WriteFile(path, []byte("old"), 0o440); err != nil {
		t.Fatal(err)
	}
	err := Write(path, []byte("new"), 0o440, "no-such-group-aegir")
	if err == nil || !strings.Contains(err.Error(), "web group") {
		t.Fatalf("got %v, want a web group error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("the file was changed to %q", b)
	}
	onlyFile(t, dir, "settings.php")
}

func TestWriteIntoAMissingDirectoryNamesThePath(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing", "settings.php")
	err := Write(path, []byte("x"), 0o440, "")
	if err == nil || !strings.Contains(err.Error(), "write "+path) {
		t.Fatalf("got %v, want an error naming %s", err, path)
	}
}

func TestGroupIDOfNoGroupIsMinusOne(t *testing.T) {
	t.Parallel()
	if gid, err := GroupID(""); gid != -1 || err != nil {
		t.Errorf("GroupID(\"\") = %d, %v; want -1, nil", gid, err)
	}
	if _, err := GroupID("no-such-group-aegir"); err == nil {
		t.Error("GroupID of a missing group succeeded")
	}
}

func TestWriteIfOursLeavesSomeoneElsesFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		return path
	}
	target := write("target.php", "<?php // what the link points to\n")
	link := filepath.Join(dir, "link.php")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
		replaced   bool
	}{
		{"missing", filepath.Join(dir, "missing.php"), true},
		{"first marker", write("ours.php", "<?php // aegir loader\n"), true},
		{"second marker", write("debian.php", "<?php // debian loader\n"), true},
		{"foreign", write("foreign.php", "<?php $db = 'live';\n"), false},
		{"link", link, true},
	} {
		before, _ := os.ReadFile(tt.path)
		err := WriteIfOurs(tt.path, []byte("<?php // new loader\n"), 0o644, "aegir loader", "debian loader")
		after, _ := os.ReadFile(tt.path)
		if tt.replaced {
			if err != nil || string(after) != "<?php // new loader\n" {
				t.Errorf("%s: %v, file %q; want it replaced", tt.name, err, after)
			}
			continue
		}
		if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), tt.path) {
			t.Errorf("%s: got %v, want ErrForeign naming the file", tt.name, err)
		}
		if string(after) != string(before) {
			t.Errorf("%s: the file was changed to %q", tt.name, after)
		}
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the link was not replaced by a file: %v, %v", fi, err)
	}
	if b, _ := os.ReadFile(target); string(b) != "<?php // what the link points to\n" {
		t.Errorf("the link's target was changed to %q", b)
	}
}
