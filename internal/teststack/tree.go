package teststack

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// CopyTree copies the codebase at src to dst as a platform is made from a
// Debian package: symbolic links are followed (Debian links some
// directories and files into /etc and /var/lib) and dangling ones are left
// out. Modes are kept; dst's parent is created when missing, dst must not
// exist.
func CopyTree(src, dst string) error { return copyTree(src, dst, false) }

// LinkTree is CopyTree with files hard-linked to the originals, which is
// much faster than copying hundreds of megabytes. It is for tests where
// nothing writes into an existing file of the codebase or changes its mode
// or owner (an app driver replaces files by renaming new ones over them);
// a file that cannot be linked is copied.
func LinkTree(src, dst string) error { return copyTree(src, dst, true) }

func copyTree(src, dst string, link bool) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return copyEntry(src, dst, link)
}

func copyEntry(src, dst string, link bool) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if link {
			if real, err := filepath.EvalSymlinks(src); err == nil && os.Link(real, dst) == nil {
				return nil
			}
		}
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, st.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	if err := os.Mkdir(dst, st.Mode().Perm()); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s := filepath.Join(src, e.Name())
		if _, err := os.Stat(s); errors.Is(err, fs.ErrNotExist) {
			continue // a dangling link
		}
		if err := copyEntry(s, filepath.Join(dst, e.Name()), link); err != nil {
			return err
		}
	}
	return nil
}

// SharedPlatform is a LinkTree copy of a codebase, verified as a platform
// of App, that the tests of a package share as the sites of a platform
// share its codebase. The first test that asks for it makes it; TestMain
// removes it with Remove after the tests ran.
type SharedPlatform struct {
	Source string    // the codebase, e.g. /usr/share/wordpress
	App    aegir.App // its VerifyPlatform runs once on the copy

	once sync.Once
	dir  string
	root string
	err  error
}

// Root returns the root of the copy, making it on the first call in a
// temporary directory the web server's workers can traverse. It skips t
// when there is no Source, and fails it when the copy or the verify
// failed.
func (p *SharedPlatform) Root(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(p.Source); err != nil {
		Missing(t, "no codebase to copy: %v", err)
	}
	p.once.Do(func() {
		if p.dir, p.err = os.MkdirTemp("", "aegir-"+filepath.Base(p.Source)+"-"); p.err != nil {
			return
		}
		if p.err = os.Chmod(p.dir, 0o755); p.err != nil {
			return
		}
		p.root = filepath.Join(p.dir, "platform")
		if p.err = LinkTree(p.Source, p.root); p.err != nil {
			return
		}
		p.err = p.App.VerifyPlatform(context.Background(), p.root)
	})
	if p.err != nil {
		t.Fatalf("platform: %v", p.err)
	}
	return p.root
}

// Remove removes the copy, if one was made.
func (p *SharedPlatform) Remove() {
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}
