package hosting

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// TokenPrefix starts every API token secret, so that people and secret
// scanners can tell one.
const TokenPrefix = "aegir_"

// AdminUser is the user made on the first start of the front end.
const AdminUser = "admin"

// maxSecret bounds the bearer secrets looked up.
const maxSecret = 256

// NewTokenSecret returns a new API token secret: TokenPrefix and 32
// random bytes in URL-safe base64.
func NewTokenSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand aborts the process instead
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// CreateToken makes a new API token for the named user and returns it with
// its secret, which is shown once: only its hash is stored.
func (s *Service) CreateToken(ctx context.Context, userName, tokenName string) (*aegir.Token, string, error) {
	u, err := s.Store.GetUserByName(ctx, userName)
	if err != nil {
		return nil, "", err
	}
	if tokenName == "" {
		tokenName = "api"
	}
	secret := NewTokenSecret()
	t := &aegir.Token{UserID: u.ID, Name: tokenName, Hash: aegir.HashToken(secret)}
	if err := t.Validate(); err != nil {
		return nil, "", err
	}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return nil, "", err
	}
	return t, secret, s.Audit(ctx, Actor{}, "token.create", KindUser+":"+u.Name, fmt.Sprintf("token %d (%s)", t.ID, t.Name))
}

// ListTokens returns the tokens of the named user, newest first.
func (s *Service) ListTokens(ctx context.Context, userName string) ([]*aegir.Token, error) {
	u, err := s.Store.GetUserByName(ctx, userName)
	if err != nil {
		return nil, err
	}
	return s.Store.ListTokens(ctx, u.ID)
}

// RevokeToken revokes a token by ID.
func (s *Service) RevokeToken(ctx context.Context, id int64) error {
	if err := s.Store.RevokeToken(ctx, id); err != nil {
		return err
	}
	return s.Audit(ctx, Actor{}, "token.revoke", fmt.Sprintf("token:%d", id), "")
}

// Authenticate returns the user of a bearer token secret. An unknown or
// revoked token, or a disabled user, is EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, secret string) (*aegir.User, error) {
	if secret == "" || len(secret) > maxSecret || strings.ContainsAny(secret, " \t\r\n") {
		return nil, aegir.Errorf(aegir.EUNAUTHORIZED, "invalid token")
	}
	t, err := s.Store.FindToken(ctx, aegir.HashToken(secret))
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil, aegir.Errorf(aegir.EUNAUTHORIZED, "invalid or revoked token")
	} else if err != nil {
		return nil, err
	}
	u, err := s.Store.GetUser(ctx, t.UserID)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil, aegir.Errorf(aegir.EUNAUTHORIZED, "invalid or revoked token")
	} else if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, aegir.Errorf(aegir.EUNAUTHORIZED, "user %s is disabled", u.Name)
	}
	return u, nil
}

// EnsureAdmin makes the administrator user AdminUser with a token when the
// store has no user yet, and returns the token's secret; it returns ""
// when there are users already (or another process made the first one at
// the same moment).
func (s *Service) EnsureAdmin(ctx context.Context) (string, error) {
	_, total, err := s.Store.ListUsers(ctx, aegir.ListFilter{PerPage: 1})
	if err != nil || total > 0 {
		return "", err
	}
	u := &aegir.User{Name: AdminUser, Role: aegir.RoleAdministrator}
	if err := s.Store.CreateUser(ctx, u); aegir.ErrorCode(err) == aegir.ECONFLICT {
		return "", nil
	} else if err != nil {
		return "", err
	}
	_, secret, err := s.CreateToken(ctx, AdminUser, "initial")
	return secret, err
}
