package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/jackc/pgx/v5"
)

// --- users ---

const userCols = `id, name, email, role, password_hash, disabled, created_at,
	ARRAY(SELECT client FROM user_clients uc WHERE uc.user_id = users.id ORDER BY client)`

func scanUser(row pgx.Row) (*aegir.User, error) {
	var u aegir.User
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &u.Role, &u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.Clients); err != nil {
		return nil, err
	}
	u.Clients = normalClients(u.Clients)
	return &u, nil
}

func setUserClients(ctx context.Context, tx pgx.Tx, id int64, clients []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM user_clients WHERE user_id = $1`, id); err != nil {
		return err
	}
	for _, c := range clients {
		if err := checkRef(ctx, tx, "clients", "clients", c); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_clients (user_id, client) VALUES ($1, $2)`, id, c); err != nil {
			return err
		}
	}
	return nil
}

func userNameTaken(ctx context.Context, tx pgx.Tx, name string, id int64) error {
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
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := userNameTaken(ctx, tx, u.Name, 0); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO users (name, email, role, password_hash, disabled, created_at)
			VALUES ($1, $2, $3, $4, $5, now()) RETURNING id, created_at`,
			u.Name, u.Email, u.Role, u.PasswordHash, u.Disabled).Scan(&u.ID, &u.CreatedAt); err != nil {
			return err
		}
		if err := setUserClients(ctx, tx, u.ID, clients); err != nil {
			return err
		}
		u.Clients = clients
		return nil
	})
}

// GetUser returns a user by ID.
func (s *Store) GetUser(ctx context.Context, id int64) (*aegir.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "user %d does not exist", id)
	}
	return u, err
}

// GetUserByName returns a user by name.
func (s *Store) GetUserByName(ctx context.Context, name string) (*aegir.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "user %q does not exist", name)
	}
	return u, err
}

// UpdateUser replaces a user's record.
func (s *Store) UpdateUser(ctx context.Context, u *aegir.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	clients := normalClients(u.Clients)
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := userNameTaken(ctx, tx, u.Name, u.ID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `UPDATE users SET name = $1, email = $2, role = $3, password_hash = $4, disabled = $5
			WHERE id = $6 RETURNING created_at`, u.Name, u.Email, u.Role, u.PasswordHash, u.Disabled, u.ID).Scan(&u.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "user %d does not exist", u.ID)
		} else if err != nil {
			return err
		}
		if err := setUserClients(ctx, tx, u.ID, clients); err != nil {
			return err
		}
		u.Clients = clients
		return nil
	})
}

// DeleteUser removes a user and its tokens.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		return deleteOne(ctx, tx, `DELETE FROM users WHERE id = $1`, id, "user %d does not exist")
	})
}

func deleteOne(ctx context.Context, tx pgx.Tx, query string, id int64, notFound string) error {
	tag, err := tx.Exec(ctx, query, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return aegir.Errorf(aegir.ENOTFOUND, notFound, id)
	}
	return nil
}

// ListUsers returns one page of users by name.
func (s *Store) ListUsers(ctx context.Context, f aegir.ListFilter) ([]*aegir.User, int, error) {
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.User
	total, err := s.page(ctx, "users", nameFilter(f.Query).scope(userScope, f.Scope), userCols, "name", limit, offset, func(rows pgx.Rows) error {
		u, err := scanUser(rows)
		list = append(list, u)
		return err
	})
	return list, total, err
}

// --- tokens ---

const tokenCols = "id, user_id, name, hash, created_at, last_used, revoked_at"

func scanToken(row pgx.Row) (*aegir.Token, error) {
	var t aegir.Token
	return &t, row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.CreatedAt, &t.LastUsed, &t.RevokedAt)
}

// CreateToken adds a token.
func (s *Store) CreateToken(ctx context.Context, t *aegir.Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = $1`, t.UserID); err != nil {
			return err
		} else if !ok {
			return aegir.FieldErrorf("user_id", "user %d does not exist", t.UserID)
		}
		err := tx.QueryRow(ctx, `INSERT INTO tokens (user_id, name, hash, created_at) VALUES ($1, $2, $3, now())
			ON CONFLICT (hash) DO NOTHING RETURNING id, created_at`, t.UserID, t.Name, t.Hash).Scan(&t.ID, &t.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
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
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenCols+" FROM tokens WHERE hash = $1 AND revoked_at IS NULL", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no such token")
	} else if err != nil {
		return nil, err
	}
	if t.LastUsed == nil || time.Since(*t.LastUsed) >= tokenUseInterval {
		var used time.Time
		err := s.pool.QueryRow(ctx, `UPDATE tokens SET last_used = now() WHERE id = $1 RETURNING last_used`, t.ID).Scan(&used)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		if err == nil {
			t.LastUsed = &used
		}
	}
	return t, nil
}

// RevokeToken revokes a token.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		return deleteOne(ctx, tx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id, "token %d does not exist")
	})
}

// ListTokens returns a user's tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, userID int64) ([]*aegir.Token, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+tokenCols+" FROM tokens WHERE $1 = 0 OR user_id = $1 ORDER BY id DESC", userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*aegir.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

// --- backups ---

const backupCols = "id, site, file, size, sha256, created_at"

func scanBackup(row pgx.Row) (*aegir.Backup, error) {
	var b aegir.Backup
	return &b, row.Scan(&b.ID, &b.Site, &b.File, &b.Size, &b.SHA256, &b.CreatedAt)
}

// AddBackup records a backup.
func (s *Store) AddBackup(ctx context.Context, b *aegir.Backup) error {
	if err := b.Validate(); err != nil {
		return err
	}
	var created any
	if !b.CreatedAt.IsZero() {
		created = b.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO backups (site, file, size, sha256, created_at) VALUES ($1, $2, $3, $4, coalesce($5, now()))
			RETURNING id, created_at`, b.Site, b.File, b.Size, b.SHA256, created).Scan(&b.ID, &b.CreatedAt)
	})
}

// GetBackup returns a backup.
func (s *Store) GetBackup(ctx context.Context, id int64) (*aegir.Backup, error) {
	b, err := scanBackup(s.pool.QueryRow(ctx, "SELECT "+backupCols+" FROM backups WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "backup %d does not exist", id)
	}
	return b, err
}

// ListBackups returns a site's backups, newest first.
func (s *Store) ListBackups(ctx context.Context, site string) ([]*aegir.Backup, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+backupCols+" FROM backups WHERE site = $1 ORDER BY created_at DESC, id DESC", site)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*aegir.Backup
	for rows.Next() {
		b, err := scanBackup(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, b)
	}
	return list, rows.Err()
}

// DeleteBackup removes a backup's record.
func (s *Store) DeleteBackup(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		return deleteOne(ctx, tx, `DELETE FROM backups WHERE id = $1`, id, "backup %d does not exist")
	})
}
