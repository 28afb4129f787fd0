package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// queueLock is the key of the transaction-scoped advisory lock that
// serialises task claims across processes ("aegir" in ASCII).
const queueLock = 0x6165676972

// dialect is sqlstore.Dialect on PostgreSQL: a transaction a write on the
// pool, row locks, the database server's clock (so that dispatchers on
// several machines agree on times), and LISTEN/NOTIFY.
type dialect struct {
	pool *pgxpool.Pool
	db   *sql.DB // over pool

	// done ends the listeners when the store closes.
	done      chan struct{}
	closeOnce sync.Once
}

// Close ends the listeners and closes the connections.
func (d *dialect) Close() error {
	d.closeOnce.Do(func() {
		close(d.done)
		d.db.Close()
		d.pool.Close()
	})
	return nil
}

// writeTx is a write transaction with the connection it runs on, for
// InsertRows' COPY.
type writeTx struct {
	*sql.Tx
	conn *sql.Conn
}

// Write runs fn in one read-write transaction and commits it when fn
// succeeds.
func (d *dialect) Write(ctx context.Context, fn func(ctx context.Context, tx sqlstore.Querier) error) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op once committed
	if err := fn(ctx, &writeTx{tx, conn}); err != nil {
		return mapError(err)
	}
	return mapError(tx.Commit())
}

// Read runs fn in one read-only transaction on a single snapshot.
func (d *dialect) Read(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return mapError(fn(tx))
}

// Reader returns the pool: each connection prepares a statement once.
func (d *dialect) Reader() sqlstore.Querier { return d.db }

// mapError turns a constraint violation that the explicit checks did not
// catch (two processes racing) into an ECONFLICT.
func mapError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "23") {
		return &aegir.Error{Code: aegir.ECONFLICT, Message: pe.Message}
	}
	return err
}

// Bind makes $now the transaction's time and $clock the statement's, by
// the database server's clock.
func (d *dialect) Bind(query string, args []any) (string, []any) {
	if strings.Contains(query, "$now") {
		query = strings.ReplaceAll(query, "$now", "now()")
	}
	if strings.Contains(query, "$clock") {
		query = strings.ReplaceAll(query, "$clock", "clock_timestamp()")
	}
	return query, args
}

// ForUpdate locks the rows read, so that concurrent writes of other
// processes wait for this one.
func (d *dialect) ForUpdate(opts string) string {
	if opts == "" {
		return " FOR UPDATE"
	}
	return " FOR UPDATE " + opts
}

// True is TRUE: booleans are booleans.
func (d *dialect) True() string { return "TRUE" }

// AnyOf passes values as one array, so that the statement is the same for
// any number of values.
func (d *dialect) AnyOf(expr string, n int, values []string) (string, []any) {
	return fmt.Sprintf("%s = ANY($%d)", expr, n), []any{append([]string{}, values...)}
}

// Hour truncates the time in UTC; the result is a time without a zone.
func (d *dialect) Hour(col string) string {
	return "date_trunc('hour', " + col + " AT TIME ZONE 'UTC')"
}

// Seconds is the epoch of the interval between the two times.
func (d *dialect) Seconds(from, to string) string {
	return "extract(epoch FROM " + to + " - " + from + ")::float8"
}

// InsertRows copies the rows in (COPY FROM STDIN): one round trip.
func (d *dialect) InsertRows(ctx context.Context, tx sqlstore.Querier, table string, cols []string, rows [][]any) error {
	w, ok := tx.(*writeTx)
	if !ok {
		return fmt.Errorf("postgres: insert into %s outside a write", table)
	}
	// The COPY runs on the transaction's connection, so within it.
	return w.conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}

// LockQueue takes the transaction-scoped advisory lock of the queue:
// claims alone, enqueues shared.
func (d *dialect) LockQueue(ctx context.Context, tx sqlstore.Querier, claim bool) error {
	query := `SELECT pg_advisory_xact_lock_shared($1)`
	if claim {
		query = `SELECT pg_advisory_xact_lock($1)`
	}
	_, err := tx.ExecContext(ctx, query, queueLock)
	return err
}

var _ sqlstore.Dialect = (*dialect)(nil)
