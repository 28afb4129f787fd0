package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Channel is the LISTEN/NOTIFY channel that signals task queue changes.
const Channel = "aegir_tasks"

// claimLock is the key of the transaction-scoped advisory lock that
// serialises task claims across processes ("aegir" in ASCII).
const claimLock = 0x6165676972

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
	pool *pgxpool.Pool

	// done ends the listeners when the store closes.
	done      chan struct{}
	closeOnce sync.Once
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
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return &Store{pool: pool, done: make(chan struct{})}, nil
}

func redact(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
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
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close ends the listeners and closes the connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.pool.Close()
	})
	return nil
}

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// write runs fn in one read-write transaction and commits it when fn
// succeeds.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return mapError(pgx.BeginFunc(ctx, s.pool, fn))
}

// read runs fn in one read-only transaction on a single snapshot.
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return mapError(pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn))
}

// mapError turns a constraint violation that the explicit checks did not
// catch (two processes racing) into an ECONFLICT.
func mapError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "23") {
		return &aegir.Error{Code: aegir.ECONFLICT, Message: pe.Message}
	}
	return err
}

// likeContains is a LIKE pattern (with ESCAPE '\') matching q anywhere.
func likeContains(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// conds collects the conditions and numbered arguments of a WHERE clause.
type conds struct {
	list []string
	args []any
}

// add appends a condition whose "?" is the next argument's placeholder.
func (c *conds) add(cond string, arg any) {
	c.args = append(c.args, arg)
	c.list = append(c.list, strings.Replace(cond, "?", fmt.Sprintf("$%d", len(c.args)), 1))
}

func (c *conds) where() string {
	if len(c.list) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.list, " AND ")
}

func nameFilter(q string) *conds {
	c := &conds{}
	if q != "" {
		c.add(`name LIKE ? ESCAPE '\'`, likeContains(q))
	}
	return c
}

// page counts the rows of from matching c and reads one page of them, both
// on one snapshot.
func (s *Store) page(ctx context.Context, from string, c *conds, cols, order string, limit, offset int, scan func(pgx.Rows) error) (int, error) {
	var total int
	err := s.read(ctx, func(tx pgx.Tx) error {
		w := c.where()
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+from+w, c.args...).Scan(&total); err != nil {
			return err
		}
		n := len(c.args)
		rows, err := tx.Query(ctx, fmt.Sprintf("SELECT %s FROM %s%s ORDER BY %s LIMIT $%d OFFSET $%d", cols, from, w, order, n+1, n+2),
			append(c.args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return total, err
}

// exists reports whether query (SELECT 1 ...) returns a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Notify wakes every listener, in every process sharing the database.
func (s *Store) Notify(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, "SELECT pg_notify($1, '')", Channel)
	return err
}

// notifyTx queues a notification that PostgreSQL sends when tx commits.
func notifyTx(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, '')", Channel)
	return err
}

// Listen returns a channel that receives a value after notifications on
// Channel, closed when ctx ends or the store closes. It holds one
// connection of its own; when that connection breaks, it reconnects with
// backoff and then signals once, since notifications may have been lost.
func (s *Store) Listen(ctx context.Context) (<-chan struct{}, error) {
	conn, err := s.listenConn(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	go s.listen(ctx, conn, ch)
	return ch, nil
}

func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

func (s *Store) listen(ctx context.Context, conn *pgx.Conn, ch chan struct{}) {
	defer close(ch)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	for {
		_, err := conn.WaitForNotification(ctx)
		if ctx.Err() != nil {
			conn.Close(context.Background())
			return
		}
		if err == nil {
			signal()
			continue
		}
		conn.Close(context.Background())
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 10*time.Second) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			if conn, err = s.listenConn(ctx); err == nil {
				break
			}
		}
		signal()
	}
}

var _ aegir.Store = (*Store)(nil)
