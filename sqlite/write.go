package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// writeReq is one caller's write, waiting for the group it goes in.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx sqlstore.Querier) error
	err  error
	wake chan bool // true: lead the next group; false: done, err is set
	// finished is set once err is; read by the leader only.
	finished bool
	// notify is set by NotifyTx: the write wakes the listeners once it
	// commits.
	notify bool
}

// writeTx is what one write runs on: its group's transaction, and its
// request, for NotifyTx.
type writeTx struct {
	*stmtTx
	req *writeReq
}

// maxGroup bounds the writes committed together, so that one caller does
// not lead for long.
const maxGroup = 256

// Write runs fn as one write of its own: it commits when fn succeeds and
// leaves nothing when fn fails. Writes are committed in groups (a group
// commit): the caller that finds no group under way leads one, which
// takes every write waiting, runs each in a savepoint of one transaction
// on the single writer connection, commits once, hands the lead to a
// caller that arrived meanwhile, and returns. Each caller gets its own
// error; a commit that fails fails every write of its group. fn runs with
// a context that is not cancelled: a statement interrupted inside a
// transaction would roll back the whole group. A caller whose ctx has
// ended before its write starts gets ctx's error.
func (d *dialect) Write(ctx context.Context, fn func(ctx context.Context, tx sqlstore.Querier) error) error {
	r := &writeReq{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	d.wmu.Lock()
	d.queue = append(d.queue, r)
	lead := !d.leading
	d.leading = true
	d.wmu.Unlock()
	if !lead {
		lead = <-r.wake
	}
	if !lead {
		return r.err
	}
	for {
		d.wmu.Lock()
		n := min(len(d.queue), maxGroup)
		group := d.queue[:n:n]
		d.queue = d.queue[n:]
		d.wmu.Unlock()
		d.commitGroup(group)
		d.wmu.Lock()
		if len(d.queue) == 0 {
			d.leading = false
			d.wmu.Unlock()
			return r.err
		}
		if !r.finished {
			// More than maxGroup writes were waiting before r's.
			d.wmu.Unlock()
			continue
		}
		next := d.queue[0]
		d.wmu.Unlock()
		next.wake <- true
		return r.err
	}
}

// finish tells the caller of r its result.
func (r *writeReq) finish(err error) {
	r.err, r.finished = err, true
	r.wake <- false
}

// commitGroup runs the writes of group in one transaction and tells each
// caller its result.
func (d *dialect) commitGroup(group []*writeReq) {
	done := (*writeReq).finish
	var run []*writeReq
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			done(r, err)
			continue
		}
		run = append(run, r)
	}
	if len(run) == 0 {
		return
	}
	tx, err := d.writer.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range run {
			done(r, fmt.Errorf("sqlite: begin: %w", err))
		}
		return
	}
	stx := &stmtTx{Tx: tx, stmts: d.wstmts}
	ctx := context.Background()
	single := len(run) == 1
	var ok []*writeReq
	for i, r := range run {
		if !single {
			if _, err := stx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				d.abort(tx, ok, run[i:], err)
				return
			}
		}
		ferr := r.fn(context.WithoutCancel(r.ctx), &writeTx{stx, r})
		if ferr == nil && !single {
			if _, err := stx.ExecContext(ctx, "RELEASE w"); err != nil {
				d.abort(tx, ok, run[i:], err)
				return
			}
		}
		if ferr == nil {
			ok = append(ok, r)
			continue
		}
		if single {
			tx.Rollback()
			done(r, mapError(ferr))
			return
		}
		if _, err := stx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
			// SQLite rolled the whole transaction back (an I/O error, a
			// full disk): the writes before are lost too.
			done(r, mapError(ferr))
			d.abort(tx, ok, run[i+1:], err)
			return
		}
		if _, err := stx.ExecContext(ctx, "RELEASE w"); err != nil {
			done(r, mapError(ferr))
			d.abort(tx, ok, run[i+1:], err)
			return
		}
		done(r, mapError(ferr))
	}
	err = tx.Commit()
	if err != nil {
		err = mapError(fmt.Errorf("sqlite: commit: %w", err))
	} else if slices.ContainsFunc(ok, func(r *writeReq) bool { return r.notify }) {
		d.notify()
	}
	for _, r := range ok {
		done(r, err)
	}
	d.wstmts.prepareMissed(d.writer)
}

// abort rolls a group's transaction back after an error of the
// transaction itself: the writes that ran (ok) get the error, and those
// that did not (rest) run in a new group.
func (d *dialect) abort(tx *sql.Tx, ok, rest []*writeReq, err error) {
	tx.Rollback()
	for _, r := range ok {
		r.finish(fmt.Errorf("sqlite: transaction rolled back: %w", err))
	}
	if len(rest) > 0 {
		d.commitGroup(rest)
	}
}

// maxStmts bounds the statements kept prepared.
const maxStmts = 256

// stmtCache keeps statements prepared once on a database, by query:
// preparing a statement costs SQLite more than running a simple one.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	missed map[string]bool // queries run unprepared, to prepare later
}

func newStmtCache() *stmtCache {
	return &stmtCache{m: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

// get returns the prepared statement of query, or nil, noting the miss.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.m[query]
	if st == nil && len(c.m)+len(c.missed) < maxStmts {
		c.missed[query] = true
	}
	return st
}

// prepareMissed prepares the queries run unprepared. The writer prepares
// them between groups, when its one connection is free.
func (c *stmtCache) prepareMissed(db *sql.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.missed {
		delete(c.missed, q)
		if st, err := db.PrepareContext(context.Background(), q); err == nil {
			c.m[q] = st
		}
	}
}

// prepared returns the statement of query, preparing it on first use.
func (c *stmtCache) prepared(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st := c.m[query]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[query]; old != nil {
		st.Close()
		return old, nil
	}
	if len(c.m) < maxStmts {
		c.m[query] = st
	}
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// stmtTx is a write transaction that runs the queries prepared before
// through their statements.
type stmtTx struct {
	*sql.Tx
	stmts *stmtCache
}

func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmts.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmts.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmts.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t *stmtTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := t.stmts.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st), nil
	}
	return t.Tx.PrepareContext(ctx, query)
}

// mapError turns a constraint violation that the explicit checks did not
// catch into an ECONFLICT.
func mapError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return &aegir.Error{Code: aegir.ECONFLICT, Message: se.Error()}
	}
	return err
}
