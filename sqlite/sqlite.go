package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is aegir.Store on a SQLite file.
type Store struct {
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

func init() {
	aegir.RegisterStore("sqlite", func(ctx context.Context, url string) (aegir.Store, error) {
		s, err := Open(ctx, strings.TrimPrefix(url, "sqlite://"))
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

// pragmas every connection gets. A 10 s busy timeout covers another
// process (the CLI) holding the write lock for a moment.
const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

// Open opens (creating it, mode 0600, when missing) the database at path
// and brings its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, aegir.Errorf(aegir.EINVALID, "sqlite: database path %q must be a plain file name", path)
	}
	// The database holds password hashes and site database passwords:
	// create it private before SQLite does (its -wal and -shm files take
	// the database file's mode).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	f.Close()

	writer, err := sql.Open("sqlite", path+"?"+pragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	reader.SetMaxIdleConns(4)
	if err := reader.PingContext(ctx); err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &Store{writer: writer, reader: reader, wstmts: newStmtCache(), rstmts: newStmtCache(), listeners: map[chan struct{}]struct{}{}, done: make(chan struct{})}, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close ends the listeners and closes the database.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.wstmts.close()
		s.rstmts.close()
		err = errors.Join(s.reader.Close(), s.writer.Close())
	})
	return err
}

// writeReq is one caller's write, waiting for the group it goes in.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx querier) error
	err  error
	wake chan bool // true: lead the next group; false: done, err is set
	// finished is set once err is; read by the leader only.
	finished bool
}

// maxGroup bounds the writes committed together, so that one caller does
// not lead for long.
const maxGroup = 256

// write runs fn as one write of its own: it commits when fn succeeds and
// leaves nothing when fn fails. Writes are committed in groups (a group
// commit): the caller that finds no group under way leads one, which
// takes every write waiting, runs each in a savepoint of one transaction
// on the single writer connection, commits once, hands the lead to a
// caller that arrived meanwhile, and returns. Each caller gets its own
// error; a commit that fails fails every write of its group. fn runs with
// a context that is not cancelled: a statement interrupted inside a
// transaction would roll back the whole group. A caller whose ctx has
// ended before its write starts gets ctx's error.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx querier) error) error {
	r := &writeReq{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	s.wmu.Lock()
	s.queue = append(s.queue, r)
	lead := !s.leading
	s.leading = true
	s.wmu.Unlock()
	if !lead {
		lead = <-r.wake
	}
	if !lead {
		return r.err
	}
	for {
		s.wmu.Lock()
		n := min(len(s.queue), maxGroup)
		group := s.queue[:n:n]
		s.queue = s.queue[n:]
		s.wmu.Unlock()
		s.commitGroup(group)
		s.wmu.Lock()
		if len(s.queue) == 0 {
			s.leading = false
			s.wmu.Unlock()
			return r.err
		}
		if !r.finished {
			// More than maxGroup writes were waiting before r's.
			s.wmu.Unlock()
			continue
		}
		next := s.queue[0]
		s.wmu.Unlock()
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
func (s *Store) commitGroup(group []*writeReq) {
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
	tx, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range run {
			done(r, fmt.Errorf("sqlite: begin: %w", err))
		}
		return
	}
	stx := &stmtTx{Tx: tx, stmts: s.wstmts}
	ctx := context.Background()
	single := len(run) == 1
	var ok []*writeReq
	for i, r := range run {
		if !single {
			if _, err := stx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				s.abort(tx, ok, run[i:], err)
				return
			}
		}
		ferr := r.fn(context.WithoutCancel(r.ctx), stx)
		if ferr == nil && !single {
			if _, err := stx.ExecContext(ctx, "RELEASE w"); err != nil {
				s.abort(tx, ok, run[i:], err)
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
			s.abort(tx, ok, run[i+1:], err)
			return
		}
		if _, err := stx.ExecContext(ctx, "RELEASE w"); err != nil {
			done(r, mapError(ferr))
			s.abort(tx, ok, run[i+1:], err)
			return
		}
		done(r, mapError(ferr))
	}
	err = tx.Commit()
	if err != nil {
		err = mapError(fmt.Errorf("sqlite: commit: %w", err))
	}
	for _, r := range ok {
		done(r, err)
	}
	s.wstmts.prepareMissed(s.writer)
}

// abort rolls a group's transaction back after an error of the
// transaction itself: the writes that ran (ok) get the error, and those
// that did not (rest) run in a new group.
func (s *Store) abort(tx *sql.Tx, ok, rest []*writeReq, err error) {
	tx.Rollback()
	for _, r := range ok {
		r.finish(fmt.Errorf("sqlite: transaction rolled back: %w", err))
	}
	if len(rest) > 0 {
		s.commitGroup(rest)
	}
}

// querier is what the queries of a write or a read run on.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
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

// queryRow runs a query of one row on the reader, through a statement
// prepared once.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.rstmts.prepared(ctx, s.reader, query)
	if err != nil {
		return s.reader.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// read runs fn in one read transaction, so that the queries it makes see
// one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	return mapError(fn(tx))
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

// now is the store's clock: UTC, to the microsecond as PostgreSQL keeps it.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

const timeFormat = "2006-01-02T15:04:05.000000Z"

func fmtTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(timeFormat) }

func fmtTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

// timeCol scans a time column.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("time column holds %T", v)
	}
	t, err := time.Parse(timeFormat, s)
	*c.t = t
	return err
}

// nullTimeCol scans a nullable time column.
type nullTimeCol struct{ t **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// jsonCol scans a JSON text column into v; NULL leaves v alone.
type jsonCol struct{ v any }

func (c jsonCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return json.Unmarshal([]byte(v), c.v)
	case []byte:
		return json.Unmarshal(v, c.v)
	}
	return fmt.Errorf("json column holds %T", v)
}

// likeContains is a LIKE pattern (with ESCAPE '\') matching q anywhere.
func likeContains(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// where joins conditions with AND.
func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// page counts the rows of from matching conds and reads one page of them,
// both in one read transaction.
func (s *Store) page(ctx context.Context, from string, conds []string, args []any, cols, order string, limit, offset int, scan func(*sql.Rows) error) (int, error) {
	var total int
	err := s.read(ctx, func(tx *sql.Tx) error {
		w := where(conds)
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+from+w, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+cols+" FROM "+from+w+" ORDER BY "+order+" LIMIT ? OFFSET ?", append(args, limit, offset)...)
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
func exists(ctx context.Context, tx querier, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// notify wakes every in-process listener.
func (s *Store) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.listeners {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Notify wakes every listener of this Store. SQLite has no cross-process
// signal: a dispatcher shares its queue only with its own process.
func (s *Store) Notify(context.Context) error {
	s.notify()
	return nil
}

// Listen returns a channel that receives a value after notifications,
// closed when ctx ends or the store closes.
func (s *Store) Listen(ctx context.Context) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.listeners[ch] = struct{}{}
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		s.mu.Lock()
		delete(s.listeners, ch)
		close(ch)
		s.mu.Unlock()
	}()
	return ch, nil
}

var _ aegir.Store = (*Store)(nil)
