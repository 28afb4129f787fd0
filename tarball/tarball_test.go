package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

// formats are the two compressions Create writes.
var formats = []struct {
	name, ext string
	magic     []byte
}{
	{"gzip", ".tar.gz", []byte{0x1f, 0x8b}},
	{"zstd", ".tar.zst", []byte{0x28, 0xb5, 0x2f, 0xfd}},
}

// randomBytes returns n incompressible bytes.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

func putFile(t *testing.T, path string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// makeSite fills dir with what a site directory holds: nested directories,
// a setgid files directory, a read-only settings file, a 5 MB upload, a
// database dump and a symlink, all with fixed mtimes.
func makeSite(t *testing.T, dir string) {
	t.Helper()
	putFile(t, filepath.Join(dir, "settings.php"), []byte("<?php\n$databases = [];\n"), 0o440)
	putFile(t, filepath.Join(dir, "database.sql"), []byte("CREATE TABLE t (id int);\n"), 0o600)
	putFile(t, filepath.Join(dir, "files/a/b/doc.txt"), []byte("hello\n"), 0o644)
	putFile(t, filepath.Join(dir, "files/big.bin"), randomBytes(5<<20, 1), 0o664)
	putFile(t, filepath.Join(dir, "files/empty"), nil, 0o640)
	if err := os.Symlink("a/b/doc.txt", filepath.Join(dir, "files/latest")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../settings.php", filepath.Join(dir, "files/settings-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "private/empty-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{
		".":                 0o770 | fs.ModeSetgid,
		"files":             0o770 | fs.ModeSetgid,
		"files/a":           0o755,
		"files/a/b":         0o750,
		"private":           0o700,
		"private/empty-dir": 0o555,
	}
	for name, mode := range modes {
		if err := os.Chmod(filepath.Join(dir, name), mode.Perm()|mode&fs.ModeSetgid); err != nil {
			t.Fatal(err)
		}
	}
	// mtimes last, deepest first, so setting one does not disturb another.
	when := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		names = append(names, p)
		return err
	})
	for i := len(names) - 1; i >= 0; i-- {
		if fi, err := os.Lstat(names[i]); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			when = when.Add(time.Hour)
			if err := os.Chtimes(names[i], when, when); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// node is what a test compares of one file.
type node struct {
	Type  string
	Mode  fs.FileMode
	MTime int64
	Size  int64
	Sum   string
	Link  string
}

// snapshot describes every entry under dir.
func snapshot(t *testing.T, dir string) map[string]node {
	t.Helper()
	tree := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := node{Mode: fi.Mode() & (fs.ModePerm | fs.ModeSetgid | fs.ModeSetuid | fs.ModeSticky), MTime: fi.ModTime().Unix()}
		switch {
		case fi.IsDir():
			n.Type = "dir"
		case fi.Mode()&fs.ModeSymlink != 0:
			n.Type, n.Mode, n.MTime = "symlink", 0, 0
			n.Link, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			n.Type, n.Size = "file", fi.Size()
			var b []byte
			b, err = os.ReadFile(p)
			sum := sha256.Sum256(b)
			n.Sum = hex.EncodeToString(sum[:])
		default:
			n.Type = "other"
		}
		tree[rel] = n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func compareTrees(t *testing.T, got, want map[string]node) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	names := map[string]bool{}
	for n := range got {
		names[n] = true
	}
	for n := range want {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if g, w := got[n], want[n]; g != w {
			t.Errorf("%s: got %+v, want %+v", n, g, w)
		}
	}
}

// archiveNames lists the entry names of an archive in order.
func archiveNames(t *testing.T, path string) []string {
	t.Helper()
	tr, closeAll, err := openArchive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
}

func TestCreateAndExtractRoundTripKeepsTree(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			site := filepath.Join(base, "site")
			makeSite(t, site)
			// A fifo cannot belong in a backup: it is skipped and counted.
			if err := syscall.Mkfifo(filepath.Join(site, "private/fifo"), 0o600); err != nil {
				t.Fatal(err)
			}
			want := snapshot(t, site)
			delete(want, "private/fifo")

			path := filepath.Join(base, "site-20240301.120000"+f.ext)
			info, err := Create(context.Background(), path, site)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if got, want := *info, (Info{Path: path, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Files: len(want), Skipped: 1}); got != want {
				t.Errorf("info = %+v, want %+v", got, want)
			}
			if !bytes.HasPrefix(data, f.magic) {
				t.Errorf("archive starts with % x, want % x", data[:4], f.magic)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("archive mode: %v, %v; want 0600", fi.Mode(), err)
			}
			if _, err := os.Stat(path + ".part"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf(".part left behind: %v", err)
			}
			names := archiveNames(t, path)
			if names[0] != "./" {
				t.Errorf("first entry %q, want ./", names[0])
			}
			for _, n := range names {
				if !strings.HasPrefix(n, "./") {
					t.Errorf("entry %q lacks the ./ prefix", n)
				}
			}

			dest := filepath.Join(base, "site.restore")
			if err := Extract(context.Background(), path, dest, Options{}); err != nil {
				t.Fatal(err)
			}
			got := snapshot(t, dest)
			compareTrees(t, got, want)
			if m := got["files"].Mode; m&fs.ModeSetgid == 0 || m.Perm() != 0o770 {
				t.Errorf("files mode %v, want setgid 0770", m)
			}
			if m := got["settings.php"].Mode; m != 0o440 {
				t.Errorf("settings.php mode %v, want 0440", m)
			}
		})
	}
}

func TestCreateArchiveIsReadableBySystemTar(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar command:", err)
	}
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	makeSite(t, site)
	path := filepath.Join(base, "b.tar.gz")
	if _, err := Create(context.Background(), path, site); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("tar", "xzpf", path, "-C", out).CombinedOutput(); err != nil {
		t.Fatalf("tar xzpf: %v\n%s", err, b)
	}
	compareTrees(t, snapshot(t, out), snapshot(t, site))
}

func TestExtractReadsAegir3TarballMadeBySystemTar(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar command:", err)
	}
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	makeSite(t, site)
	// GNU tar stores a second name of a file as a hard link.
	if err := os.Link(filepath.Join(site, "files/a/b/doc.txt"), filepath.Join(site, "files/hard.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(site, "files"), time.Unix(1700000000, 0), time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, site)
	for _, name := range []string{"x.tar.gz", "x.tar"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(base, name)
			flags := "cpf"
			if strings.HasSuffix(name, ".gz") {
				flags = "czpf"
			}
			// As Aegir 3's provision-backup does: cd site; tar cpf - .
			if b, err := exec.Command("tar", flags, path, "-C", site, ".").CombinedOutput(); err != nil {
				t.Fatalf("tar %s: %v\n%s", flags, err, b)
			}
			dest := filepath.Join(base, name+".restore")
			if err := Extract(context.Background(), path, dest, Options{}); err != nil {
				t.Fatal(err)
			}
			compareTrees(t, snapshot(t, dest), want)
			a, _ := os.Stat(filepath.Join(dest, "files/a/b/doc.txt"))
			b, _ := os.Stat(filepath.Join(dest, "files/hard.txt"))
			if a == nil || b == nil || !os.SameFile(a, b) {
				t.Errorf("files/hard.txt is not a hard link of files/a/b/doc.txt")
			}
		})
	}
}

func TestCreateWritesChecksumAsSha256sum(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("no sha256sum command:", err)
	}
	t.Parallel()
	base := t.TempDir()
	putFile(t, filepath.Join(base, "site/index.html"), []byte("hi"), 0o644)
	for _, f := range formats {
		path := filepath.Join(base, "s"+f.ext)
		info, err := Create(context.Background(), path, filepath.Join(base, "site"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sha256sum", filepath.Base(path))
		cmd.Dir = base
		want, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path + ".sha256")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s.sha256 = %q, sha256sum says %q", f.ext, got, want)
		}
		if !strings.HasPrefix(string(got), info.SHA256+"  ") {
			t.Errorf("Info.SHA256 %s does not match %q", info.SHA256, got)
		}
		cmd = exec.Command("sha256sum", "-c", filepath.Base(path)+".sha256")
		cmd.Dir = base
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, b)
		}
	}
}

func TestCreateRefusesExistingPath(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	putFile(t, filepath.Join(site, "index.html"), []byte("hi"), 0o644)
	for _, existing := range []string{"b.tar.gz", "b.tar.gz.part"} {
		t.Run(existing, func(t *testing.T) {
			putFile(t, filepath.Join(base, existing), []byte("old"), 0o600)
			defer os.Remove(filepath.Join(base, existing))
			_, err := Create(context.Background(), filepath.Join(base, "b.tar.gz"), site)
			if got := aegir.ErrorCode(err); got != aegir.ECONFLICT {
				t.Fatalf("error %v (code %q), want %s", err, got, aegir.ECONFLICT)
			}
			if b, _ := os.ReadFile(filepath.Join(base, existing)); string(b) != "old" {
				t.Errorf("%s was changed to %q", existing, b)
			}
		})
	}
}

func TestCreateRefusesUnknownFormat(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	for _, name := range []string{"b.zip", "b.tar", "b.tar.bz2", "b.gz"} {
		_, err := Create(context.Background(), filepath.Join(base, name), base)
		if got := aegir.ErrorCode(err); got != aegir.EINVALID {
			t.Errorf("%s: error %v (code %q), want %s", name, err, got, aegir.EINVALID)
		}
	}
	if _, err := Create(context.Background(), filepath.Join(base, "b.tar.gz"), filepath.Join(base, "nope")); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("missing source: error %v, want %s", err, aegir.ENOTFOUND)
	}
	if entries, _ := os.ReadDir(base); len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
}

func TestCreateOnFullDiskLeavesNothing(t *testing.T) {
	base := t.TempDir()
	site := filepath.Join(base, "site")
	putFile(t, filepath.Join(site, "files/upload.bin"), randomBytes(4<<20, 2), 0o644)
	backups := filepath.Join(base, "backups")
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", backups).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v: %s); skipping the full-disk test", err, bytes.TrimSpace(b))
	}
	t.Cleanup(func() {
		if b, err := exec.Command("umount", backups).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", backups, err, b)
		}
	})
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(backups, "site"+f.ext)
			_, err := Create(context.Background(), path, site)
			if err == nil {
				t.Fatal("Create on a full disk succeeded")
			}
			if want := "write backup " + path + ": no space left on device"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("error %v is not ENOSPC", err)
			}
			if entries, _ := os.ReadDir(backups); len(entries) != 0 {
				t.Errorf("left in %s: %v", backups, entries)
			}
		})
	}
}

// countdownCtx is a context cancelled after its Err has been asked n
// times, so a test can cancel at a given point of a long operation.
type countdownCtx struct {
	context.Context
	left atomic.Int64
}

func newCountdownCtx(n int64) *countdownCtx {
	c := &countdownCtx{Context: context.Background()}
	c.left.Store(n)
	return c
}

func (c *countdownCtx) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestCreateCancelledMidwayLeavesNothing(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	putFile(t, filepath.Join(site, "a.bin"), randomBytes(5<<20, 3), 0o644)
	putFile(t, filepath.Join(site, "b.txt"), []byte("b"), 0o644)
	backups := filepath.Join(base, "backups")
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		// 4 checks: walking ".", "a.bin", then two reads of a.bin's 20.
		for _, n := range []int64{0, 4, 12} {
			t.Run(fmt.Sprint(f.name, n), func(t *testing.T) {
				_, err := Create(newCountdownCtx(n), filepath.Join(backups, "site"+f.ext), site)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("error %v, want context.Canceled", err)
				}
				if entries, _ := os.ReadDir(backups); len(entries) != 0 {
					t.Errorf("left in %s: %v", backups, entries)
				}
			})
		}
	}
}

func TestCreateStripsNothingButExtractStripsSetuidFromFiles(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	putFile(t, filepath.Join(site, "bin/tool"), []byte("#!/bin/sh\n"), 0o755)
	if err := os.Chmod(filepath.Join(site, "bin/tool"), 0o755|fs.ModeSetuid|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(site, "bin"), 0o775|fs.ModeSetgid|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(base, "b.tar.zst")
	if _, err := Create(context.Background(), path, site); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(base, "out")
	if err := Extract(context.Background(), path, dest, Options{}); err != nil {
		t.Fatal(err)
	}
	tree := snapshot(t, dest)
	if got, want := tree["bin/tool"].Mode, fs.FileMode(0o755); got != want {
		t.Errorf("bin/tool mode %v, want %v", got, want)
	}
	if got, want := tree["bin"].Mode, 0o775|fs.ModeSetgid|fs.ModeSticky; got != want {
		t.Errorf("bin mode %v, want %v", got, want)
	}
}

func TestExtractKeepsOwnerOnlyWhenAsked(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	putFile(t, filepath.Join(site, "files/up.txt"), []byte("x"), 0o664)
	if err := os.Symlink("up.txt", filepath.Join(site, "files/link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"files/up.txt", "files", "files/link"} {
		if err := os.Lchown(filepath.Join(site, p), 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(base, "b.tar.gz")
	if _, err := Create(context.Background(), path, site); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{true, false} {
		dest := filepath.Join(base, fmt.Sprint("out-", keep))
		if err := Extract(context.Background(), path, dest, Options{KeepOwner: keep}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"files/up.txt", "files", "files/link"} {
			fi, err := os.Lstat(filepath.Join(dest, p))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			want := [2]uint32{0, 0}
			if keep {
				want = [2]uint32{1234, 5678}
			}
			if got := [2]uint32{st.Uid, st.Gid}; got != want {
				t.Errorf("KeepOwner=%v: %s owned by %v, want %v", keep, p, got, want)
			}
		}
	}
}

func TestVerifyChecksChecksumFile(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	putFile(t, filepath.Join(base, "site/index.html"), []byte("hi"), 0o644)
	path := filepath.Join(base, "b.tar.gz")
	if _, err := Create(context.Background(), path, filepath.Join(base, "site")); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); err != nil {
		t.Fatalf("Verify of a fresh backup: %v", err)
	}
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("Verify of a damaged backup: %v, want %s", err, aegir.EINVALID)
	}
	if err := os.WriteFile(path+".sha256", []byte("nonsense\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("Verify with a malformed checksum file: %v, want %s", err, aegir.EINVALID)
	}
	if err := os.Remove(path + ".sha256"); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); err != nil {
		t.Errorf("Verify without a checksum file: %v, want nil", err)
	}
	if err := Verify(filepath.Join(base, "none.tar.gz")); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("Verify of a missing backup: %v, want %s", err, aegir.ENOTFOUND)
	}
}

func TestDeleteRemovesArchiveAndChecksum(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	putFile(t, filepath.Join(base, "site/index.html"), []byte("hi"), 0o644)
	a := &Archiver{}
	path := filepath.Join(base, "backups/b.tar.zst")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	info, err := a.Create(context.Background(), path, filepath.Join(base, "site"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != path || info.Size == 0 || len(info.SHA256) != 64 {
		t.Errorf("info = %+v", info)
	}
	if err := a.Delete(path); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 0 {
		t.Errorf("left after Delete: %v", entries)
	}
	if err := a.Delete(path); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("second Delete: %v, want %s", err, aegir.ENOTFOUND)
	}
}

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	name, link string
	typ        byte
	body       string
}

// writeTar writes entries as a plain tar archive at path.
func writeTar(t *testing.T, path string, entries []tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, ModTime: time.Unix(1700000000, 0)}
		switch e.typ {
		case tar.TypeDir:
			hdr.Mode = 0o755
		case tar.TypeReg:
			hdr.Size = int64(len(e.body))
		case tar.TypeChar:
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCreateQuickWritesAnArchiveOfTheSameTree(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			site := filepath.Join(base, "site")
			makeSite(t, site)
			path := filepath.Join(base, "quick"+f.ext)
			info, err := CreateQuick(context.Background(), path, site)
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(path); err != nil || info.Size == 0 {
				t.Fatalf("size %d, verify: %v", info.Size, err)
			}
			dest := filepath.Join(base, "out")
			if err := Extract(context.Background(), path, dest, Options{}); err != nil {
				t.Fatal(err)
			}
			compareTrees(t, snapshot(t, dest), snapshot(t, site))
		})
	}
}

// TestCreateGraftedStoresThePrivateDirInsideTheSiteDir checks that a
// graft is archived under its name in place of what the directory has
// there, and unpacks where backups of before hold it; a missing graft is
// left out.
func TestCreateGraftedStoresThePrivateDirInsideTheSiteDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	site := filepath.Join(dir, "sites", "example.com")
	private := filepath.Join(dir, "private", "example.com")
	putFile(t, filepath.Join(site, "settings.php"), []byte("<?php\n"), 0o440)
	putFile(t, filepath.Join(site, "private", "stale.txt"), []byte("stale"), 0o644)
	putFile(t, filepath.Join(private, "secret.txt"), []byte("secret"), 0o640)
	putFile(t, filepath.Join(private, "config", "sync", "system.site.yml"), []byte("name: x\n"), 0o640)
	path := filepath.Join(dir, "b.tar.gz")
	if _, err := CreateGrafted(context.Background(), path, site, true,
		aegir.Graft{Name: "private", Dir: private}, aegir.Graft{Name: "gone", Dir: filepath.Join(dir, "nothing")}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := Extract(context.Background(), path, out, Options{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"settings.php": "<?php\n", "private/secret.txt": "secret", "private/config/sync/system.site.yml": "name: x\n",
	} {
		if got, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"private/stale.txt", "gone"} {
		if _, err := os.Lstat(filepath.Join(out, name)); err == nil {
			t.Errorf("%s was archived", name)
		}
	}
	if _, err := CreateGrafted(context.Background(), filepath.Join(dir, "c.tar.gz"), site, true, aegir.Graft{Name: "../x", Dir: private}); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("a graft named ../x: %v", err)
	}
}
