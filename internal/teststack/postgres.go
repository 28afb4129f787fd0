package teststack

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresAdminURL finds the PostgreSQL server the tests use:
// $AEGIR_TEST_POSTGRES, or 127.0.0.1:5432 with trust auth as postgres or
// root. It skips the test only when nothing listens there.
func PostgresAdminURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("AEGIR_TEST_POSTGRES"); u != "" {
		return u
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second)
	if err != nil {
		Missing(t, "PostgreSQL is not reachable at 127.0.0.1:5432 (%v); set AEGIR_TEST_POSTGRES to test elsewhere", err)
	}
	conn.Close()
	var errs []error
	for _, user := range []string{"postgres", "root"} {
		u := "postgres://" + user + "@127.0.0.1:5432/postgres?sslmode=disable"
		c, err := pgx.Connect(context.Background(), u)
		if err == nil {
			c.Close(context.Background())
			return u
		}
		errs = append(errs, err)
	}
	t.Fatalf("PostgreSQL listens at 127.0.0.1:5432 but takes neither user postgres nor root: %v", errs)
	return ""
}

// TempPostgresDatabase creates an empty database named prefix and 12
// random hex digits on the test server, drops it (ending its connections)
// when the test ends, and returns its URL.
func TempPostgresDatabase(t testing.TB, prefix string) string {
	t.Helper()
	admin := PostgresAdminURL(t)
	name := prefix + RandomHex(t, 6)
	conn, err := pgx.Connect(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
