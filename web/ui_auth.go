package web

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// loginData is the login page's.
type loginData struct {
	Form *form
	Next string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, _ *aegir.User) error {
	if u, err := s.sessionUser(r); err == nil && u != nil {
		return redirect(w, r, localPath(r.FormValue("next")))
	}
	f := newForm()
	return s.render(w, r, nil, http.StatusOK, "login", "Log in", loginData{Form: f, Next: localPath(r.FormValue("next"))})
}

// loginSubmit checks a password login against the rate limit, starts a
// new session and goes on to the page asked for. A failure says only that
// the name or password is wrong.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request, _ *aegir.User) error {
	f := formOf(r, "name", "password")
	next := localPath(r.PostFormValue("next"))
	name, addr := f.Values["name"], clientAddress(r)
	f.Values["password"] = "" // never sent back
	if blocked, wait := s.limiter.blocked(addr, name); blocked {
		f.Error = fmt.Sprintf("Too many failed logins: try again in %d minutes.", int(wait.Minutes())+1)
		if err := s.Service.Audit(r.Context(), hosting.Actor{Name: name, Address: addr}, "login.limited", hosting.KindUser+":"+name, ""); err != nil {
			return err
		}
		return s.render(w, r, nil, http.StatusTooManyRequests, "login", "Log in", loginData{Form: f, Next: next})
	}
	u, err := s.Service.Login(r.Context(), hosting.Actor{Address: addr}, name, r.PostFormValue("password"))
	if aegir.ErrorCode(err) == aegir.EUNAUTHORIZED {
		s.limiter.fail(addr, name)
		f.Error = "Wrong user name or password."
		return s.render(w, r, nil, http.StatusUnauthorized, "login", "Log in", loginData{Form: f, Next: next})
	} else if err != nil {
		return err
	}
	s.limiter.succeed(name)
	if err := s.startSession(r, u); err != nil {
		return err
	}
	return redirect(w, r, next)
}

// linkPageData is the login link page's.
type linkPageData struct {
	Secret string
	Error  string
}

// loginLinkPage shows a button that uses the link: a GET never spends it,
// so that mail scanners and link previews do not.
func (s *Server) loginLinkPage(w http.ResponseWriter, r *http.Request, _ *aegir.User) error {
	return s.render(w, r, nil, http.StatusOK, "loginlink", "Log in with a link", linkPageData{Secret: r.PathValue("secret")})
}

// loginLinkSubmit spends a one-time link, logs its user in and sends them
// to their account page to set a password.
func (s *Server) loginLinkSubmit(w http.ResponseWriter, r *http.Request, _ *aegir.User) error {
	addr := clientAddress(r)
	if blocked, wait := s.limiter.blocked(addr, ""); blocked {
		return s.render(w, r, nil, http.StatusTooManyRequests, "loginlink", "Log in with a link",
			linkPageData{Error: fmt.Sprintf("Too many failed logins: try again in %d minutes.", int(wait.Minutes())+1)})
	}
	u, err := s.Service.UseLoginLink(r.Context(), hosting.Actor{Address: addr}, r.PathValue("secret"))
	if aegir.ErrorCode(err) == aegir.EUNAUTHORIZED {
		s.limiter.fail(addr, "")
		return s.render(w, r, nil, http.StatusUnauthorized, "loginlink", "Log in with a link", linkPageData{Error: err.Error()})
	} else if err != nil {
		return err
	}
	if err := s.startSession(r, u); err != nil {
		return err
	}
	s.flash(r, "You are logged in. Set a password to log in next time without a link.")
	return redirect(w, r, "/account")
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *aegir.User) error {
	if u, err := s.sessionUser(r); err == nil && u != nil {
		if err := s.Service.Audit(r.Context(), hosting.ActorOf(u, clientAddress(r)), "logout", hosting.KindUser+":"+u.Name, ""); err != nil {
			return err
		}
	}
	if err := s.endSession(r); err != nil {
		return err
	}
	return redirect(w, r, "/login")
}

// accountData is the account page's.
type accountData struct {
	Form    *form
	Account *aegir.User
	// Tokens are the user's API tokens; TokenForm makes one, and
	// NewSecret is the secret of the one just made, shown this once.
	Tokens    []*aegir.Token
	TokenForm *form
	NewSecret string
}

// accountData returns the account page's data: the form, and the user's
// own API tokens.
func (s *Server) accountData(r *http.Request, u *aegir.User, f, tf *form) (accountData, error) {
	if tf == nil {
		tf = newForm()
	}
	d := accountData{Form: f, Account: u, TokenForm: tf}
	if s.can(r, u, hosting.ActList, hosting.KindToken+":"+u.Name) {
		var err error
		if d.Tokens, err = s.Service.ListTokens(r.Context(), u.Name); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	f := newForm()
	f.Values["email"] = u.Email
	d, err := s.accountData(r, u, f, nil)
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "account", "Your account", d)
}

// accountTokenCreate makes an API token of the user's own and shows its
// secret on the page it answers with, once: it goes to no session, log or
// redirect.
func (s *Server) accountTokenCreate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, hosting.KindToken+":"+u.Name); err != nil {
		return err
	}
	f := newForm()
	f.Values["email"] = u.Email
	tf := formOf(r, "name")
	t, secret, err := s.Service.CreateTokenAs(r.Context(), hosting.ActorOf(u, clientAddress(r)), u.Name, tf.Values["name"])
	status := http.StatusCreated
	if err != nil {
		if status, err = tf.fail(err); err != nil {
			return err
		}
	}
	d, derr := s.accountData(r, u, f, tf)
	if derr != nil {
		return derr
	}
	if t != nil {
		d.NewSecret = secret
		d.TokenForm = newForm()
	}
	return s.render(w, r, u, status, "account", "Your account", d)
}

// accountTokenRevoke revokes an API token of the user's own, once
// confirmed (see taskCancel); a token of another user is not found.
func (s *Server) accountTokenRevoke(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActDelete, hosting.KindToken+":"+u.Name); err != nil {
		return err
	}
	id, err := tokenIDOf(r)
	if err != nil {
		return err
	}
	list, err := s.Service.ListTokens(r.Context(), u.Name)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(t *aegir.Token) bool { return t.ID == id })
	if i < 0 {
		return aegir.Errorf(aegir.ENOTFOUND, "you have no token %d", id)
	}
	if r.PostFormValue("confirmed") != "1" {
		return s.render(w, r, u, http.StatusOK, "confirm", fmt.Sprintf("Revoke token %s?", list[i].Name), confirmData{
			Question: fmt.Sprintf("Programs that use token %d (%s) will be refused from now on.", id, list[i].Name),
			Action:   fmt.Sprintf("/account/tokens/%d/revoke", id), Yes: "Revoke the token", No: "Keep it", Back: "/account#tokens"})
	}
	t, err := s.Service.RevokeTokenOf(r.Context(), hosting.ActorOf(u, clientAddress(r)), u.Name, id)
	if err != nil {
		return err
	}
	s.flash(r, fmt.Sprintf("Token %d (%s) is revoked.", t.ID, t.Name))
	return redirect(w, r, "/account#tokens")
}

// accountSubmit changes the user's own email and password. A new password
// needs the current one, unless none is set yet (after a login link); the
// session goes on under a new token.
func (s *Server) accountSubmit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	f := formOf(r, "email", "current", "password", "confirm")
	in := hosting.UserInput{}
	if f.Values["email"] != u.Email {
		email := f.Values["email"]
		in.Email = &email
	}
	password := r.PostFormValue("password")
	for _, k := range []string{"current", "password", "confirm"} {
		f.Values[k] = ""
	}
	if password != "" {
		switch {
		case password != r.PostFormValue("confirm"):
			f.Errors["confirm"] = "does not match the new password"
		case u.PasswordHash != "" && !hosting.VerifyPassword(r.PostFormValue("current"), u.PasswordHash):
			f.Errors["current"] = "is not your current password"
		default:
			in.Password = &password
		}
		if len(f.Errors) > 0 {
			d, err := s.accountData(r, u, f, nil)
			if err != nil {
				return err
			}
			return s.render(w, r, u, http.StatusBadRequest, "account", "Your account", d)
		}
	}
	if err := s.authorize(r.Context(), u, hosting.ActUpdate, hosting.KindUser+":"+u.Name); err != nil {
		return err
	}
	updated, err := s.Service.UpdateUser(r.Context(), hosting.ActorOf(u, clientAddress(r)), u.Name, in)
	if err != nil {
		status, err := f.fail(err)
		if err != nil {
			return err
		}
		d, err := s.accountData(r, u, f, nil)
		if err != nil {
			return err
		}
		return s.render(w, r, u, status, "account", "Your account", d)
	}
	if err := s.startSession(r, updated); err != nil {
		return err
	}
	s.flash(r, "Your account is saved.")
	return redirect(w, r, "/account")
}
