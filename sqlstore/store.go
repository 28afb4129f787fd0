package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Store is aegir.Store on a database that d speaks.
type Store struct {
	d Dialect
	// claimQuery picks the oldest runnable task; it takes the dialect's
	// literals, so it is made once.
	claimQuery string
}

// New returns the store on d's database, whose schema is up to date.
func New(d Dialect) *Store {
	return &Store{d: d, claimQuery: claimQuery(d)}
}

// Close ends the listeners and closes the database.
func (s *Store) Close() error { return s.d.Close() }

// Notify wakes every listener: in this process, and on PostgreSQL in every
// process sharing the database.
func (s *Store) Notify(ctx context.Context) error { return s.d.Notify(ctx) }

// Listen returns a channel that receives a value after notifications,
// closed when ctx ends or the store closes.
func (s *Store) Listen(ctx context.Context) (<-chan struct{}, error) { return s.d.Listen(ctx) }

// conn runs the store's queries on a transaction or on the reader,
// through the dialect's Bind.
type conn struct {
	q Querier
	d Dialect
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query, args = c.d.Bind(query, args)
	return c.q.ExecContext(ctx, query, args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query, args = c.d.Bind(query, args)
	return c.q.QueryContext(ctx, query, args...)
}

func (c conn) row(ctx context.Context, query string, args ...any) *sql.Row {
	query, args = c.d.Bind(query, args)
	return c.q.QueryRowContext(ctx, query, args...)
}

// write runs fn as one write transaction.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx conn) error) error {
	return s.d.Write(ctx, func(ctx context.Context, tx Querier) error { return fn(ctx, conn{tx, s.d}) })
}

// read runs fn in one read transaction, so that the queries it makes see
// one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx conn) error) error {
	return s.d.Read(ctx, func(tx Querier) error { return fn(conn{tx, s.d}) })
}

// reader runs reads of one statement.
func (s *Store) reader() conn { return conn{s.d.Reader(), s.d} }

// exists reports whether query (SELECT 1 ...) returns a row.
func exists(ctx context.Context, c conn, query string, args ...any) (bool, error) {
	var one int
	err := c.row(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// insertRows inserts rows, values for cols, into table.
func (s *Store) insertRows(ctx context.Context, tx conn, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	return s.d.InsertRows(ctx, tx.q, table, cols, rows)
}

// get reads the row of query, which takes key, with scan, or returns
// ENOTFOUND (notFound formats key).
func get[T any](ctx context.Context, c conn, scan func(scanner) (T, error), query string, key any, notFound string) (T, error) {
	v, err := scan(c.row(ctx, query, key))
	if errors.Is(err, sql.ErrNoRows) {
		return v, aegir.Errorf(aegir.ENOTFOUND, notFound, key)
	}
	return v, err
}

// execOne runs a statement, which takes key, that changes the row key
// names, or returns ENOTFOUND (notFound formats key).
func execOne(ctx context.Context, tx conn, query string, key any, notFound string) error {
	res, err := tx.exec(ctx, query, key)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return aegir.Errorf(aegir.ENOTFOUND, notFound, key)
	}
	return nil
}

// collect reads the rows of query, one value of T each, made by scan.
func collect[T any](ctx context.Context, c conn, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// --- where clauses ---

// conds collects the conditions of a WHERE clause and their arguments.
type conds struct {
	d    Dialect
	list []string
	args []any
}

// add appends a condition whose "?" is the next argument's placeholder.
func (c *conds) add(cond string, arg any) {
	c.args = append(c.args, arg)
	c.list = append(c.list, strings.Replace(cond, "?", fmt.Sprintf("$%d", len(c.args)), 1))
}

// equal appends col = v unless v is empty.
func (c *conds) equal(col, v string) *conds {
	if v != "" {
		c.add(col+" = ?", v)
	}
	return c
}

// anyOf appends the condition format, whose %s becomes "expr is one of
// values".
func (c *conds) anyOf(format, expr string, values []string) {
	cond, args := c.d.AnyOf(expr, len(c.args)+1, values)
	c.list = append(c.list, fmt.Sprintf(format, cond))
	c.args = append(c.args, args...)
}

// scope appends the condition of a limited scope: format's %s becomes
// "expr is one of the scope's clients".
func (c *conds) scope(format, expr string, sc aegir.Scope) *conds {
	if sc.Limited {
		c.anyOf(format, expr, sc.Clients)
	}
	return c
}

func (c *conds) where() string {
	if len(c.list) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.list, " AND ")
}

// filter starts the conditions of a list.
func (s *Store) filter() *conds { return &conds{d: s.d} }

// nameFilter starts the conditions of a list filtered by a substring of
// the name.
func (s *Store) nameFilter(q string) *conds {
	c := s.filter()
	if q != "" {
		c.add(`name LIKE ? ESCAPE '\'`, likeContains(q))
	}
	return c
}

// likeContains is a LIKE pattern (with ESCAPE '\') matching q anywhere.
func likeContains(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// likePrefix is a LIKE pattern (with ESCAPE '\') matching what starts with p.
func likePrefix(p string) string {
	return likeContains(p)[1:]
}

// page counts the rows of from matching c and reads one page of them, both
// on one snapshot.
func (s *Store) page(ctx context.Context, from string, c *conds, cols, order string, limit, offset int, scan func(*sql.Rows) error) (int, error) {
	var total int
	err := s.read(ctx, func(tx conn) error {
		w := c.where()
		if err := tx.row(ctx, "SELECT count(*) FROM "+from+w, c.args...).Scan(&total); err != nil {
			return err
		}
		n := len(c.args)
		rows, err := tx.query(ctx, fmt.Sprintf("SELECT %s FROM %s%s ORDER BY %s LIMIT $%d OFFSET $%d", cols, from, w, order, n+1, n+2),
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

// listPage reads one page of a list for page: its rows scanned by scan.
func listPage[T any](ctx context.Context, s *Store, from string, c *conds, cols, order string, page, perPage int, scan func(scanner) (T, error)) ([]T, int, error) {
	limit, offset := aegir.Paginate(page, perPage)
	var list []T
	total, err := s.page(ctx, from, c, cols, order, limit, offset, func(rows *sql.Rows) error {
		v, err := scan(rows)
		list = append(list, v)
		return err
	})
	return list, total, err
}

// --- values ---

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// timeArg is the argument of a nullable time column.
func timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

// normalTime is a time as the store keeps it: UTC, to the microsecond.
func normalTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// timeFormat is how SQLite keeps times: as text that sorts as it compares.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// FormatTime is t as a SQLite time column holds it.
func FormatTime(t time.Time) string { return normalTime(t).Format(timeFormat) }

// timeCol scans a time column: a time (PostgreSQL) or its text (SQLite).
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	var err error
	switch v := v.(type) {
	case time.Time:
		*c.t = v.UTC()
	case string:
		*c.t, err = time.Parse(timeFormat, v)
	case []byte:
		*c.t, err = time.Parse(timeFormat, string(v))
	default:
		return fmt.Errorf("time column holds %T", v)
	}
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

// hourCol scans the value of Dialect.Hour: a time without a zone that
// holds UTC (PostgreSQL), or 2006-01-02T15 (SQLite).
type hourCol struct{ t *time.Time }

func (c hourCol) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*c.t = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), 0, 0, 0, time.UTC)
		return nil
	case string:
		t, err := time.Parse("2006-01-02T15", v)
		*c.t = t
		return err
	}
	return fmt.Errorf("hour column holds %T", v)
}

// jsonCol scans a JSON column into v; NULL leaves v alone.
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

// jsonArg encodes a map for a JSON column: NULL when empty.
func jsonArg[M ~map[K]V, K comparable, V any](m M) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "task data: %v", err)
	}
	return string(b), nil
}

// clientsCol scans the clients of a platform or user, listed by
// string_agg(client, ',' ORDER BY client): client names have no comma.
type clientsCol struct{ list *[]string }

func (c clientsCol) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	*c.list = nil
	if s.Valid && s.String != "" {
		*c.list = strings.Split(s.String, ",")
	}
	return nil
}

// normalClients returns the sorted, unique client list, nil when empty.
func normalClients(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

var _ aegir.Store = (*Store)(nil)
