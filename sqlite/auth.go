package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// --- scopes ---

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// scopeCond returns the condition that keeps what sc allows: format holds
// one %s, replaced by the placeholders of the scope's clients (SQLite
// takes an empty IN list, which matches nothing). It returns no condition
// for an unlimited scope.
func scopeCond(format string, sc aegir.Scope) (string, []any) {
	if !sc.Limited {
		return "", nil
	}
	args := make([]any, len(sc.Clients))
	for i, c := range sc.Clients {
		args[i] = c
	}
	return strings.Replace(format, "%s", placeholders(len(args)), 1), args
}

// addScope appends the scope's condition to conds.
func addScope(conds []string, args []any, format string, sc aegir.Scope) ([]string, []any) {
	cond, a := scopeCond(format, sc)
	if cond == "" {
		return conds, args
	}
	return append(conds, cond), append(args, a...)
}

const (
	siteScope     = "client IN (%s)"
	platformScope = `(NOT EXISTS (SELECT 1 FROM platform_clients pc WHERE pc.platform = platforms.name)
		OR EXISTS (SELECT 1 FROM platform_clients pc WHERE pc.platform = platforms.name AND pc.client IN (%s)))`
	clientScope = "name IN (%s)"
	userScope   = "id IN (SELECT user_id FROM user_clients WHERE client IN (%s))"
	taskScope   = "object_type = 'site' AND object IN (SELECT name FROM sites WHERE client IN (%s))"
)

// taskConds are the conditions of a task filter beyond status, object
// and type.
func taskConds(conds []string, args []any, f aegir.TaskFilter) ([]string, []any) {
	if len(f.ObjectTypes) > 0 {
		conds = append(conds, "object_type IN ("+placeholders(len(f.ObjectTypes))+")")
		for _, t := range f.ObjectTypes {
			args = append(args, string(t))
		}
	}
	return addScope(conds, args, taskScope, f.Scope)
}

// --- sessions and login links ---

// FindSession returns the data of a live session.
func (s *Store) FindSession(ctx context.Context, hash string) ([]byte, bool, error) {
	var data []byte
	err := s.queryRow(ctx, `SELECT data FROM sessions WHERE hash = ? AND expiry > ?`, hash, fmtTime(now())).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
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
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, data, expiry) VALUES (?, ?, ?)
			ON CONFLICT (hash) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, hash, data, fmtTime(expiry))
		return err
	})
}

// DeleteSession removes a session.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
}

// PruneSessions deletes expired sessions and login links.
func (s *Store) PruneSessions(ctx context.Context, at time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx querier) error {
		for _, q := range []string{`DELETE FROM sessions WHERE expiry <= ?`, `DELETE FROM login_links WHERE expires_at <= ?`} {
			res, err := tx.ExecContext(ctx, q, fmtTime(at))
			if err != nil {
				return err
			}
			m, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += m
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
	created := now()
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = ?`, l.UserID); err != nil {
			return err
		} else if !ok {
			return aegir.FieldErrorf("user_id", "user %d does not exist", l.UserID)
		}
		if ok, err := exists(ctx, tx, `SELECT 1 FROM login_links WHERE hash = ?`, l.Hash); err != nil {
			return err
		} else if ok {
			return aegir.Errorf(aegir.ECONFLICT, "a login link with that hash already exists")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_links (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			l.Hash, l.UserID, fmtTime(created), fmtTime(l.ExpiresAt)); err != nil {
			return err
		}
		l.CreatedAt, l.ExpiresAt = created, l.ExpiresAt.UTC().Truncate(time.Microsecond)
		return nil
	})
}

// UseLoginLink consumes a live login link.
func (s *Store) UseLoginLink(ctx context.Context, hash string, at time.Time) (*aegir.LoginLink, error) {
	var l aegir.LoginLink
	err := s.write(ctx, func(ctx context.Context, tx querier) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM login_links WHERE hash = ? RETURNING hash, user_id, created_at, expires_at`, hash).
			Scan(&l.Hash, &l.UserID, timeCol{&l.CreatedAt}, timeCol{&l.ExpiresAt})
		if errors.Is(err, sql.ErrNoRows) {
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
	at := e.Time.UTC().Truncate(time.Microsecond)
	if e.Time.IsZero() {
		at = now()
	}
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO audit (time, actor, action, object, detail, address) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			fmtTime(at), e.Actor, e.Action, e.Object, e.Detail, e.Address).Scan(&e.ID); err != nil {
			return err
		}
		e.Time = at
		return nil
	})
}

// ListAudit returns one page of the audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, f aegir.AuditFilter) ([]*aegir.AuditEntry, int, error) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, v string }{{"actor", f.Actor}, {"object", f.Object}} {
		if c.v != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.v)
		}
	}
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.AuditEntry
	total, err := s.page(ctx, "audit", conds, args, auditCols, "id DESC", limit, offset, func(rows *sql.Rows) error {
		var e aegir.AuditEntry
		err := rows.Scan(&e.ID, timeCol{&e.Time}, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Address)
		list = append(list, &e)
		return err
	})
	return list, total, err
}

// --- statistics ---

// DiskUsage sums the disk use of sites per server.
func (s *Store) DiskUsage(ctx context.Context, sc aegir.Scope) ([]aegir.DiskUsage, error) {
	cond, args := scopeCond("s."+siteScope, sc)
	if cond != "" {
		cond = " AND " + cond
	}
	query := `SELECT server, sum(files), sum(db), count(DISTINCT site) FROM (
		SELECT p.web_server AS server, s.disk_files AS files, 0 AS db, s.name AS site
			FROM sites s JOIN platforms p ON p.name = s.platform
			WHERE s.status <> 'deleted' AND p.web_server IS NOT NULL` + cond + `
		UNION ALL
		SELECT s.db_server, 0, s.disk_db, s.name FROM sites s
			WHERE s.status <> 'deleted' AND s.db_server IS NOT NULL` + cond + `
	) GROUP BY server ORDER BY server`
	rows, err := s.reader.QueryContext(ctx, query, append(args, args...)...)
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

// durationSeconds is a task's duration in seconds, to the microsecond as
// the times are kept (julianday counts whole milliseconds, and a task may
// take less).
const durationSeconds = `(unixepoch(substr(finished_at, 1, 19)) - unixepoch(substr(started_at, 1, 19)) +
	(CAST(substr(finished_at, 21, 6) AS INTEGER) - CAST(substr(started_at, 21, 6) AS INTEGER)) / 1e6)`

// TaskHistory sums up finished tasks per hour.
func (s *Store) TaskHistory(ctx context.Context, since time.Time, f aegir.TaskFilter) ([]aegir.TaskHour, error) {
	since = since.UTC().Truncate(time.Hour)
	conds, args := taskConds([]string{"finished_at >= ?", "status IN ('success', 'warning', 'failed')"}, []any{fmtTime(since)}, f)
	query := `SELECT substr(finished_at, 1, 13), count(*), sum(status = 'failed'), coalesce(avg(dur), 0), coalesce(max(dur), 0) FROM (
		SELECT finished_at, status, ` + durationSeconds + ` AS dur FROM tasks` + where(conds) + `
	) GROUP BY 1 ORDER BY 1`
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []aegir.TaskHour
	for rows.Next() {
		var h aegir.TaskHour
		var hour string
		if err := rows.Scan(&hour, &h.Finished, &h.Failed, &h.AvgSeconds, &h.MaxSeconds); err != nil {
			return nil, err
		}
		if h.Hour, err = time.Parse("2006-01-02T15", hour); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
