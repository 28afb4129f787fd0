package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/postgres"
	"github.com/aegir-hosting/aegir/sqlite"
	"github.com/jackc/pgx/v5"
)

// storeKind opens a new, empty store of one driver.
type storeKind struct {
	name string
	open func(t testing.TB) aegir.Store
}

var storeKinds = []storeKind{
	{"SQLite", openSQLite},
	{"PostgreSQL", func(t testing.TB) aegir.Store {
		s, err := postgres.Open(context.Background(), newPostgresDatabase(t))
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

// postgresAdminURL finds the PostgreSQL server the tests use:
// $AEGIR_TEST_POSTGRES, or 127.0.0.1:5432 as postgres or root. It skips
// when nothing listens there.
func postgresAdminURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("AEGIR_TEST_POSTGRES"); u != "" {
		return u
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second)
	if err != nil {
		t.Skipf("PostgreSQL is not reachable at 127.0.0.1:5432 (%v); set AEGIR_TEST_POSTGRES", err)
	}
	conn.Close()
	for _, user := range []string{"postgres", "root"} {
		u := "postgres://" + user + "@127.0.0.1:5432/postgres?sslmode=disable"
		if c, err := pgx.Connect(context.Background(), u); err == nil {
			c.Close(context.Background())
			return u
		}
	}
	t.Skip("PostgreSQL at 127.0.0.1:5432 takes neither user postgres nor root")
	return ""
}

// newPostgresDatabase creates an empty database, dropped when the test
// ends, and returns its URL.
func newPostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := postgresAdminURL(t)
	name := "aegir_bench_" + randomHex(6)
	conn, err := pgx.Connect(context.Background(), admin)
	must(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "CREATE DATABASE "+name)
	must(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	must(t, err)
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
