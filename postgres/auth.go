package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/jackc/pgx/v5"
)

// --- scopes ---

// Conditions that keep what a scope allows; "?" is its clients, a text
// array (empty for a limited scope without clients, which keeps nothing).
const (
	siteScope     = "client = ANY(?)"
	platformScope = `(NOT EXISTS (SELECT 1 FROM platform_clients pc WHERE pc.platform = platforms.name)
		OR EXISTS (SELECT 1 FROM platform_clients pc WHERE pc.platform = platforms.name AND pc.client = ANY(?)))`
	clientScope = "name = ANY(?)"
	userScope   = "id IN (SELECT user_id FROM user_clients WHERE client = ANY(?))"
	taskScope   = "object_type = 'site' AND object IN (SELECT name FROM sites WHERE client = ANY(?))"
)

// scope adds the condition cond of a limited scope, and returns c.
func (c *conds) scope(cond string, sc aegir.Scope) *conds {
	if sc.Limited {
		c.add(cond, append([]string{}, sc.Clients...))
	}
	return c
}

// taskFilter adds the conditions of a task filter beyond status, object
// and type.
func (c *conds) taskFilter(f aegir.TaskFilter) *conds {
	if len(f.ObjectTypes) > 0 {
		types := make([]string, len(f.ObjectTypes))
		for i, t := range f.ObjectTypes {
			types[i] = string(t)
		}
		c.add("object_type = ANY(?)", types)
	}
	return c.scope(taskScope, f.Scope)
}

// --- sessions and login links ---

// FindSession returns the data of a live session.
func (s *Store) FindSession(ctx context.Context, hash string) ([]byte, bool, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM sessions WHERE hash = $1 AND expiry > now()`, hash).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// CommitSession adds or replaces a session.
func (s *Store) CommitSession(ctx context.Context, hash string, data []byte, expiry time.Time) error {
	if hash == "" || len(hash) > 128 {
		return aegir.FieldErrorf("hash", "must be 1 to 128 characters")
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (hash, data, expiry) VALUES ($1, $2, $3)
			ON CONFLICT (hash) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, hash, data, expiry.UTC())
		return err
	})
}

// DeleteSession removes a session.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
		return err
	})
}

// PruneSessions deletes expired sessions and login links.
func (s *Store) PruneSessions(ctx context.Context, at time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{`DELETE FROM sessions WHERE expiry <= $1`, `DELETE FROM login_links WHERE expires_at <= $1`} {
			tag, err := tx.Exec(ctx, q, at.UTC())
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	return n, err
}

// CreateLoginLink adds a one-time login link.
func (s *Store) CreateLoginLink(ctx context.Context, l *aegir.LoginLink) error {
	if err := l.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = $1`, l.UserID); err != nil {
			return err
		} else if !ok {
			return aegir.FieldErrorf("user_id", "user %d does not exist", l.UserID)
		}
		if ok, err := exists(ctx, tx, `SELECT 1 FROM login_links WHERE hash = $1`, l.Hash); err != nil {
			return err
		} else if ok {
			return aegir.Errorf(aegir.ECONFLICT, "a login link with that hash already exists")
		}
		return tx.QueryRow(ctx, `INSERT INTO login_links (hash, user_id, created_at, expires_at) VALUES ($1, $2, now(), $3)
			RETURNING created_at, expires_at`, l.Hash, l.UserID, l.ExpiresAt.UTC()).Scan(&l.CreatedAt, &l.ExpiresAt)
	})
}

// UseLoginLink consumes a live login link.
func (s *Store) UseLoginLink(ctx context.Context, hash string, at time.Time) (*aegir.LoginLink, error) {
	var l aegir.LoginLink
	err := s.write(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM login_links WHERE hash = $1 RETURNING hash, user_id, created_at, expires_at`, hash).
			Scan(&l.Hash, &l.UserID, &l.CreatedAt, &l.ExpiresAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "no such login link")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !l.ExpiresAt.After(at) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "the login link expired")
	}
	return &l, nil
}

// --- audit ---

const auditCols = "id, time, actor, action, object, detail, address"

// AddAudit records an audit entry.
func (s *Store) AddAudit(ctx context.Context, e *aegir.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	var at any
	if !e.Time.IsZero() {
		at = e.Time.UTC().Truncate(time.Microsecond)
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO audit (time, actor, action, object, detail, address)
			VALUES (coalesce($1, now()), $2, $3, $4, $5, $6) RETURNING id, time`,
			at, e.Actor, e.Action, e.Object, e.Detail, e.Address).Scan(&e.ID, &e.Time)
	})
}

// ListAudit returns one page of the audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, f aegir.AuditFilter) ([]*aegir.AuditEntry, int, error) {
	c := &conds{}
	for _, f := range []struct{ col, v string }{{"actor", f.Actor}, {"object", f.Object}} {
		if f.v != "" {
			c.add(f.col+" = ?", f.v)
		}
	}
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.AuditEntry
	total, err := s.page(ctx, "audit", c, auditCols, "id DESC", limit, offset, func(rows pgx.Rows) error {
		var e aegir.AuditEntry
		err := rows.Scan(&e.ID, &e.Time, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Address)
		list = append(list, &e)
		return err
	})
	return list, total, err
}

// --- statistics ---

// DiskUsage sums the disk use of sites per server.
func (s *Store) DiskUsage(ctx context.Context, sc aegir.Scope) ([]aegir.DiskUsage, error) {
	cond, args := "", []any{}
	if sc.Limited {
		cond, args = " AND s.client = ANY($1)", []any{append([]string{}, sc.Clients...)}
	}
	query := `SELECT server, sum(files)::bigint, sum(db)::bigint, count(DISTINCT site) FROM (
		SELECT p.web_server AS server, s.disk_files AS files, 0::bigint AS db, s.name AS site
			FROM sites s JOIN platforms p ON p.name = s.platform
			WHERE s.status <> 'deleted' AND p.web_server IS NOT NULL` + cond + `
		UNION ALL
		SELECT s.db_server, 0, s.disk_db, s.name FROM sites s
			WHERE s.status <> 'deleted' AND s.db_server IS NOT NULL` + cond + `
	) u GROUP BY server ORDER BY server`
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []aegir.DiskUsage
	for rows.Next() {
		var d aegir.DiskUsage
		if err := rows.Scan(&d.Server, &d.Files, &d.DB, &d.Sites); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TaskHistory sums up finished tasks per hour.
func (s *Store) TaskHistory(ctx context.Context, since time.Time, f aegir.TaskFilter) ([]aegir.TaskHour, error) {
	c := &conds{}
	c.add("finished_at >= ?", since.UTC().Truncate(time.Hour))
	c.list = append(c.list, "status IN ('success', 'warning', 'failed')")
	c.taskFilter(f)
	query := `SELECT date_trunc('hour', finished_at AT TIME ZONE 'UTC') AS hour, count(*),
		count(*) FILTER (WHERE status = 'failed'),
		coalesce(avg(extract(epoch FROM finished_at - started_at)), 0)::float8,
		coalesce(max(extract(epoch FROM finished_at - started_at)), 0)::float8
		FROM tasks` + c.where() + ` GROUP BY 1 ORDER BY 1`
	rows, err := s.pool.Query(ctx, query, c.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []aegir.TaskHour
	for rows.Next() {
		var h aegir.TaskHour
		var hour time.Time
		if err := rows.Scan(&hour, &h.Finished, &h.Failed, &h.AvgSeconds, &h.MaxSeconds); err != nil {
			return nil, err
		}
		// A timestamp without time zone that holds UTC.
		h.Hour = time.Date(hour.Year(), hour.Month(), hour.Day(), hour.Hour(), 0, 0, 0, time.UTC)
		out = append(out, h)
	}
	return out, rows.Err()
}
