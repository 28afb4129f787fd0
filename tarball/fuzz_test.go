package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FuzzCleanName: an entry name that passes is the top directory or one
// local path, clean, with no ".." component, so joined to the destination
// it names something inside it.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{
		"./", ".", "./settings.php", "files/a.txt", "../evil", "/etc/passwd", "a/../../evil", "./sub/../ok",
		"a//b", "a/./b", "..", "...", "a/..", "C:\\x", "a\\..\\..\\b", "\x00", "a/\n/b", "./../", ".//..//x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		name, why := cleanName(raw)
		if why != "" {
			if name != "" {
				t.Fatalf("cleanName(%q) refused it (%s) but returned %q", raw, why, name)
			}
			return
		}
		if name != "." && !filepath.IsLocal(name) {
			t.Fatalf("cleanName(%q) = %q, not a local path", raw, name)
		}
		if path.Clean(name) != name || strings.HasPrefix(name, "/") {
			t.Fatalf("cleanName(%q) = %q, not clean and relative", raw, name)
		}
		for _, part := range strings.Split(raw, "/") {
			if part == ".." {
				t.Fatalf("cleanName(%q) accepted a .. component", raw)
			}
		}
		const dest = "/srv/dest"
		if j := filepath.Join(dest, name); j != dest && !strings.HasPrefix(j, dest+"/") {
			t.Fatalf("cleanName(%q) = %q, which joined to %s is %s", raw, name, dest, j)
		}
	})
}

// entryTypes maps the first byte of a line of a fuzzed archive to a tar
// type; any other byte is a regular file.
var entryTypes = map[byte]byte{
	'd': tar.TypeDir, 'f': tar.TypeReg, 'l': tar.TypeSymlink, 'h': tar.TypeLink,
	'c': tar.TypeChar, 'b': tar.TypeBlock, 'p': tar.TypeFifo, 's': tar.TypeGNUSparse,
}

// specOf writes entries as a fuzzed archive's spec (see archiveOf), for
// seeds.
func specOf(entries []tarEntry) string {
	var lines []string
	for _, e := range entries {
		typ := byte('f')
		for k, v := range entryTypes {
			if v == e.typ {
				typ = k
			}
		}
		extra := e.body
		if e.typ == tar.TypeSymlink || e.typ == tar.TypeLink {
			extra = e.link
		}
		lines = append(lines, string(typ)+e.name+"\x00"+extra)
	}
	return strings.Join(lines, "\n")
}

// archiveOf builds a plain tar archive from spec: an entry a line (at most
// 64), its first byte the type (see entryTypes), then the name, then,
// after a NUL, the link target (symlink, hard link) or the content.
// Names and targets hold no NUL or newline, which tar cannot carry or
// which only separate entries here. It returns nil when the tar writer
// refuses a header.
func archiveOf(spec string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, line := range strings.Split(spec, "\n") {
		if i == 64 || line == "" {
			break
		}
		typ, ok := entryTypes[line[0]]
		if !ok {
			typ = tar.TypeReg
		}
		name, extra, _ := strings.Cut(line[1:], "\x00")
		hdr := &tar.Header{Name: name, Typeflag: typ, Mode: 0o644, ModTime: time.Unix(1700000000, 0)}
		switch typ {
		case tar.TypeDir:
			hdr.Mode = 0o755
		case tar.TypeReg, tar.TypeGNUSparse:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(extra))
		case tar.TypeSymlink, tar.TypeLink:
			hdr.Linkname = extra
		case tar.TypeChar, tar.TypeBlock:
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(extra)); err != nil {
				return nil
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil
	}
	return buf.Bytes()
}

// extractSeeds are the archives of TestExtractRefusesMaliciousArchives and
// TestExtractAcceptsLinksThatStayInside, and a few more escapes.
var extractSeeds = [][]tarEntry{
	goodStart,
	{{name: "../evil", typ: tar.TypeReg, body: "e"}},
	{{name: "/etc/evil", typ: tar.TypeReg, body: "e"}},
	{{name: "a/../../evil", typ: tar.TypeReg, body: "e"}},
	{{name: "./sub/../ok2.txt", typ: tar.TypeReg, body: "e"}},
	{{name: "x", typ: tar.TypeSymlink, link: "/etc"}},
	{{name: "link", typ: tar.TypeSymlink, link: "/etc"}, {name: "link/passwd", typ: tar.TypeReg, body: "x"}},
	{{name: "./sub/", typ: tar.TypeDir}, {name: "./link", typ: tar.TypeSymlink, link: "sub"}, {name: "./link/passwd", typ: tar.TypeReg, body: "e"}},
	{{name: "up", typ: tar.TypeSymlink, link: "../../outside"}},
	{{name: "./sub/up", typ: tar.TypeSymlink, link: "../.."}},
	{{name: "x", typ: tar.TypeSymlink, link: "."}, {name: "y", typ: tar.TypeSymlink, link: "x/.."}},
	{{name: "y", typ: tar.TypeSymlink, link: "sub/x/../.."}, {name: "sub/x", typ: tar.TypeSymlink, link: "../sub"}},
	{{name: "l1", typ: tar.TypeSymlink, link: "l2/a"}, {name: "l2", typ: tar.TypeSymlink, link: "l1/b"}},
	{{name: "hl", typ: tar.TypeLink, link: "/etc/passwd"}},
	{{name: "hl", typ: tar.TypeLink, link: "../../../../../../outside/secret"}},
	{{name: "hl", typ: tar.TypeLink, link: "missing"}},
	{{name: "ok.txt", typ: tar.TypeReg, body: "ok"}, {name: "s", typ: tar.TypeSymlink, link: "ok.txt"}, {name: "hl", typ: tar.TypeLink, link: "s"}},
	{{name: "null", typ: tar.TypeChar}},
	{{name: "sda", typ: tar.TypeBlock}},
	{{name: "pipe", typ: tar.TypeFifo}},
	{{name: "ok.txt", typ: tar.TypeReg, body: "ok"}, {name: "ok.txt", typ: tar.TypeSymlink, link: "sub"}},
	{{name: "sub/", typ: tar.TypeDir}, {name: "sub", typ: tar.TypeSymlink, link: "."}},
	{{name: "ok.txt", typ: tar.TypeReg, body: "ok"}, {name: "ok.txt/x", typ: tar.TypeReg, body: "e"}},
	{{name: "up", typ: tar.TypeSymlink, link: "../../../../../../outside"}, {name: "up/secret", typ: tar.TypeReg, body: "overwritten"}},
	{{name: "d/", typ: tar.TypeDir}, {name: "d/e", typ: tar.TypeSymlink, link: ".."}, {name: "d/e/f", typ: tar.TypeSymlink, link: "../.."}},
	{{name: "a", typ: tar.TypeSymlink, link: "b/../.."}, {name: "b", typ: tar.TypeSymlink, link: "c"}, {name: "c/", typ: tar.TypeDir}},
	{{name: "./", typ: tar.TypeSymlink, link: ".."}},
	{{name: ".", typ: tar.TypeReg, body: "x"}},
	append(append([]tarEntry(nil), goodStart...),
		tarEntry{name: "./self", typ: tar.TypeSymlink, link: "."},
		tarEntry{name: "./up-and-back", typ: tar.TypeSymlink, link: "sub/.."},
		tarEntry{name: "./sub/back", typ: tar.TypeSymlink, link: "../ok.txt"},
		tarEntry{name: "./via-self", typ: tar.TypeSymlink, link: "self/sub/x.txt"},
		tarEntry{name: "./dangling", typ: tar.TypeSymlink, link: "not/there"},
		tarEntry{name: "./hard", typ: tar.TypeLink, link: "./ok.txt"},
		tarEntry{name: "deep/er/file", typ: tar.TypeReg, body: "implicit parents"},
	),
}

// FuzzExtract: whatever archive Extract and ExtractStream are given,
// nothing outside the destination is written, changed or linked to; what
// they accept holds no symlink that leads out of it and no hard link to a
// file outside; what they refuse leaves no destination; and both accept
// and refuse the same archives.
func FuzzExtract(f *testing.F) {
	for _, entries := range extractSeeds {
		f.Add(specOf(entries))
	}
	f.Fuzz(func(t *testing.T, spec string) {
		data := archiveOf(spec)
		if data == nil {
			return
		}
		// base/outside/secret is what an escape would reach; the
		// destinations are six levels below base, so a chain of up to six
		// ".." that got through would land in base, which is compared.
		base := t.TempDir()
		parent := filepath.Join(base, "a", "b", "c", "d", "e")
		if err := os.MkdirAll(parent, 0o755); err != nil {
			t.Fatal(err)
		}
		secret := filepath.Join(base, "outside", "secret")
		if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(base, "archive.tar")
		if err := os.WriteFile(archive, data, 0o600); err != nil {
			t.Fatal(err)
		}
		before := treeOutside(t, base, parent)
		var errs []error
		for _, x := range extractors {
			dest := filepath.Join(parent, x.name)
			err := x.fn(context.Background(), archive, dest, Options{MaxBytes: 1 << 20})
			errs = append(errs, err)
			if err != nil {
				if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
					t.Fatalf("%s refused the archive (%v) but left %s", x.name, err, dest)
				}
				continue
			}
			checkInside(t, x.name, dest, base)
			makeRemovable(dest)
			if err := os.RemoveAll(dest); err != nil {
				t.Fatal(err)
			}
		}
		if after := treeOutside(t, base, parent); after != before {
			t.Fatalf("an extraction changed what is outside its destination:\nbefore:\n%s\nafter:\n%s\nerrors: %v", before, after, errs)
		}
		if (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("Extract and ExtractStream disagree: %v, %v", errs[0], errs[1])
		}
	})
}

// treeOutside describes every file under base: type, mode, content or
// link target, and mtime, but the mtime of parent, where the
// destinations are made and removed.
func treeOutside(t *testing.T, base, parent string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if filepath.Dir(p) == parent {
			return filepath.SkipDir // a destination
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		fmt.Fprintf(&b, "%s %v", rel, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", target)
		case fi.Mode().IsRegular():
			content, _ := os.ReadFile(p)
			fmt.Fprintf(&b, " %q %d", content, fi.ModTime().UnixNano())
		case p != parent:
			fmt.Fprintf(&b, " %d", fi.ModTime().UnixNano())
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkInside fails when a symlink under dest leads outside it, as the
// kernel would resolve it on the tree as written, or a file under dest is
// a hard link to a file under base outside dest.
func checkInside(t *testing.T, who, dest, base string) {
	t.Helper()
	outside := map[uint64]string{}
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if p == dest {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				outside[fi.Sys().(*syscall.Stat_t).Ino] = p
			}
		}
		return nil
	})
	err := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dest, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			dir := strings.Split(filepath.Dir(rel), "/")
			if dir[0] == "." {
				dir = nil
			}
			if !resolvesInside(dest, dir, target, 0) {
				t.Fatalf("%s wrote the symlink %s -> %s, which leads outside %s", who, rel, target, dest)
			}
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if o, ok := outside[fi.Sys().(*syscall.Stat_t).Ino]; ok {
				t.Fatalf("%s wrote %s as a hard link to %s, outside %s", who, rel, o, dest)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// resolvesInside walks target from dir (a path under dest) on the tree as
// written, following its symlinks as the kernel would, and reports whether
// it stays under dest; a missing component is walked through by name, as a
// later mkdir would make it, and a loop reaches nothing (ELOOP).
func resolvesInside(dest string, dir []string, target string, depth int) bool {
	_, escapes, _ := walkLink(dest, dir, target, depth)
	return !escapes
}

// walkLink returns where target leads from dir, or that it escapes dest,
// or that it loops.
func walkLink(dest string, dir []string, target string, depth int) (cur []string, escapes, loops bool) {
	if strings.HasPrefix(target, "/") {
		return nil, true, false
	}
	if depth > maxSymlinkDepth {
		return nil, false, true
	}
	cur = append([]string(nil), dir...)
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return nil, true, false
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, part)
		p := filepath.Join(append([]string{dest}, cur...)...)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			next, err := os.Readlink(p)
			if err != nil {
				return nil, false, true
			}
			if cur, escapes, loops = walkLink(dest, cur[:len(cur)-1], next, depth+1); escapes || loops {
				return nil, escapes, loops
			}
		}
	}
	return cur, false, false
}

// makeRemovable gives every directory under dest its owner's write and
// search permission, which an archive may have taken away.
func makeRemovable(dest string) {
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}
