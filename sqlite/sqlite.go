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
	return &Store{writer: writer, reader: reader, listeners: map[chan struct{}]struct{}{}, done: make(chan struct{})}, nil
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
		err = errors.Join(s.reader.Close(), s.writer.Close())
	})
	return err
}

// write runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits it when fn succeeds.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return mapError(err)
	}
	if err := tx.Commit(); err != nil {
		return mapError(fmt.Errorf("sqlite: commit: %w", err))
	}
	return nil
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
func exists(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
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
