package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	open := func(ctx context.Context, url string) (aegir.Store, error) {
		s, err := Open(ctx, url)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	aegir.RegisterStore("postgres", open)
	aegir.RegisterStore("postgresql", open)
}

// Store is aegir.Store on a PostgreSQL database.
type Store struct {
	*sqlstore.Store
}

// Open connects to the database at url (postgres://user@host/db?...) and
// brings its schema up to date.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "postgres: database url: %v", err)
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		// Times come back in UTC, as the SQLite store returns them.
		conn.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", redact(cfg.ConnConfig), err)
	}
	// database/sql over the pool: the pool keeps the connections (and
	// each connection its prepared statements), database/sql none.
	db := stdlib.OpenDBFromPool(pool)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return &Store{sqlstore.New(&dialect{pool: pool, db: db, done: make(chan struct{})})}, nil
}

func redact(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// goose's session lock lets two processes start at once: one
	// migrates, the other waits for it.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

var _ aegir.Store = (*Store)(nil)
