package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/aegir-hosting/aegir"
)

// --- sessions and login links ---

// FindSession returns the data of a live session.
func (s *Store) FindSession(ctx context.Context, hash string) ([]byte, bool, error) {
	var data []byte
	err := s.reader().row(ctx, `SELECT data FROM sessions WHERE hash = $1 AND expiry > $now`, hash).Scan(&data)
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
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		_, err := tx.exec(ctx, `INSERT INTO sessions (hash, data, expiry) VALUES ($1, $2, $3)
			ON CONFLICT (hash) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, hash, data, expiry)
		return err
	})
}

// DeleteSession removes a session.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		_, err := tx.exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
		return err
	})
}

// PruneSessions deletes expired sessions and login links.
func (s *Store) PruneSessions(ctx context.Context, at time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx conn) error {
		for _, q := range []string{`DELETE FROM sessions WHERE expiry <= $1`, `DELETE FROM login_links WHERE expires_at <= $1`} {
			res, err := tx.exec(ctx, q, at)
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
	return s.write(ctx, func(ctx context.Context, tx conn) error {
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
		return tx.row(ctx, `INSERT INTO login_links (hash, user_id, created_at, expires_at) VALUES ($1, $2, $now, $3)
			RETURNING created_at, expires_at`, l.Hash, l.UserID, l.ExpiresAt).Scan(timeCol{&l.CreatedAt}, timeCol{&l.ExpiresAt})
	})
}

// UseLoginLink consumes a live login link.
func (s *Store) UseLoginLink(ctx context.Context, hash string, at time.Time) (*aegir.LoginLink, error) {
	var l aegir.LoginLink
	err := s.write(ctx, func(ctx context.Context, tx conn) error {
		err := tx.row(ctx, `DELETE FROM login_links WHERE hash = $1 RETURNING hash, user_id, created_at, expires_at`, hash).
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
	var at any
	if !e.Time.IsZero() {
		at = normalTime(e.Time)
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		return tx.row(ctx, `INSERT INTO audit (time, actor, action, object, detail, address)
			VALUES (coalesce($1, $now), $2, $3, $4, $5, $6) RETURNING id, time`,
			at, e.Actor, e.Action, e.Object, e.Detail, e.Address).Scan(&e.ID, timeCol{&e.Time})
	})
}

// ListAudit returns one page of the audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, f aegir.AuditFilter) ([]*aegir.AuditEntry, int, error) {
	c := s.filter().equal("actor", f.Actor).equal("object", f.Object)
	return listPage(ctx, s, "audit", c, auditCols, "id DESC", f.Page, f.PerPage, func(row scanner) (*aegir.AuditEntry, error) {
		var e aegir.AuditEntry
		return &e, row.Scan(&e.ID, timeCol{&e.Time}, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Address)
	})
}
