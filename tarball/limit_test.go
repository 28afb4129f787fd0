package tarball

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// bomb writes a gzipped tar whose file declares size bytes of zeros; with
// short, only its first MiB is there (a header can claim anything).
func bomb(t *testing.T, size int64, short bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bomb.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, h := range []*tar.Header{
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./settings.php", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("<?php"))
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "./files/zeros.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
		t.Fatal(err)
	}
	n := size
	if short {
		n = min(size, 1<<20)
	}
	if _, err := io.CopyN(tw, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	if !short {
		tw.Close()
	}
	zw.Close()
	f.Close()
	return path
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestRestoreRefusesAnArchiveThatExpandsPastItsBound: an archive whose
// files add up to more than the bound (set, or what the disk can spare) is
// refused, naming the bound, before the entry that passes it is written;
// the destination is not left behind. Both ways of unpacking.
func TestRestoreRefusesAnArchiveThatExpandsPastItsBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spare, err := SpareBytes(t.TempDir())
	if err != nil || spare <= 0 {
		t.Fatalf("SpareBytes = %d, %v", spare, err)
	}
	for _, tc := range []struct {
		name    string
		archive string
		opts    Options
	}{
		{"past a set bound", bomb(t, 8<<20, false), Options{MaxBytes: 1 << 20}},
		// A header that claims more than the disk has: refused before any
		// of it is read, let alone written.
		{"past what the disk can spare", bomb(t, spare+1<<30, true), Options{}},
	} {
		for _, how := range []string{"Extract", "ExtractStream"} {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				t.Parallel()
				dest := filepath.Join(t.TempDir(), "site.restore")
				if how == "Extract" {
					err = Extract(ctx, tc.archive, dest, tc.opts)
				} else {
					_, err = ExtractStream(ctx, tc.archive, dest, tc.opts, "database.sql", func(context.Context, io.Reader) error { return nil })
				}
				if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "expands past") || !strings.Contains(err.Error(), "zeros.bin") {
					t.Fatalf("%s: %v", how, err)
				}
				if _, serr := os.Lstat(dest); !os.IsNotExist(serr) {
					t.Fatalf("%s left %s behind: %v", how, dest, serr)
				}
			})
		}
	}
	// Within the bound, and with no bound, the same archive unpacks.
	small := bomb(t, 2<<20, false)
	if err := Extract(ctx, small, filepath.Join(t.TempDir(), "ok"), Options{MaxBytes: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := Extract(ctx, small, filepath.Join(t.TempDir(), "ok"), Options{MaxBytes: -1}); err != nil {
		t.Fatal(err)
	}
}
