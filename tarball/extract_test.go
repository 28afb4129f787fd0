package tarball

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// goodStart are harmless entries every hand-made archive starts with, so
// a refusal proves that nothing was written before the bad entry.
var goodStart = []tarEntry{
	{name: "./", typ: tar.TypeDir},
	{name: "./ok.txt", typ: tar.TypeReg, body: "ok"},
	{name: "./sub/", typ: tar.TypeDir},
	{name: "./sub/x.txt", typ: tar.TypeReg, body: "x"},
}

// listTree returns every path under dir, relative and sorted.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		names = append(names, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

func TestExtractRefusesMaliciousArchives(t *testing.T) {
	_, etcEvilErr := os.Lstat("/etc/evil")
	tests := []struct {
		name    string
		entries []tarEntry
		entry   string // the entry the error must name
		why     string // and part of the reason it gives
	}{
		{"parent dir", []tarEntry{{name: "../evil", typ: tar.TypeReg, body: "e"}}, "../evil", ".. component"},
		{"absolute", []tarEntry{{name: "/etc/evil", typ: tar.TypeReg, body: "e"}}, "/etc/evil", "absolute"},
		{"dot dot inside", []tarEntry{{name: "a/../../evil", typ: tar.TypeReg, body: "e"}}, "a/../../evil", ".. component"},
		{"dot dot harmless", []tarEntry{{name: "./sub/../ok2.txt", typ: tar.TypeReg, body: "e"}}, "./sub/../ok2.txt", ".. component"},
		{"symlink to /etc then through it", []tarEntry{
			{name: "link", typ: tar.TypeSymlink, link: "/etc"},
			{name: "link/passwd", typ: tar.TypeReg, body: "root::0:0::/:/bin/sh\n"},
		}, "link", "outside"},
		{"write through inner symlink", []tarEntry{
			{name: "./link", typ: tar.TypeSymlink, link: "sub"},
			{name: "./link/passwd", typ: tar.TypeReg, body: "e"},
		}, "./link/passwd", "through the symlink"},
		{"symlink up", []tarEntry{{name: "up", typ: tar.TypeSymlink, link: "../../outside"}}, "up", "outside"},
		{"nested symlink up", []tarEntry{{name: "./sub/up", typ: tar.TypeSymlink, link: "../.."}}, "./sub/up", "outside"},
		{"symlink up through symlink", []tarEntry{
			{name: "x", typ: tar.TypeSymlink, link: "."},
			{name: "y", typ: tar.TypeSymlink, link: "x/.."}, // lexically ".", really dest's parent
		}, "y", "outside"},
		{"symlink through later symlink", []tarEntry{
			{name: "y", typ: tar.TypeSymlink, link: "sub/x/../.."},
			{name: "sub/x", typ: tar.TypeSymlink, link: "../sub"},
		}, "y", "outside"},
		{"symlink loop", []tarEntry{
			{name: "l1", typ: tar.TypeSymlink, link: "l2/a"},
			{name: "l2", typ: tar.TypeSymlink, link: "l1/b"},
		}, "l1", "too many levels"},
		{"hard link to /etc/passwd", []tarEntry{{name: "hl", typ: tar.TypeLink, link: "/etc/passwd"}}, "hl", "absolute"},
		{"hard link up", []tarEntry{{name: "hl", typ: tar.TypeLink, link: "../outside"}}, "hl", ".. component"},
		{"hard link to nothing", []tarEntry{{name: "hl", typ: tar.TypeLink, link: "missing"}}, "hl", "not a regular file earlier"},
		{"hard link to symlink", []tarEntry{
			{name: "s", typ: tar.TypeSymlink, link: "ok.txt"},
			{name: "hl", typ: tar.TypeLink, link: "s"},
		}, "hl", "not a regular file earlier"},
		{"char device", []tarEntry{{name: "null", typ: tar.TypeChar}}, "null", "device"},
		{"block device", []tarEntry{{name: "sda", typ: tar.TypeBlock}}, "sda", "device"},
		{"fifo", []tarEntry{{name: "pipe", typ: tar.TypeFifo}}, "pipe", "fifo"},
		{"file replaced by symlink", []tarEntry{{name: "ok.txt", typ: tar.TypeSymlink, link: "sub"}}, "ok.txt", "twice"},
		{"dir replaced by symlink", []tarEntry{{name: "sub", typ: tar.TypeSymlink, link: "."}}, "sub", "twice"},
		{"under a file", []tarEntry{{name: "ok.txt/x", typ: tar.TypeReg, body: "e"}}, "ok.txt/x", "under the file"},
	}
	for _, tt := range tests {
		for _, x := range extractors {
			t.Run(tt.name+"/"+x.name, func(t *testing.T) {
				t.Parallel()
				base := t.TempDir()
				if err := os.MkdirAll(filepath.Join(base, "a/b"), 0o755); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(base, "bad.tar")
				writeTar(t, path, append(append([]tarEntry(nil), goodStart...), tt.entries...))
				dest := filepath.Join(base, "a/b/site.restore")
				err := x.fn(context.Background(), path, dest, Options{})
				if got := aegir.ErrorCode(err); got != aegir.EINVALID {
					t.Fatalf("error %v (code %q), want %s", err, got, aegir.EINVALID)
				}
				if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%q", tt.entry)) || !strings.Contains(msg, tt.why) {
					t.Errorf("error %q does not name entry %q with %q", msg, tt.entry, tt.why)
				}
				if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("dest exists after a refusal: %v", err)
				}
				if got, want := listTree(t, base), []string{".", "a", "a/b", "bad.tar"}; !equal(got, want) {
					t.Errorf("files under the test dir: %q, want %q", got, want)
				}
				if _, err := os.Lstat("/etc/evil"); errors.Is(etcEvilErr, fs.ErrNotExist) && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("/etc/evil was written")
				}
			})
		}
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// extractors are Extract and ExtractStream (following a file no archive
// here holds), which must write and refuse the same archives.
var extractors = []struct {
	name string
	fn   func(ctx context.Context, path, dest string, opts Options) error
}{
	{"Extract", Extract},
	{"ExtractStream", func(ctx context.Context, path, dest string, opts Options) error {
		_, err := ExtractStream(ctx, path, dest, opts, "no-such-file", func(context.Context, io.Reader) error { return nil })
		return err
	}},
}

func TestExtractAcceptsLinksThatStayInside(t *testing.T) {
	for _, x := range extractors {
		t.Run(x.name, func(t *testing.T) { testLinksThatStayInside(t, x.fn) })
	}
}

func testLinksThatStayInside(t *testing.T, extract func(context.Context, string, string, Options) error) {
	t.Parallel()
	base := t.TempDir()
	path := filepath.Join(base, "ok.tar")
	writeTar(t, path, append(append([]tarEntry(nil), goodStart...),
		tarEntry{name: "./self", typ: tar.TypeSymlink, link: "."},
		tarEntry{name: "./up-and-back", typ: tar.TypeSymlink, link: "sub/.."},
		tarEntry{name: "./sub/back", typ: tar.TypeSymlink, link: "../ok.txt"},
		tarEntry{name: "./via-self", typ: tar.TypeSymlink, link: "self/sub/x.txt"},
		tarEntry{name: "./dangling", typ: tar.TypeSymlink, link: "not/there"},
		tarEntry{name: "./hard", typ: tar.TypeLink, link: "./ok.txt"},
		tarEntry{name: "deep/er/file", typ: tar.TypeReg, body: "implicit parents"},
	))
	dest := filepath.Join(base, "out")
	if err := extract(context.Background(), path, dest, Options{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"sub/back": "ok", "via-self": "x", "hard": "ok", "deep/er/file": "implicit parents", "up-and-back/ok.txt": "ok"} {
		if b, err := os.ReadFile(filepath.Join(dest, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "dangling")); err != nil || target != "not/there" {
		t.Errorf("dangling -> %q, %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "deep")); err != nil || fi.Mode().Perm()&0o700 != 0o700 {
		t.Errorf("implicit directory deep: %v, %v", fi, err)
	}
}

func TestExtractRefusesDamagedArchives(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	putFile(t, filepath.Join(base, "site/big.bin"), randomBytes(1<<20, 4), 0o644)
	putFile(t, filepath.Join(base, "site/small.txt"), []byte("small"), 0o644)
	var damaged []string
	for _, f := range formats {
		path := filepath.Join(base, "good"+f.ext)
		if _, err := Create(context.Background(), path, filepath.Join(base, "site")); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		truncated := filepath.Join(base, "truncated"+f.ext)
		putFile(t, truncated, data[:len(data)/2], 0o600)
		flipped := filepath.Join(base, "flipped"+f.ext)
		data[len(data)-20] ^= 0xff // inside the compressed data or its checksum
		putFile(t, flipped, data, 0o600)
		damaged = append(damaged, truncated, flipped)
	}
	garbage := filepath.Join(base, "garbage.tar.gz")
	putFile(t, garbage, randomBytes(10000, 5), 0o600)
	empty := filepath.Join(base, "empty.tar")
	putFile(t, empty, nil, 0o600)
	damaged = append(damaged, garbage, empty)
	for _, x := range extractors {
		for _, path := range damaged {
			dest := filepath.Join(base, "out")
			err := x.fn(context.Background(), path, dest, Options{})
			if got := aegir.ErrorCode(err); got != aegir.EINVALID {
				t.Errorf("%s %s: error %v (code %q), want %s", x.name, filepath.Base(path), err, got, aegir.EINVALID)
			}
			if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s %s: dest exists after a refusal", x.name, filepath.Base(path))
			}
		}
		if err := x.fn(context.Background(), filepath.Join(base, "none.tar.gz"), filepath.Join(base, "out"), Options{}); aegir.ErrorCode(err) != aegir.ENOTFOUND {
			t.Errorf("%s missing archive: %v, want %s", x.name, err, aegir.ENOTFOUND)
		}
	}
}

func TestExtractRefusesExistingDest(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	path := filepath.Join(base, "ok.tar")
	writeTar(t, path, goodStart)
	dest := filepath.Join(base, "out")
	putFile(t, filepath.Join(dest, "keep"), []byte("keep"), 0o644)
	for _, x := range extractors {
		err := x.fn(context.Background(), path, dest, Options{})
		if got := aegir.ErrorCode(err); got != aegir.ECONFLICT {
			t.Fatalf("%s: error %v (code %q), want %s", x.name, err, got, aegir.ECONFLICT)
		}
		if got, want := listTree(t, dest), []string{".", "keep"}; !equal(got, want) {
			t.Errorf("%s: dest now holds %q, want %q", x.name, got, want)
		}
	}
}

func TestExtractCancelledRemovesDest(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	makeSite(t, site)
	path := filepath.Join(base, "b.tar.gz")
	if _, err := Create(context.Background(), path, site); err != nil {
		t.Fatal(err)
	}
	// Extract's first pass checks ctx once per entry (13 here, plus EOF);
	// later counts cancel during the second pass, some mid-file.
	// ExtractStream's single pass checks it once per entry and once per
	// read of each file.
	counts := map[string][]int64{"Extract": {0, 5, 15, 20, 25, 30}, "ExtractStream": {0, 3, 8, 12, 16}}
	for _, x := range extractors {
		for _, n := range counts[x.name] {
			dest := filepath.Join(base, fmt.Sprint("out", n))
			err := x.fn(newCountdownCtx(n), path, dest, Options{})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s countdown %d: error %v, want context.Canceled", x.name, n, err)
			}
			if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s countdown %d: dest left behind", x.name, n)
			}
		}
	}
}
