package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/aegir-hosting/aegir"
)

// --- users ---

const userCols = `id, name, email, role, password_hash, disabled, created_at,
	(SELECT string_agg(client, ',' ORDER BY client) FROM user_clients uc WHERE uc.user_id = users.id)`

func scanUser(row scanner) (*aegir.User, error) {
	var u aegir.User
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &u.Role, &u.PasswordHash, &u.Disabled,
		timeCol{&u.CreatedAt}, clientsCol{&u.Clients}); err != nil {
		return nil, err
	}
	u.Clients = normalClients(u.Clients)
	return &u, nil
}

func userNameTaken(ctx context.Context, tx conn, name string, id int64) error {
	if ok, err := exists(ctx, tx, `SELECT 1 FROM users WHERE name = $1 AND id <> $2`, name, id); err != nil {
		return err
	} else if ok {
		return &aegir.Error{Code: aegir.ECONFLICT, Field: "name", Message: "user \"" + name + "\" already exists"}
	}
	return nil
}

// CreateUser adds a user.
func (s *Store) CreateUser(ctx context.Context, u *aegir.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	clients := normalClients(u.Clients)
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if err := userNameTaken(ctx, tx, u.Name, 0); err != nil {
			return err
		}
		if err := tx.row(ctx, `INSERT INTO users (name, email, role, password_hash, disabled, created_at)
			VALUES ($1, $2, $3, $4, $5, $now) RETURNING id, created_at`,
			u.Name, u.Email, u.Role, u.PasswordHash, u.Disabled).Scan(&u.ID, timeCol{&u.CreatedAt}); err != nil {
			return err
		}
		if err := setClients(ctx, tx, "user_clients", "user_id", u.ID, clients); err != nil {
			return err
		}
		u.Clients = clients
		return nil
	})
}

// GetUser returns a user by ID.
func (s *Store) GetUser(ctx context.Context, id int64) (*aegir.User, error) {
	return get(ctx, s.reader(), scanUser, "SELECT "+userCols+" FROM users WHERE id = $1", id, "user %d does not exist")
}

// GetUserByName returns a user by name.
func (s *Store) GetUserByName(ctx context.Context, name string) (*aegir.User, error) {
	return get(ctx, s.reader(), scanUser, "SELECT "+userCols+" FROM users WHERE name = $1", name, "user %q does not exist")
}

// UpdateUser replaces a user's record.
func (s *Store) UpdateUser(ctx context.Context, u *aegir.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	clients := normalClients(u.Clients)
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if err := userNameTaken(ctx, tx, u.Name, u.ID); err != nil {
			return err
		}
		err := tx.row(ctx, `UPDATE users SET name = $1, email = $2, role = $3, password_hash = $4, disabled = $5
			WHERE id = $6 RETURNING created_at`, u.Name, u.Email, u.Role, u.PasswordHash, u.Disabled, u.ID).Scan(timeCol{&u.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "user %d does not exist", u.ID)
		} else if err != nil {
			return err
		}
		if err := setClients(ctx, tx, "user_clients", "user_id", u.ID, clients); err != nil {
			return err
		}
		u.Clients = clients
		return nil
	})
}

// DeleteUser removes a user and its tokens.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		return execOne(ctx, tx, `DELETE FROM users WHERE id = $1`, id, "user %d does not exist")
	})
}

// ListUsers returns one page of users by name.
func (s *Store) ListUsers(ctx context.Context, f aegir.ListFilter) ([]*aegir.User, int, error) {
	c := s.nameFilter(f.Query).scope(userScope, "client", f.Scope)
	return listPage(ctx, s, "users", c, userCols, "name", f.Page, f.PerPage, scanUser)
}

// --- tokens ---

const tokenCols = "id, user_id, name, hash, created_at, last_used, revoked_at"

func scanToken(row scanner) (*aegir.Token, error) {
	var t aegir.Token
	return &t, row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, timeCol{&t.CreatedAt}, nullTimeCol{&t.LastUsed}, nullTimeCol{&t.RevokedAt})
}

// CreateToken adds a token.
func (s *Store) CreateToken(ctx context.Context, t *aegir.Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = $1`, t.UserID); err != nil {
			return err
		} else if !ok {
			return aegir.FieldErrorf("user_id", "user %d does not exist", t.UserID)
		}
		err := tx.row(ctx, `INSERT INTO tokens (user_id, name, hash, created_at) VALUES ($1, $2, $3, $now)
			ON CONFLICT (hash) DO NOTHING RETURNING id, created_at`, t.UserID, t.Name, t.Hash).Scan(&t.ID, timeCol{&t.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ECONFLICT, "a token with that hash already exists")
		}
		t.LastUsed, t.RevokedAt = nil, nil
		return err
	})
}

// tokenUseInterval is how stale a token's LastUsed may get before
// FindToken writes it again: an API request must not cost a write.
const tokenUseInterval = time.Minute

// FindToken returns the live token with that hash and records its use.
func (s *Store) FindToken(ctx context.Context, hash string) (*aegir.Token, error) {
	t, err := scanToken(s.reader().row(ctx, "SELECT "+tokenCols+" FROM tokens WHERE hash = $1 AND revoked_at IS NULL", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no such token")
	} else if err != nil {
		return nil, err
	}
	if t.LastUsed != nil && time.Since(*t.LastUsed) < tokenUseInterval {
		return t, nil
	}
	var used time.Time
	err = s.write(ctx, func(ctx context.Context, tx conn) error {
		return tx.row(ctx, `UPDATE tokens SET last_used = $now WHERE id = $1 RETURNING last_used`, t.ID).Scan(timeCol{&used})
	})
	switch {
	case err == nil:
		t.LastUsed = &used
	case !errors.Is(err, sql.ErrNoRows): // a token deleted meanwhile was found all the same
		return nil, err
	}
	return t, nil
}

// RevokeToken revokes a token.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		return execOne(ctx, tx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, $now) WHERE id = $1`, id, "token %d does not exist")
	})
}

// ListTokens returns a user's tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, userID int64) ([]*aegir.Token, error) {
	query, args := "SELECT "+tokenCols+" FROM tokens ORDER BY id DESC", []any{}
	if userID != 0 {
		query, args = "SELECT "+tokenCols+" FROM tokens WHERE user_id = $1 ORDER BY id DESC", []any{userID}
	}
	return collect(ctx, s.reader(), scanToken, query, args...)
}

// --- backups ---

const backupCols = "id, site, file, size, sha256, created_at, verified_at"

func scanBackup(row scanner) (*aegir.Backup, error) {
	var b aegir.Backup
	return &b, row.Scan(&b.ID, &b.Site, &b.File, &b.Size, &b.SHA256, timeCol{&b.CreatedAt}, nullTimeCol{&b.VerifiedAt})
}

// AddBackup records a backup.
func (s *Store) AddBackup(ctx context.Context, b *aegir.Backup) error {
	if err := b.Validate(); err != nil {
		return err
	}
	var created any
	if !b.CreatedAt.IsZero() {
		created = normalTime(b.CreatedAt)
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		return tx.row(ctx, `INSERT INTO backups (site, file, size, sha256, created_at) VALUES ($1, $2, $3, $4, coalesce($5, $now))
			RETURNING id, created_at`, b.Site, b.File, b.Size, b.SHA256, created).Scan(&b.ID, timeCol{&b.CreatedAt})
	})
}

// GetBackup returns a backup.
func (s *Store) GetBackup(ctx context.Context, id int64) (*aegir.Backup, error) {
	return get(ctx, s.reader(), scanBackup, "SELECT "+backupCols+" FROM backups WHERE id = $1", id, "backup %d does not exist")
}

// ListBackups returns a site's backups, newest first.
func (s *Store) ListBackups(ctx context.Context, site string) ([]*aegir.Backup, error) {
	return collect(ctx, s.reader(), scanBackup, "SELECT "+backupCols+" FROM backups WHERE site = $1 ORDER BY created_at DESC, id DESC", site)
}

// SetBackupVerified records when the backup was proven restorable.
func (s *Store) SetBackupVerified(ctx context.Context, site, file string, at time.Time) error {
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		res, err := tx.exec(ctx, `UPDATE backups SET verified_at = $1 WHERE site = $2 AND file = $3`, normalTime(at), site, file)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return aegir.Errorf(aegir.ENOTFOUND, "no backup of %s at %s", site, file)
		}
		return nil
	})
}

// DeleteBackup removes a backup's record.
func (s *Store) DeleteBackup(ctx context.Context, id int64) error {
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		return execOne(ctx, tx, `DELETE FROM backups WHERE id = $1`, id, "backup %d does not exist")
	})
}
