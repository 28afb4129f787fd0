package sqlstore

import (
	"context"
	"database/sql"
)

// Querier runs statements: a transaction, or a database outside one.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Dialect is what one database does differently from the other; the rest
// is written once, in this package.
//
// The store's queries number their placeholders $1, $2, ... (which
// modernc.org/sqlite binds by position, as PostgreSQL does), and name the
// current time $now (the transaction's time, as records take it) or $clock
// (the statement's time, as the task queue takes it). Bind turns them into
// what the database takes.
type Dialect interface {
	// Write runs fn as one write transaction: committed when fn returns
	// nil, rolled back otherwise. A constraint violation comes back as an
	// ECONFLICT.
	Write(ctx context.Context, fn func(ctx context.Context, tx Querier) error) error
	// Read runs fn in one read-only transaction on one snapshot.
	Read(ctx context.Context, fn func(tx Querier) error) error
	// Reader runs a read of one statement outside a transaction.
	Reader() Querier

	// Bind returns the query and arguments the database takes for a
	// query of this package: it gives $now and $clock their value, and
	// time.Time arguments the form of the database's time columns.
	Bind(query string, args []any) (string, []any)
	// ForUpdate returns the clause that ends a SELECT of a write to lock
	// the rows it reads until the transaction ends, followed by opts ("OF t
	// SKIP LOCKED"); it is empty where one writer serialises every write.
	ForUpdate(opts string) string
	// True is the literal a boolean column is compared with, so that the
	// partial index on it (tasks_exclusive) serves the query.
	True() string
	// AnyOf returns the condition that expr is one of values, its
	// placeholders numbered from $n, and the arguments it takes.
	AnyOf(expr string, n int, values []string) (string, []any)
	// Hour is the SQL of time column col truncated to the hour: a time
	// without a zone that holds UTC, or the text 2006-01-02T15.
	Hour(col string) string
	// Seconds is the SQL of the seconds from time from to time to, to the
	// microsecond.
	Seconds(from, to string) string
	// InsertRows inserts rows (one at least), values for cols, into table
	// in the write transaction tx, in as few round trips as the database
	// allows.
	InsertRows(ctx context.Context, tx Querier, table string, cols []string, rows [][]any) error

	// LockQueue orders the task queue's changes in tx among every process
	// that shares the database: a claim (claim true) waits for every other
	// claim and enqueue in flight, so that it sees all the tasks created
	// before it.
	LockQueue(ctx context.Context, tx Querier, claim bool) error
	// NotifyTx wakes every listener once the write transaction tx commits.
	NotifyTx(ctx context.Context, tx Querier) error
	// Notify and Listen are those of aegir.TaskQueue.
	Notify(ctx context.Context) error
	Listen(ctx context.Context) (<-chan struct{}, error)

	// Close ends the listeners and closes the database.
	Close() error
}
