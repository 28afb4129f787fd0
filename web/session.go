package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/alexedwards/scs/v2"
)

// sessionCookie names the session cookie of the UI.
const sessionCookie = "aegir_session"

// sessionLifetime is how long a login lasts.
const sessionLifetime = 12 * time.Hour

// Session keys.
const (
	keyUserID = "user_id"
	keyStamp  = "stamp" // see authStamp
	keyFlash  = "flash"
)

// sessionStore is scs's store on the front end's own store. scs hashes
// the tokens before they reach it (HashTokenInStore), so the database
// never holds a usable session token.
type sessionStore struct{ store aegir.SessionStore }

// Find returns the data of a live session.
func (st sessionStore) Find(token string) ([]byte, bool, error) {
	return st.FindCtx(context.Background(), token)
}

// Commit saves a session.
func (st sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return st.CommitCtx(context.Background(), token, b, expiry)
}

// Delete removes a session.
func (st sessionStore) Delete(token string) error {
	return st.DeleteCtx(context.Background(), token)
}

// FindCtx returns the data of a live session.
func (st sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	return st.store.FindSession(ctx, token)
}

// CommitCtx saves a session.
func (st sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return st.store.CommitSession(ctx, token, b, expiry)
}

// DeleteCtx removes a session.
func (st sessionStore) DeleteCtx(ctx context.Context, token string) error {
	return st.store.DeleteSession(ctx, token)
}

var _ scs.CtxStore = sessionStore{}

// initSessions makes the session manager. The cookie is written by
// withSession, which knows whether the request came over TLS.
func (s *Server) initSessions() {
	sm := scs.New()
	sm.Lifetime = sessionLifetime
	sm.HashTokenInStore = true
	if s.Store != nil {
		sm.Store = sessionStore{s.Store}
	}
	sm.Cookie.Name = sessionCookie
	s.sessions = sm
}

// withSession loads the request's session (a store read only when it
// carries a session cookie) and, before the answer's headers go out,
// saves it and writes the cookie if it changed: HttpOnly, SameSite=Lax,
// and Secure when the request came over TLS or SecureCookies is set.
func (s *Server) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		token := ""
		if c, err := r.Cookie(sessionCookie); err == nil {
			token = c.Value
		}
		ctx, err := s.sessions.Load(r.Context(), token)
		if err != nil {
			// A session that cannot be read is no session.
			s.Logger.Warn("loading a session", "err", err)
			if ctx, err = s.sessions.Load(r.Context(), ""); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		r = r.WithContext(ctx)
		sw := &sessionWriter{ResponseWriter: w, s: s, r: r}
		next.ServeHTTP(sw, r)
		sw.commit()
	})
}

// sessionWriter saves the session before the first byte of the answer.
type sessionWriter struct {
	http.ResponseWriter
	s    *Server
	r    *http.Request
	done bool
}

func (w *sessionWriter) commit() {
	if w.done {
		return
	}
	w.done = true
	w.s.commitSession(w.ResponseWriter, w.r)
}

// WriteHeader saves the session, then writes the status.
func (w *sessionWriter) WriteHeader(code int) {
	w.commit()
	w.ResponseWriter.WriteHeader(code)
}

// Write saves the session before the first byte, then writes b.
func (w *sessionWriter) Write(b []byte) (int, error) {
	w.commit()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (to flush the
// live log and lift its write deadline).
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// commitSession saves a changed session and writes its cookie, or clears
// the cookie of a destroyed one.
func (s *Server) commitSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cookie := &http.Cookie{Name: sessionCookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || s.SecureCookies || s.forwardedHTTPS(r)}
	switch s.sessions.Status(ctx) {
	case scs.Modified:
		token, expiry, err := s.sessions.Commit(ctx)
		if err != nil {
			s.Logger.Error("saving a session", "err", err)
			return
		}
		cookie.Value, cookie.Expires = token, expiry.Add(time.Second)
		cookie.MaxAge = int(time.Until(expiry).Seconds() + 1)
	case scs.Destroyed:
		cookie.Expires, cookie.MaxAge = time.Unix(1, 0), -1
	default:
		return
	}
	w.Header().Add("Set-Cookie", cookie.String())
	w.Header().Add("Cache-Control", `no-cache="Set-Cookie"`)
}

// authStamp ties a session to the user's password and state: changing the
// password, role or clients, or disabling the user, ends their other
// sessions.
func authStamp(u *aegir.User) string {
	h := sha256.New()
	h.Write([]byte(u.PasswordHash))
	h.Write([]byte{0})
	h.Write([]byte(u.Role))
	for _, c := range u.Clients {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// sessionUser returns the user logged in on the request's session, or nil
// when there is none (or it no longer holds: a disabled user, a changed
// password).
func (s *Server) sessionUser(r *http.Request) (*aegir.User, error) {
	ctx := r.Context()
	id := s.sessions.GetInt64(ctx, keyUserID)
	if id == 0 {
		return nil, nil
	}
	u, err := s.Store.GetUser(ctx, id)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if u.Disabled || s.sessions.GetString(ctx, keyStamp) != authStamp(u) {
		return nil, nil
	}
	return u, nil
}

// startSession logs u in on a new session token (a token an attacker set
// before the login is worth nothing after it), and clears out the expired
// sessions and login links: an indexed delete, at each login.
func (s *Server) startSession(r *http.Request, u *aegir.User) error {
	ctx := r.Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	if _, err := s.Store.PruneSessions(ctx, time.Now()); err != nil {
		return err
	}
	s.sessions.Put(ctx, keyUserID, u.ID)
	s.sessions.Put(ctx, keyStamp, authStamp(u))
	return nil
}

// endSession logs out.
func (s *Server) endSession(r *http.Request) error {
	return s.sessions.Destroy(r.Context())
}

// flash keeps a message for the next page the user sees.
func (s *Server) flash(r *http.Request, msg string) {
	s.sessions.Put(r.Context(), keyFlash, msg)
}

// forwardedHTTPS reports whether a trusted proxy says the request came to
// it over HTTPS (TrustedProxies).
func (s *Server) forwardedHTTPS(r *http.Request) bool {
	return r.Header.Get("X-Forwarded-Proto") == "https" && slices.Contains(s.TrustedProxies, clientAddress(r))
}
