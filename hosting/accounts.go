package hosting

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Actor is who asks for a change, as the audit log records it.
type Actor struct {
	Name    string // the user's name; "" for the system or the command line
	Address string // the client's IP address, when the change came over HTTP
	// Role is the user's role; "" for the system or the command line, which
	// run as the aegir user and may set anything.
	Role string
}

// ActorOf returns the actor of a user at an address.
func ActorOf(u *aegir.User, address string) Actor {
	if u == nil {
		return Actor{Address: address}
	}
	return Actor{Name: u.Name, Address: address, Role: u.Role}
}

// Audit records an entry in the audit log. Its error is returned, not
// logged: a change that cannot be audited is reported as failed (the
// change itself stays, as the store has no transaction spanning both).
func (s *Service) Audit(ctx context.Context, a Actor, action, object, detail string) error {
	actor := a.Name
	if len(actor) > 64 {
		actor = actor[:64]
	}
	if len(object) > 255 {
		object = object[:255]
	}
	if len(detail) > 4096 {
		detail = detail[:4096]
	}
	return s.Store.AddAudit(ctx, &aegir.AuditEntry{Actor: actor, Action: action, Object: object, Detail: detail, Address: a.Address})
}

// UserInput is what is set on a user; a nil field is left as it is (on
// create: empty, and role client).
type UserInput struct {
	Name     string
	Email    *string
	Role     *string
	Clients  *[]string
	Password *string
	Disabled *bool
}

// argon2 returns the hash parameters in use.
func (s *Service) argon2() Argon2Params {
	if s.Argon2.Time == 0 {
		return DefaultArgon2
	}
	return s.Argon2
}

// hashSlot waits for one of the few argon2 computations allowed at once
// (each takes Argon2.Memory): a burst of logins queues instead of
// exhausting memory.
func (s *Service) hashSlot(ctx context.Context) (release func(), err error) {
	s.hashOnce.Do(func() { s.hashSem = make(chan struct{}, 4) })
	select {
	case s.hashSem <- struct{}{}:
		return func() { <-s.hashSem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hashPassword checks a new password against the rules and hashes it.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	if err := CheckPasswordRules("password", password); err != nil {
		return "", err
	}
	release, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, s.argon2()), nil
}

// checkClients reports clients that do not exist as invalid input.
func (s *Service) checkClients(ctx context.Context, clients []string) error {
	for _, c := range clients {
		if _, err := s.Store.GetClient(ctx, c); aegir.ErrorCode(err) == aegir.ENOTFOUND {
			return aegir.FieldErrorf("clients", "client %q does not exist", c)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateUser adds a user (role client unless given) and audits it.
func (s *Service) CreateUser(ctx context.Context, a Actor, in UserInput) (*aegir.User, error) {
	u := &aegir.User{Name: in.Name, Role: aegir.RoleClient}
	if in.Email != nil {
		u.Email = *in.Email
	}
	if in.Role != nil {
		u.Role = *in.Role
	}
	if in.Clients != nil {
		u.Clients = slices.Clone(*in.Clients)
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkClients(ctx, u.Clients); err != nil {
		return nil, err
	}
	if in.Password != nil && *in.Password != "" {
		var err error
		if u.PasswordHash, err = s.hashPassword(ctx, *in.Password); err != nil {
			return nil, err
		}
	}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	detail := "role " + u.Role
	if len(u.Clients) > 0 {
		detail += ", clients " + strings.Join(u.Clients, " ")
	}
	return u, s.Audit(ctx, a, "user.create", KindUser+":"+u.Name, detail)
}

// GetUser returns a user by name, or ENOTFOUND.
func (s *Service) GetUser(ctx context.Context, name string) (*aegir.User, error) {
	return s.Store.GetUserByName(ctx, name)
}

// ListUsers returns one page of users and the total.
func (s *Service) ListUsers(ctx context.Context, f aegir.ListFilter) ([]*aegir.User, int, error) {
	return s.Store.ListUsers(ctx, f)
}

// UpdateUser changes a user and audits each kind of change (role,
// clients, disable, enable, password, email). A user cannot disable
// themselves, and the last enabled administrator stays one (ECONFLICT).
func (s *Service) UpdateUser(ctx context.Context, a Actor, name string, in UserInput) (*aegir.User, error) {
	old, err := s.Store.GetUserByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if in.Name != "" && in.Name != name {
		return nil, aegir.FieldErrorf("name", "cannot be changed")
	}
	u := *old
	u.Clients = slices.Clone(old.Clients)
	var changes []string
	if in.Email != nil && *in.Email != u.Email {
		u.Email = *in.Email
		changes = append(changes, "user.email")
	}
	if in.Role != nil && *in.Role != u.Role {
		u.Role = *in.Role
		changes = append(changes, "user.role")
	}
	if in.Clients != nil {
		clients := slices.Clone(*in.Clients)
		slices.Sort(clients)
		if !slices.Equal(clients, old.Clients) {
			u.Clients = clients
			changes = append(changes, "user.clients")
		}
	}
	if in.Disabled != nil && *in.Disabled != u.Disabled {
		u.Disabled = *in.Disabled
		if u.Disabled {
			changes = append(changes, "user.disable")
		} else {
			changes = append(changes, "user.enable")
		}
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkClients(ctx, u.Clients); err != nil {
		return nil, err
	}
	if u.Disabled && !old.Disabled && a.Name == old.Name {
		return nil, aegir.FieldErrorf("disabled", "you cannot disable yourself")
	}
	if old.Role == aegir.RoleAdministrator && !old.Disabled && (u.Role != aegir.RoleAdministrator || u.Disabled) {
		if err := s.keepAnAdministrator(ctx, old.ID); err != nil {
			return nil, err
		}
	}
	if in.Password != nil {
		if u.PasswordHash, err = s.hashPassword(ctx, *in.Password); err != nil {
			return nil, err
		}
		changes = append(changes, "user.password")
	}
	if len(changes) == 0 {
		return old, nil
	}
	if err := s.Store.UpdateUser(ctx, &u); err != nil {
		return nil, err
	}
	for _, c := range changes {
		detail := ""
		switch c {
		case "user.role":
			detail = old.Role + " -> " + u.Role
		case "user.clients":
			detail = strings.Join(old.Clients, " ") + " -> " + strings.Join(u.Clients, " ")
		}
		if err := s.Audit(ctx, a, c, KindUser+":"+u.Name, detail); err != nil {
			return nil, err
		}
	}
	return &u, nil
}

// keepAnAdministrator refuses a change that would leave no enabled
// administrator but the user with id except.
func (s *Service) keepAnAdministrator(ctx context.Context, except int64) error {
	for page := 1; ; page++ {
		list, total, err := s.Store.ListUsers(ctx, aegir.ListFilter{Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return err
		}
		for _, u := range list {
			if u.ID != except && u.Role == aegir.RoleAdministrator && !u.Disabled {
				return nil
			}
		}
		if page*aegir.MaxPerPage >= total {
			return aegir.Errorf(aegir.ECONFLICT, "this is the last enabled administrator: make another one first")
		}
	}
}

// DeleteUser removes a user and their tokens and audits it. Nobody
// deletes themselves, and the last enabled administrator stays.
func (s *Service) DeleteUser(ctx context.Context, a Actor, name string) error {
	u, err := s.Store.GetUserByName(ctx, name)
	if err != nil {
		return err
	}
	if a.Name == u.Name {
		return aegir.Errorf(aegir.ECONFLICT, "you cannot delete yourself")
	}
	if u.Role == aegir.RoleAdministrator && !u.Disabled {
		if err := s.keepAnAdministrator(ctx, u.ID); err != nil {
			return err
		}
	}
	if err := s.Store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	return s.Audit(ctx, a, "user.delete", KindUser+":"+u.Name, "role "+u.Role)
}

// dummyHash is verified when a login names no user, so that a failed
// login takes as long whether or not the user exists.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy = HashPassword("not the password of anyone", s.argon2()) })
	return s.dummy
}

// errLogin is the one answer to a failed login: it does not say whether
// the user exists, is disabled or has no password.
func errLogin() error {
	return aegir.Errorf(aegir.EUNAUTHORIZED, "wrong user name or password")
}

// Login checks a user's password and returns the user, auditing the
// attempt either way. A disabled user, one without a password and an
// unknown name all fail as a wrong password does.
func (s *Service) Login(ctx context.Context, a Actor, name, password string) (*aegir.User, error) {
	u, err := s.Store.GetUserByName(ctx, name)
	if err != nil && aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return nil, err
	}
	hash := s.dummyHash()
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	release, err := s.hashSlot(ctx)
	if err != nil {
		return nil, err
	}
	ok := VerifyPassword(password, hash)
	release()
	if u == nil || u.PasswordHash == "" || u.Disabled || !ok {
		reason := "wrong password"
		switch {
		case u == nil:
			reason = "no such user"
		case u.Disabled:
			reason = "user disabled"
		case u.PasswordHash == "":
			reason = "no password set"
		}
		if err := s.Audit(ctx, Actor{Name: name, Address: a.Address}, "login.failed", KindUser+":"+name, reason); err != nil {
			return nil, err
		}
		return nil, errLogin()
	}
	return u, s.Audit(ctx, Actor{Name: u.Name, Address: a.Address}, "login", KindUser+":"+u.Name, "password")
}

// LoginLinkTTL is how long a login link works unless asked otherwise.
const LoginLinkTTL = 24 * time.Hour

// NewLoginLink makes a one-time login link secret for the named user,
// valid for ttl (LoginLinkTTL when zero), and audits it. The secret is
// shown once; only its hash is stored.
func (s *Service) NewLoginLink(ctx context.Context, a Actor, name string, ttl time.Duration) (string, *aegir.LoginLink, error) {
	u, err := s.Store.GetUserByName(ctx, name)
	if err != nil {
		return "", nil, err
	}
	if u.Disabled {
		return "", nil, aegir.Errorf(aegir.ECONFLICT, "user %s is disabled: enable it first", u.Name)
	}
	if ttl <= 0 {
		ttl = LoginLinkTTL
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand aborts the process instead
	secret := base64.RawURLEncoding.EncodeToString(b)
	l := &aegir.LoginLink{Hash: aegir.HashToken(secret), UserID: u.ID, ExpiresAt: time.Now().Add(ttl)}
	if err := s.Store.CreateLoginLink(ctx, l); err != nil {
		return "", nil, err
	}
	return secret, l, s.Audit(ctx, a, "user.login_link", KindUser+":"+u.Name, fmt.Sprintf("valid until %s", l.ExpiresAt.UTC().Format(time.RFC3339)))
}

// UseLoginLink consumes a login link and returns its user, auditing the
// login. An unknown, used or expired link, or a disabled user, is
// EUNAUTHORIZED.
func (s *Service) UseLoginLink(ctx context.Context, a Actor, secret string) (*aegir.User, error) {
	invalid := aegir.Errorf(aegir.EUNAUTHORIZED, "this login link is invalid, used or expired: ask for a new one")
	if secret == "" || len(secret) > maxSecret {
		return nil, invalid
	}
	l, err := s.Store.UseLoginLink(ctx, aegir.HashToken(secret), time.Now())
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	u, err := s.Store.GetUser(ctx, l.UserID)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, invalid
	}
	return u, s.Audit(ctx, Actor{Name: u.Name, Address: a.Address}, "login", KindUser+":"+u.Name, "login link")
}

// --- clients, audited ---

// CreateClientAs adds a client, as CreateClient, and audits it.
func (s *Service) CreateClientAs(ctx context.Context, a Actor, in ClientInput) (*aegir.Client, error) {
	if err := a.maySetQuotas(in); err != nil {
		return nil, err
	}
	c, err := s.CreateClient(ctx, in)
	if err != nil {
		return nil, err
	}
	return c, s.Audit(ctx, a, "client.create", KindClient+":"+c.Name, c.Title)
}

// UpdateClientAs changes a client, as UpdateClient, and audits it.
func (s *Service) UpdateClientAs(ctx context.Context, a Actor, name string, in ClientInput) (*aegir.Client, error) {
	if err := a.maySetQuotas(in); err != nil {
		return nil, err
	}
	c, err := s.UpdateClient(ctx, name, in)
	if err != nil {
		return nil, err
	}
	return c, s.Audit(ctx, a, "client.update", KindClient+":"+c.Name, c.Title)
}

// maySetQuotas refuses quotas set by anyone but an administrator (or the
// command line): an account manager manages clients, not their limits.
func (a Actor) maySetQuotas(in ClientInput) error {
	if (in.QuotaSites != nil || in.QuotaDisk != nil) && a.Role != "" && a.Role != aegir.RoleAdministrator {
		return &aegir.Error{Code: EFORBIDDEN, Field: "quota_sites", Message: roleTitle(a.Role) + " users may not set a client's quotas"}
	}
	return nil
}

// DeleteClientAs removes a client, as DeleteClient, and audits it.
func (s *Service) DeleteClientAs(ctx context.Context, a Actor, name string) error {
	if err := s.DeleteClient(ctx, name); err != nil {
		return err
	}
	return s.Audit(ctx, a, "client.delete", KindClient+":"+name, "")
}

// ListAudit returns one page of the audit log, newest first.
func (s *Service) ListAudit(ctx context.Context, f aegir.AuditFilter) ([]*aegir.AuditEntry, int, error) {
	return s.Store.ListAudit(ctx, f)
}
