package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir/sqlstore"
)

// dialect is sqlstore.Dialect on a SQLite file: one writer connection that
// commits writes in groups, a pool of readers, statements prepared once,
// times kept as text, and wake-ups within this process.
type dialect struct {
	writer *sql.DB // one connection: writes never wait on SQLITE_BUSY in-process
	reader *sql.DB

	// The group commit of write: the writes waiting, and whether a
	// caller leads a group.
	wmu     sync.Mutex
	queue   []*writeReq
	leading bool
	// Statements prepared once, on the writer and on the reader.
	wstmts, rstmts *stmtCache

	mu        sync.Mutex
	listeners map[chan struct{}]struct{}
	done      chan struct{} // closed by Close, ends the listeners
	closeOnce sync.Once
}

func newDialect(writer, reader *sql.DB) *dialect {
	return &dialect{writer: writer, reader: reader, wstmts: newStmtCache(), rstmts: newStmtCache(),
		listeners: map[chan struct{}]struct{}{}, done: make(chan struct{})}
}

// Close ends the listeners and closes the database.
func (d *dialect) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.done)
		d.wstmts.close()
		d.rstmts.close()
		err = errors.Join(d.reader.Close(), d.writer.Close())
	})
	return err
}

// Read runs fn in one read transaction, so that the queries it makes see
// one snapshot.
func (d *dialect) Read(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	tx, err := d.reader.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	return mapError(fn(tx))
}

// Reader returns the readers, whose queries of one row run through
// statements prepared once.
func (d *dialect) Reader() sqlstore.Querier { return reader{d.reader, d.rstmts} }

// reader runs queries on the readers.
type reader struct {
	*sql.DB
	stmts *stmtCache
}

func (r reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := r.stmts.prepared(ctx, r.DB, query)
	if err != nil {
		return r.DB.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Bind gives $now and $clock the time of this process (SQLite has no
// clock to the microsecond), as named arguments, and makes times the text
// the time columns hold. The query stays as it is, so its prepared
// statement serves every call.
func (d *dialect) Bind(query string, args []any) (string, []any) {
	now, clock := strings.Contains(query, "$now"), strings.Contains(query, "$clock")
	hasTime := false
	for _, a := range args {
		if _, ok := a.(time.Time); ok {
			hasTime = true
			break
		}
	}
	if !now && !clock && !hasTime {
		return query, args
	}
	out := make([]any, len(args), len(args)+2)
	for i, a := range args {
		if t, ok := a.(time.Time); ok {
			a = sqlstore.FormatTime(t)
		}
		out[i] = a
	}
	t := sqlstore.FormatTime(time.Now())
	if now {
		out = append(out, sql.Named("now", t))
	}
	if clock {
		out = append(out, sql.Named("clock", t))
	}
	return query, out
}

// ForUpdate is empty: the one writer connection runs one write at a time.
func (d *dialect) ForUpdate(string) string { return "" }

// True is 1: booleans are integers, and tasks_exclusive is WHERE exclusive = 1.
func (d *dialect) True() string { return "1" }

// AnyOf lists values as placeholders, expr IN ($n, ...), which SQLite
// looks up in an index value by value; an empty list matches nothing.
func (d *dialect) AnyOf(expr string, n int, values []string) (string, []any) {
	ph := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		ph[i], args[i] = fmt.Sprintf("$%d", n+i), v
	}
	return expr + " IN (" + strings.Join(ph, ", ") + ")", args
}

// Hour is the hour's prefix of the time's text, 2006-01-02T15.
func (d *dialect) Hour(col string) string { return "substr(" + col + ", 1, 13)" }

// Seconds counts whole seconds with unixepoch and the microseconds of the
// text apart (julianday counts whole milliseconds, and a task may take
// less).
func (d *dialect) Seconds(from, to string) string {
	return fmt.Sprintf(`(unixepoch(substr(%[2]s, 1, 19)) - unixepoch(substr(%[1]s, 1, 19)) +
	(CAST(substr(%[2]s, 21, 6) AS INTEGER) - CAST(substr(%[1]s, 21, 6) AS INTEGER)) / 1e6)`, from, to)
}

// InsertRows runs one prepared INSERT a row: SQLite runs in this process,
// so a statement costs no round trip.
func (d *dialect) InsertRows(ctx context.Context, tx sqlstore.Querier, table string, cols []string, rows [][]any) error {
	w, ok := tx.(*writeTx)
	if !ok {
		return fmt.Errorf("sqlite: insert into %s outside a write", table)
	}
	ph := make([]string, len(cols))
	for i := range cols {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	stmt, err := w.PrepareContext(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(ph, ", ")+")")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, row := range rows {
		_, args := d.Bind("", row)
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// LockQueue does nothing: the one writer connection runs one claim or
// enqueue at a time, and other processes wait for its write lock.
func (d *dialect) LockQueue(context.Context, sqlstore.Querier, bool) error { return nil }

// NotifyTx marks the write, whose group wakes the listeners once it
// commits.
func (d *dialect) NotifyTx(_ context.Context, tx sqlstore.Querier) error {
	if w, ok := tx.(*writeTx); ok {
		w.req.notify = true
		return nil
	}
	d.notify()
	return nil
}

// notify wakes every in-process listener.
func (d *dialect) notify() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for ch := range d.listeners {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Notify wakes every listener of this Store. SQLite has no cross-process
// signal: a dispatcher shares its queue only with its own process.
func (d *dialect) Notify(context.Context) error {
	d.notify()
	return nil
}

// Listen returns a channel that receives a value after notifications,
// closed when ctx ends or the store closes.
func (d *dialect) Listen(ctx context.Context) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	d.mu.Lock()
	d.listeners[ch] = struct{}{}
	d.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-d.done:
		}
		d.mu.Lock()
		delete(d.listeners, ch)
		close(ch)
		d.mu.Unlock()
	}()
	return ch, nil
}

var _ sqlstore.Dialect = (*dialect)(nil)
