package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/sqlite"
	"github.com/aegir-hosting/aegir/storetest"
)

func TestStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) aegir.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hosting.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenStoreTakesAPathOrASQLiteURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, url := range []string{filepath.Join(dir, "a.db"), "sqlite://" + filepath.Join(dir, "b.db")} {
		s, err := aegir.OpenStore(t.Context(), url)
		if err != nil {
			t.Fatalf("OpenStore(%s): %v", url, err)
		}
		if _, ok := s.(*sqlite.Store); !ok {
			t.Fatalf("OpenStore(%s) = %T", url, s)
		}
		s.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "b.db")); err != nil {
		t.Fatal(err)
	}
}
