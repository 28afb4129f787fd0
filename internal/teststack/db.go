package teststack

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/aegir-hosting/aegir"
)

// RootDB opens the test MariaDB at 127.0.0.1:3306 as root (no password),
// closed when the test ends.
func RootDB(t testing.TB) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", "127.0.0.1:3306"
	cfg.Timeout = 5 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TempDatabase creates a database named prefix and 12 random hex digits,
// with a user of the same name and a random password that has every
// privilege on it from localhost and 127.0.0.1, and drops both when the
// test ends. It returns their credentials on 127.0.0.1:3306.
func TempDatabase(t testing.TB, prefix string) *aegir.DBCredentials {
	t.Helper()
	db := RootDB(t)
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("MariaDB at 127.0.0.1:3306: %v", err)
	}
	name := prefix + RandomHex(t, 6)
	creds := &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: name, User: name, Password: RandomHex(t, 12)}
	hosts := []string{"localhost", "127.0.0.1"}
	stmts := []string{"CREATE DATABASE `" + name + "`"}
	for _, host := range hosts {
		stmts = append(stmts,
			fmt.Sprintf("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", name, host, creds.Password),
			fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%s'", name, name, host))
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE IF EXISTS `" + name + "`")
		for _, host := range hosts {
			db.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%s'", name, host))
		}
	})
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return creds
}

// RandomHex returns n random bytes in hex, for unique names and passwords.
func RandomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
