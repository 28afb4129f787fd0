package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/aegir-hosting/aegir"
)

// --- users ---

const userCols = `id, name, email, role, password_hash, disabled, created_at,
	(SELECT json_group_array(client ORDER BY client) FROM user_clients uc WHERE uc.user_id = users.id)`

func scanUser(row scanner) (*aegir.User, error) {
	var u aegir.User
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &u.Role, &u.PasswordHash, &u.Disabled,
		timeCol{&u.CreatedAt}, jsonCol{&u.Clients}); err != nil {
		return nil, err
	}
	u.Clients = normalClients(u.Clients)
	return &u, nil
}

func setUserClients(ctx context.Context, tx querier, id int64, clients []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_clients WHERE user_id = ?`, id); err != nil {
		return err
	}
	for _, c := range clients {
		if err := checkRef(ctx, tx, "clients", "clients", c); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_clients (user_id, client) VALUES (?, ?)`, id, c); err != nil {
			return err
		}
	}
	return nil
}

func userNameTaken(ctx context.Context, tx querier, name string, id int64) error {
	if ok, err := exists(ctx, tx, `SELECT 1 FROM users WHERE name = ? AND id <> ?`, name, id); err != nil {
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
	t := now()
	clients := normalClients(u.Clients)
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if err := userNameTaken(ctx, tx, u.Name, 0); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO users (name, email, role, password_hash, disabled, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, u.Name, u.Email, u.Role, u.PasswordHash, u.Disabled, fmtTime(t)).Scan(&id); err != nil {
			return err
		}
		if err := setUserClients(ctx, tx, id, clients); err != nil {
			return err
		}
		u.ID, u.CreatedAt, u.Clients = id, t, clients
		return nil
	})
}

// GetUser returns a user by ID.
func (s *Store) GetUser(ctx context.Context, id int64) (*aegir.User, error) {
	u, err := scanUser(s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "user %d does not exist", id)
	}
	return u, err
}

// GetUserByName returns a user by name.
func (s *Store) GetUserByName(ctx context.Context, name string) (*aegir.User, error) {
	u, err := scanUser(s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
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
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if err := userNameTaken(ctx, tx, u.Name, u.ID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE users SET name = ?, email = ?, role = ?, password_hash = ?, disabled = ?
			WHERE id = ? RETURNING created_at`, u.Name, u.Email, u.Role, u.PasswordHash, u.Disabled, u.ID).Scan(timeCol{&u.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
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
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		return deleteOne(ctx, tx, `DELETE FROM users WHERE id = ?`, id, "user %d does not exist")
	})
}

func deleteOne(ctx context.Context, tx querier, query string, id int64, notFound string) error {
	res, err := tx.ExecContext(ctx, query, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return aegir.Errorf(aegir.ENOTFOUND, notFound, id)
	}
	return nil
}

// ListUsers returns one page of users by name.
func (s *Store) ListUsers(ctx context.Context, f aegir.ListFilter) ([]*aegir.User, int, error) {
	conds, args := nameFilter(f.Query)
	conds, args = addScope(conds, args, userScope, f.Scope)
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.User
	total, err := s.page(ctx, "users", conds, args, userCols, "name", limit, offset, func(rows *sql.Rows) error {
		u, err := scanUser(rows)
		list = append(list, u)
		return err
	})
	return list, total, err
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
	created := now()
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = ?`, t.UserID); err != nil {
			return err
		} else if !ok {
			return aegir.FieldErrorf("user_id", "user %d does not exist", t.UserID)
		}
		if ok, err := exists(ctx, tx, `SELECT 1 FROM tokens WHERE hash = ?`, t.Hash); err != nil {
			return err
		} else if ok {
			return aegir.Errorf(aegir.ECONFLICT, "a token with that hash already exists")
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO tokens (user_id, name, hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			t.UserID, t.Name, t.Hash, fmtTime(created)).Scan(&t.ID); err != nil {
			return err
		}
		t.CreatedAt, t.LastUsed, t.RevokedAt = created, nil, nil
		return nil
	})
}

// tokenUseInterval is how stale a token's LastUsed may get before
// FindToken writes it again: an API request must not cost a write.
const tokenUseInterval = time.Minute

// FindToken returns the live token with that hash and records its use.
func (s *Store) FindToken(ctx context.Context, hash string) (*aegir.Token, error) {
	t, err := scanToken(s.queryRow(ctx, "SELECT "+tokenCols+" FROM tokens WHERE hash = ? AND revoked_at IS NULL", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no such token")
	} else if err != nil {
		return nil, err
	}
	used := now()
	if t.LastUsed == nil || used.Sub(*t.LastUsed) >= tokenUseInterval {
		if err := s.write(ctx, func(ctx context.Context, tx querier) error {
			_, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used = ? WHERE id = ?`, fmtTime(used), t.ID)
			return err
		}); err != nil {
			return nil, err
		}
		t.LastUsed = &used
	}
	return t, nil
}

// RevokeToken revokes a token.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	t := now()
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, fmtTime(t), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return aegir.Errorf(aegir.ENOTFOUND, "token %d does not exist", id)
		}
		return nil
	})
}

// ListTokens returns a user's tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, userID int64) ([]*aegir.Token, error) {
	query, args := "SELECT "+tokenCols+" FROM tokens ORDER BY id DESC", []any{}
	if userID != 0 {
		query, args = "SELECT "+tokenCols+" FROM tokens WHERE user_id = ? ORDER BY id DESC", []any{userID}
	}
	rows, err := s.reader.QueryContext(ctx, query, args...)
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

func scanBackup(row scanner) (*aegir.Backup, error) {
	var b aegir.Backup
	return &b, row.Scan(&b.ID, &b.Site, &b.File, &b.Size, &b.SHA256, timeCol{&b.CreatedAt})
}

// AddBackup records a backup.
func (s *Store) AddBackup(ctx context.Context, b *aegir.Backup) error {
	if err := b.Validate(); err != nil {
		return err
	}
	created := b.CreatedAt.UTC().Truncate(time.Microsecond)
	if b.CreatedAt.IsZero() {
		created = now()
	}
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO backups (site, file, size, sha256, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			b.Site, b.File, b.Size, b.SHA256, fmtTime(created)).Scan(&b.ID); err != nil {
			return err
		}
		b.CreatedAt = created
		return nil
	})
}

// GetBackup returns a backup.
func (s *Store) GetBackup(ctx context.Context, id int64) (*aegir.Backup, error) {
	b, err := scanBackup(s.queryRow(ctx, "SELECT "+backupCols+" FROM backups WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "backup %d does not exist", id)
	}
	return b, err
}

// ListBackups returns a site's backups, newest first.
func (s *Store) ListBackups(ctx context.Context, site string) ([]*aegir.Backup, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT "+backupCols+" FROM backups WHERE site = ? ORDER BY created_at DESC, id DESC", site)
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
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		return deleteOne(ctx, tx, `DELETE FROM backups WHERE id = ?`, id, "backup %d does not exist")
	})
}
