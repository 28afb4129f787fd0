package hosting

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// TokenPrefix starts every API token secret, so that people and secret
// scanners can tell one.
const TokenPrefix = "aegir_"

// AdminUser is the user made on the first start of the front end.
const AdminUser = "admin"

// maxSecret bounds the bearer secrets looked up.
const maxSecret = 256

// secretPattern matches a token secret inside other text.
var secretPattern = regexp.MustCompile(regexp.QuoteMeta(TokenPrefix) + `[A-Za-z0-9_-]{43}`)

// FindSecrets returns the token secrets found in text (a log file, say),
// each once.
func FindSecrets(text []byte) []string {
	var out []string
	for _, m := range secretPattern.FindAll(text, -1) {
		if s := string(m); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// RedactSecrets returns text with every token secret replaced by a note.
func RedactSecrets(text []byte) []byte {
	return secretPattern.ReplaceAll(text, []byte("[token secret removed]"))
}

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
	return s.CreateTokenAs(ctx, Actor{}, userName, tokenName)
}

// CreateTokenAs is CreateToken for a user of the front end, whom the audit
// log names as the maker.
func (s *Service) CreateTokenAs(ctx context.Context, a Actor, userName, tokenName string) (*aegir.Token, string, error) {
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
	return t, secret, s.Audit(ctx, a, "token.create", KindUser+":"+u.Name, fmt.Sprintf("token %d (%s)", t.ID, t.Name))
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

// RevokeTokenOf revokes a token of the named user and returns it; a token
// of another user is ENOTFOUND, as one that does not exist. Revoking a
// revoked token again changes nothing.
func (s *Service) RevokeTokenOf(ctx context.Context, a Actor, userName string, id int64) (*aegir.Token, error) {
	list, err := s.ListTokens(ctx, userName)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(list, func(t *aegir.Token) bool { return t.ID == id })
	if i < 0 {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "user %s has no token %d", userName, id)
	}
	t := list[i]
	if t.RevokedAt != nil {
		return t, nil
	}
	if err := s.Store.RevokeToken(ctx, id); err != nil {
		return nil, err
	}
	now := time.Now()
	t.RevokedAt = &now
	return t, s.Audit(ctx, a, "token.revoke", KindUser+":"+userName, fmt.Sprintf("token %d (%s)", t.ID, t.Name))
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

// EnsureAdmin makes the administrator user AdminUser when the store has no
// user yet and reports whether it did; it reports false when there are users
// already (or another process made the first one at the same moment). It
// makes no token: a secret made here would end up in the front end's output,
// which is often a log file (`aegir token create admin` prints one to whoever
// asks).
func (s *Service) EnsureAdmin(ctx context.Context) (bool, error) {
	_, total, err := s.Store.ListUsers(ctx, aegir.ListFilter{PerPage: 1})
	if err != nil || total > 0 {
		return false, err
	}
	u := &aegir.User{Name: AdminUser, Role: aegir.RoleAdministrator}
	if err := s.Store.CreateUser(ctx, u); aegir.ErrorCode(err) == aegir.ECONFLICT {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, s.Audit(ctx, Actor{}, "user.create", KindUser+":"+u.Name, "first start")
}

// RevokeSecret revokes the token whose secret this is, for a secret that
// leaked (into a log, a paste); it returns the token revoked, or ENOTFOUND
// when no live token has that secret.
func (s *Service) RevokeSecret(ctx context.Context, secret string) (*aegir.Token, error) {
	t, err := s.Store.FindToken(ctx, aegir.HashToken(secret))
	if err != nil {
		return nil, err
	}
	return t, s.RevokeToken(ctx, t.ID)
}
