package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// userJSON shows a user; the password hash never leaves the server.
func userJSON(u *aegir.User) map[string]any {
	clients := u.Clients
	if clients == nil {
		clients = []string{}
	}
	return map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "role": u.Role, "disabled": u.Disabled,
		"clients": clients, "created_at": u.CreatedAt, "has_password": u.PasswordHash != ""}
}

// userInput reads a user: name, email, role, clients, password, disabled.
func userInput(b body) (hosting.UserInput, error) {
	var in hosting.UserInput
	var err error
	if in.Name, _, err = b.takeString("name"); err != nil {
		return in, err
	}
	for _, f := range []struct {
		key string
		to  **string
	}{{"email", &in.Email}, {"role", &in.Role}, {"password", &in.Password}} {
		if v, ok, err := b.takeString(f.key); err != nil {
			return in, err
		} else if ok {
			*f.to = &v
		}
	}
	if in.Clients, err = b.takeStrings("clients"); err != nil {
		return in, err
	}
	if in.Disabled, err = b.takeBool("disabled"); err != nil {
		return in, err
	}
	for k := range b {
		if k == "id" || k == "created_at" || k == "has_password" {
			return in, aegir.FieldErrorf(k, "is set by aegir and cannot be changed")
		}
		return in, aegir.FieldErrorf(k, "is not a field of a user (name, email, role, clients, password, disabled)")
	}
	return in, nil
}

// checkUserInput applies the rules of giving roles: setting a role, the
// clients or the disabled flag of a user is managing users of that role
// ("grant" on "role:NAME"), so an account manager manages client users
// and account managers only, and a client user changes only their own
// email and password. The clients must be ones the user may use.
func (s *Server) checkUserInput(ctx context.Context, u *aegir.User, in hosting.UserInput, old *aegir.User) error {
	role := aegir.RoleClient
	if old != nil {
		role = old.Role
	}
	if in.Role != nil {
		role = *in.Role
	}
	if in.Role != nil || in.Clients != nil || in.Disabled != nil || old == nil {
		if err := s.authorize(ctx, u, hosting.ActGrant, hosting.KindRole+":"+role); err != nil {
			return err
		}
	}
	if in.Clients != nil {
		for _, c := range *in.Clients {
			if err := s.Service.CheckUse(ctx, u, hosting.KindClient, c, "clients"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "users"); err != nil {
		return err
	}
	page, perPage, err := pageParams(r)
	if err != nil {
		return err
	}
	scope, _ := hosting.ListScope(u, hosting.KindUser)
	list, total, err := s.Service.ListUsers(r.Context(), aegir.ListFilter{Query: r.FormValue("q"), Page: page, PerPage: perPage, Scope: scope})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": showAll(list, userJSON), "total": total, "page": page, "per_page": perPage})
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindUser+":"+name); err != nil {
		return err
	}
	found, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userJSON(found)})
	return nil
}

// me shows the user of the request.
func (s *Server) me(w http.ResponseWriter, _ *http.Request, u *aegir.User) error {
	writeJSON(w, http.StatusOK, map[string]any{"user": userJSON(u)})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "users"); err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	in, err := userInput(b)
	if err != nil {
		return err
	}
	if err := s.checkUserInput(r.Context(), u, in, nil); err != nil {
		return err
	}
	created, err := s.Service.CreateUser(r.Context(), callerOf(r, u).a, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": userJSON(created)})
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActUpdate, hosting.KindUser+":"+name); err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	current, hasCurrent, err := b.takeString("current_password")
	if err != nil {
		return err
	}
	in, err := userInput(b)
	if err != nil {
		return err
	}
	old, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	if err := s.checkUserInput(r.Context(), u, in, old); err != nil {
		return err
	}
	// A user changing their own password proves they know the one they
	// have, as the account page asks: a stolen session or token alone must
	// not lock the owner out. (An administrator resetting another user's
	// password does not know it.)
	if in.Password != nil && old.Name == u.Name && old.PasswordHash != "" {
		if !hasCurrent || !hosting.VerifyPassword(current, old.PasswordHash) {
			return aegir.FieldErrorf("current_password", "must be your current password to change it")
		}
	} else if hasCurrent {
		return aegir.FieldErrorf("current_password", "is only taken with a change of your own password")
	}
	updated, err := s.Service.UpdateUser(r.Context(), callerOf(r, u).a, name, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userJSON(updated)})
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActDelete, hosting.KindUser+":"+name); err != nil {
		return err
	}
	if err := s.Service.DeleteUser(r.Context(), callerOf(r, u).a, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- API tokens ---

// tokenJSON shows a token; its secret is never stored, and its hash never
// leaves the server.
func tokenJSON(t *aegir.Token) map[string]any {
	return map[string]any{"id": t.ID, "name": t.Name, "created_at": t.CreatedAt, "last_used": t.LastUsed, "revoked_at": t.RevokedAt}
}

// tokenOwner checks that u may do action on the API tokens of the user the
// path names: everyone on their own, administrators on anyone's (see
// hosting.KindToken). A user u may not see is ENOTFOUND.
func (s *Server) tokenOwner(r *http.Request, u *aegir.User, action string) (string, error) {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindUser+":"+name); err != nil {
		return "", err
	}
	if err := s.authorize(r.Context(), u, action, hosting.KindToken+":"+name); err != nil {
		return "", err
	}
	return name, nil
}

// listTokens answers the tokens of a user, revoked ones included, newest
// first.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name, err := s.tokenOwner(r, u, hosting.ActList)
	if err != nil {
		return err
	}
	list, err := s.Service.ListTokens(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": showAll(list, tokenJSON)})
	return nil
}

// createToken makes a token {"name": ...} and answers it with its secret,
// which no later answer shows again.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name, err := s.tokenOwner(r, u, hosting.ActCreate)
	if err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	tokenName, _, err := b.takeString("name")
	if err != nil {
		return err
	}
	for k := range b {
		return aegir.FieldErrorf(k, "is not a field of a token request (name)")
	}
	t, secret, err := s.Service.CreateTokenAs(r.Context(), callerOf(r, u).a, name, tokenName)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": tokenJSON(t), "secret": secret})
	return nil
}

// tokenIDOf reads the {id} of a token's path.
func tokenIDOf(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, aegir.Errorf(aegir.ENOTFOUND, "token %q does not exist", r.PathValue("id"))
	}
	return id, nil
}

// revokeToken revokes a token of the user and answers it.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name, err := s.tokenOwner(r, u, hosting.ActDelete)
	if err != nil {
		return err
	}
	id, err := tokenIDOf(r)
	if err != nil {
		return err
	}
	t, err := s.Service.RevokeTokenOf(r.Context(), callerOf(r, u).a, name, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tokenJSON(t)})
	return nil
}

// loginLinkPath is where a login link points, under the front end's URL.
const loginLinkPath = "/login/link/"

// LoginLinkURL returns the URL of a login link secret on the front end at
// base (such as "https://aegir.example.com").
func LoginLinkURL(base, secret string) string {
	return base + loginLinkPath + url.PathEscape(secret)
}

// baseURL is the front end's URL as the request reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// newLoginLink makes a one-time login link for a user: sent by mail when
// the front end can send mail and the user has an address (sent is the
// address), else returned for the one who asked to pass on.
func (s *Server) newLoginLink(r *http.Request, u *aegir.User, name string) (link, sent string, expires time.Time, err error) {
	target, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return "", "", time.Time{}, err
	}
	secret, l, err := s.Service.NewLoginLink(r.Context(), callerOf(r, u).a, name, 0)
	if err != nil {
		return "", "", time.Time{}, err
	}
	link = LoginLinkURL(baseURL(r), secret)
	if s.SendMail != nil && target.Email != "" {
		body := fmt.Sprintf("Hello %s,\n\nuse this link to log in to aegir and set your password (it works once, until %s):\n\n%s\n",
			target.Name, l.ExpiresAt.UTC().Format(time.RFC1123), link)
		if err := s.SendMail(r.Context(), target.Email, "Your aegir login link", body); err != nil {
			return "", "", time.Time{}, fmt.Errorf("sending the login link: %w", err)
		}
		return "", target.Email, l.ExpiresAt, nil
	}
	return link, "", l.ExpiresAt, nil
}

// createLoginLink answers {"url": ..., "expires_at": ...}, or {"sent_to":
// address} when the link went by mail.
func (s *Server) createLoginLink(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActUpdate, hosting.KindUser+":"+name); err != nil {
		return err
	}
	target, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActGrant, hosting.KindRole+":"+target.Role); err != nil {
		return err
	}
	link, sent, expires, err := s.newLoginLink(r, u, name)
	if err != nil {
		return err
	}
	if sent != "" {
		writeJSON(w, http.StatusCreated, map[string]any{"sent_to": sent, "expires_at": expires})
		return nil
	}
	writeJSON(w, http.StatusCreated, map[string]any{"url": link, "expires_at": expires})
	return nil
}

// --- pages ---

type usersData struct {
	List      listPage
	Users     []*aegir.User
	Q         map[string]string
	CanCreate bool
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "users"); err != nil {
		return err
	}
	scope, _ := hosting.ListScope(u, hosting.KindUser)
	list, total, err := s.Service.ListUsers(r.Context(), aegir.ListFilter{Query: strings.TrimSpace(r.FormValue("q")), Page: pageNumber(r), PerPage: uiPerPage, Scope: scope})
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "users", "Users", usersData{List: newListPage(r, total, uiPerPage, "q"), Users: list,
		Q: queryMap(r, "q"), CanCreate: s.can(r, u, hosting.ActCreate, "users")})
}

type userPageData struct {
	Account    *aegir.User
	Form       *form
	Options    map[string][]option
	CanEdit    bool
	CanLink    bool
	Tokens     []*aegir.Token
	Self       bool
	HasClients bool
}

func (s *Server) userPageData(r *http.Request, u *aegir.User, target *aegir.User, f *form) (userPageData, error) {
	d := userPageData{Account: target, Form: f, Options: map[string][]option{"role": s.roleChoices(r, u)}, Self: target.ID == u.ID}
	d.CanEdit = s.can(r, u, hosting.ActUpdate, hosting.KindUser+":"+target.Name) && s.can(r, u, hosting.ActGrant, hosting.KindRole+":"+target.Role)
	d.CanLink = d.CanEdit && !target.Disabled
	if u.Role == aegir.RoleAdministrator {
		var err error
		if d.Tokens, err = s.Store.ListTokens(r.Context(), target.ID); err != nil {
			return d, err
		}
	}
	if !slices.ContainsFunc(d.Options["role"], func(o option) bool { return o.Value == target.Role }) {
		d.Options["role"] = append(d.Options["role"], option{target.Role, strings.ReplaceAll(target.Role, "_", " ")})
	}
	return d, nil
}

// userPage shows a user and, to those who manage them, a form to change
// their email, role, clients and state, and a login link button.
func (s *Server) userPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindUser+":"+name); err != nil {
		return err
	}
	target, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["email"], f.Values["role"], f.Values["clients"] = target.Email, target.Role, strings.Join(target.Clients, ", ")
	if target.Disabled {
		f.Values["disabled"] = "1"
	}
	d, err := s.userPageData(r, u, target, f)
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "user", "User "+target.Name, d)
}

func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActUpdate, hosting.KindUser+":"+name); err != nil {
		return err
	}
	target, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	f := formOf(r, "email", "role", "clients", "disabled")
	d, err := s.userPageData(r, u, target, f)
	if err != nil {
		return err
	}
	email, role, clients := f.Values["email"], f.Values["role"], splitList(f.Values["clients"])
	disabled := f.Values["disabled"] != ""
	in := hosting.UserInput{Email: &email}
	if role != target.Role {
		in.Role = &role
	}
	if !slices.Equal(clients, target.Clients) {
		in.Clients = &clients
	}
	if disabled != target.Disabled {
		in.Disabled = &disabled
	}
	if err := s.checkUserInput(r.Context(), u, in, target); err != nil {
		status, err := f.fail(err)
		if err != nil {
			return err
		}
		return s.render(w, r, u, status, "user", "User "+target.Name, d)
	}
	if _, err := s.Service.UpdateUser(r.Context(), hosting.ActorOf(u, clientAddress(r)), name, in); err != nil {
		status, err := f.fail(err)
		if err != nil {
			return err
		}
		return s.render(w, r, u, status, "user", "User "+target.Name, d)
	}
	s.flash(r, "User "+name+" is saved.")
	return redirect(w, r, "/users/"+name)
}

// userLoginLink makes a login link for another user (to reset their
// password): mailed when mail is set up, else shown once on their page.
func (s *Server) userLoginLink(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	name := r.PathValue("name")
	if err := s.authorize(r.Context(), u, hosting.ActUpdate, hosting.KindUser+":"+name); err != nil {
		return err
	}
	target, err := s.Service.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	if err := s.authorize(r.Context(), u, hosting.ActGrant, hosting.KindRole+":"+target.Role); err != nil {
		return err
	}
	link, sent, expires, err := s.newLoginLink(r, u, name)
	if err != nil {
		return err
	}
	if sent != "" {
		s.flash(r, "A login link was sent to "+sent+".")
	} else {
		s.flash(r, "One-time login link for "+name+" (valid until "+expires.Local().Format(time.DateTime)+"; it is shown only now): "+link)
	}
	return redirect(w, r, "/users/"+name)
}

// --- forms ---

// roleChoices lists the roles the user may give.
func (s *Server) roleChoices(r *http.Request, u *aegir.User) []option {
	var out []option
	for _, role := range hosting.Roles {
		if s.can(r, u, hosting.ActGrant, hosting.KindRole+":"+role) {
			out = append(out, option{role, strings.ReplaceAll(role, "_", " ")})
		}
	}
	return out
}

var userFields = []string{"name", "email", "role", "clients", "password"}

func (s *Server) userForm(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "users"); err != nil {
		return err
	}
	f := newForm()
	f.Values["role"] = aegir.RoleClient
	f.Values["clients"] = r.FormValue("clients") // from a client's page
	return s.renderForm(w, r, u, http.StatusOK, "userform", "Add a user", formData{Form: f, Options: map[string][]option{"role": s.roleChoices(r, u)}})
}

// userCreate adds a user; without a password, the page offers a login
// link to pass on (or mails it).
func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActCreate, "users"); err != nil {
		return err
	}
	f := formOf(r, userFields...)
	password := r.PostFormValue("password")
	f.Values["password"] = ""
	d := formData{Form: f, Options: map[string][]option{"role": s.roleChoices(r, u)}}
	role, email, clients := f.Values["role"], f.Values["email"], splitList(f.Values["clients"])
	in := hosting.UserInput{Name: f.Values["name"], Email: &email, Role: &role, Clients: &clients}
	if password != "" {
		in.Password = &password
	}
	if err := s.checkUserInput(r.Context(), u, in, nil); err != nil {
		return s.formFailed(w, r, u, err, "userform", "Add a user", d)
	}
	created, err := s.Service.CreateUser(r.Context(), hosting.ActorOf(u, clientAddress(r)), in)
	if err != nil {
		return s.formFailed(w, r, u, err, "userform", "Add a user", d)
	}
	s.flash(r, "User "+created.Name+" is added.")
	return redirect(w, r, "/users/"+created.Name)
}
