package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/postgres"
	"github.com/aegir-hosting/aegir/sqlite"
)

// storeKind opens a new, empty store of one driver.
type storeKind struct {
	name string
	open func(t testing.TB) aegir.Store
}

var storeKinds = []storeKind{
	{"SQLite", openSQLite},
	{"PostgreSQL", func(t testing.TB) aegir.Store {
		s, err := postgres.Open(context.Background(), teststack.TempPostgresDatabase(t, "aegir_bench_"))
		must(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

func openSQLite(t testing.TB) aegir.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hosting.db"))
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}
