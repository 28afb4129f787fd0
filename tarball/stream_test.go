package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// collect is a consume that keeps what it reads.
func collect(got *[]byte) func(context.Context, io.Reader) error {
	return func(_ context.Context, r io.Reader) error {
		b, err := io.ReadAll(r)
		*got = b
		return err
	}
}

func TestExtractStreamWritesTheTreeAndStreamsTheFile(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			site := filepath.Join(base, "site")
			makeSite(t, site)
			path := filepath.Join(base, "b"+f.ext)
			if _, err := Create(context.Background(), path, site); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"database.sql", "files/big.bin"} {
				dest := filepath.Join(base, strings.ReplaceAll(name, "/", "_")+".restore")
				var got []byte
				streamed, err := ExtractStream(context.Background(), path, dest, Options{}, name, collect(&got))
				if err != nil || !streamed {
					t.Fatalf("%s: streamed %v, %v", name, streamed, err)
				}
				compareTrees(t, snapshot(t, dest), snapshot(t, site))
				if want, _ := os.ReadFile(filepath.Join(site, name)); !bytes.Equal(got, want) {
					t.Errorf("%s: streamed %d bytes, want the file's %d", name, len(got), len(want))
				}
			}
		})
	}
}

func TestExtractStreamReadsAegir3TarballMadeBySystemTar(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar command:", err)
	}
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	makeSite(t, site)
	if err := os.Link(filepath.Join(site, "files/a/b/doc.txt"), filepath.Join(site, "files/hard.txt")); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, site)
	path := filepath.Join(base, "x.tar.gz")
	// GNU tar's own order, not aegir's: the dump is wherever it falls.
	if b, err := exec.Command("tar", "czpf", path, "-C", site, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	dest := filepath.Join(base, "out")
	var got []byte
	if streamed, err := ExtractStream(context.Background(), path, dest, Options{}, "database.sql", collect(&got)); err != nil || !streamed {
		t.Fatalf("streamed %v, %v", streamed, err)
	}
	compareTrees(t, snapshot(t, dest), want)
	if string(got) != "CREATE TABLE t (id int);\n" {
		t.Errorf("streamed %q", got)
	}
}

func TestExtractStreamWithoutTheFileDoesNotConsume(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	path := filepath.Join(base, "ok.tar")
	writeTar(t, path, append(append([]tarEntry(nil), goodStart...),
		tarEntry{name: "./database.sql", typ: tar.TypeSymlink, link: "ok.txt"},
		tarEntry{name: "./sub/database.sql", typ: tar.TypeReg, body: "not at the top"},
	))
	called := false
	streamed, err := ExtractStream(context.Background(), path, filepath.Join(base, "out"), Options{}, "database.sql",
		func(context.Context, io.Reader) error { called = true; return nil })
	if err != nil || streamed || called {
		t.Fatalf("streamed %v, called %v, error %v; want neither, no error", streamed, called, err)
	}
}

func TestExtractStreamStopsWhenConsumeFails(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	makeSite(t, site)
	path := filepath.Join(base, "b.tar.gz")
	if _, err := Create(context.Background(), path, site); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(base, "out")
	failed := errors.New("the import failed")
	streamed, err := ExtractStream(context.Background(), path, dest, Options{}, "files/big.bin", func(_ context.Context, r io.Reader) error {
		if _, err := r.Read(make([]byte, 100)); err != nil {
			return err
		}
		return failed
	})
	if !streamed || !errors.Is(err, failed) {
		t.Fatalf("streamed %v, error %v; want consume's", streamed, err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dest left behind: %v", err)
	}
}

func TestExtractStreamFailsTheReaderOfADamagedArchive(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	site := filepath.Join(base, "site")
	putFile(t, filepath.Join(site, "database.sql"), randomBytes(4<<20, 7), 0o600)
	putFile(t, filepath.Join(site, "z.bin"), randomBytes(1<<20, 8), 0o600)
	good := filepath.Join(base, "good.tar.gz")
	if _, err := Create(context.Background(), good, site); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	path := filepath.Join(base, "truncated.tar.gz")
	putFile(t, path, data[:len(data)/2], 0o600) // inside the dump
	var readErr error
	dest := filepath.Join(base, "out")
	streamed, err := ExtractStream(context.Background(), path, dest, Options{}, "database.sql", func(_ context.Context, r io.Reader) error {
		_, readErr = io.Copy(io.Discard, r)
		return readErr
	})
	if !streamed || aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("streamed %v, error %v; want the archive's EINVALID", streamed, err)
	}
	if readErr == nil {
		t.Errorf("consume read a truncated file to its end without an error")
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dest left behind: %v", err)
	}
}
