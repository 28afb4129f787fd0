package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// Projects: the API's view of them (a project and its environments; the
// webhook URL and secret to administrators and the owning client's
// users), and the push webhook that queues an environment's deploy-code.
// Projects are made with `aegir project create` and `aegir env create`.

// maxWebhookBody bounds a push's payload: GitHub caps theirs at 25 MB, but
// a branch and a commit are all that is read, near the top.
const maxWebhookBody = 1 << 20

// projectView is a project as the API shows it.
type projectView struct {
	Name          string            `json:"name"`
	GitURL        string            `json:"git_url"`
	BaseDomain    string            `json:"base_domain"`
	Profile       string            `json:"profile,omitempty"`
	Client        string            `json:"client,omitempty"`
	WebhookURL    string            `json:"webhook_url"`
	WebhookSecret string            `json:"webhook_secret,omitempty"`
	Environments  []environmentView `json:"environments"`
}

// environmentView is one environment: its ref, its site, the platform the
// site is on and the commit that platform was built from.
type environmentView struct {
	Name      string `json:"name"`
	GitRef    string `json:"git_ref"`
	Site      string `json:"site"`
	Platform  string `json:"platform,omitempty"`
	Commit    string `json:"commit,omitempty"`
	Protected bool   `json:"protected"`
}

// mayReadProject: administrators, and the users of the project's client.
func mayReadProject(u *aegir.User, p *aegir.Project) bool {
	return u.Role == aegir.RoleAdministrator || p.Client != "" && slices.Contains(u.Clients, p.Client)
}

// project returns the named project the user may read; ENOTFOUND
// otherwise, so that a project's existence stays hidden.
func (s *Server) project(r *http.Request, u *aegir.User) (*aegir.Project, error) {
	name := r.PathValue("name")
	if s.Projects == nil {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no project %s", name)
	}
	if err := aegir.ValidateProjectName("name", name); err != nil {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no project %s", name)
	}
	p, err := s.Projects.Get(name)
	if err != nil {
		return nil, err
	}
	if u != nil && !mayReadProject(u, p) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no project %s", name)
	}
	return p, nil
}

// view makes the API's view of a project, with its environments' current
// platforms and commits from the front end's records.
func (s *Server) view(r *http.Request, p *aegir.Project) projectView {
	v := projectView{Name: p.Name, GitURL: p.GitURL, BaseDomain: p.BaseDomain, Profile: p.Profile, Client: p.Client,
		WebhookURL: "/api/projects/" + p.Name + "/webhook", WebhookSecret: p.WebhookSecret, Environments: []environmentView{}}
	for name, e := range p.Environments {
		ev := environmentView{Name: name, GitRef: e.GitRef, Site: e.Site}
		if site, err := s.Store.GetSite(r.Context(), e.Site); err == nil {
			ev.Platform, ev.Protected = site.Site.Platform, site.Site.Protected
			if _, sha, ok := strings.Cut(strings.TrimPrefix(ev.Platform, "@platform_"+p.Name+"_"+name), "_"); ok {
				ev.Commit = sha
			}
		}
		v.Environments = append(v.Environments, ev)
	}
	sort.Slice(v.Environments, func(i, j int) bool { return v.Environments[i].Name < v.Environments[j].Name })
	return v
}

// listProjects answers GET /api/projects: those the user may read.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	out := []projectView{}
	if s.Projects != nil {
		names, err := s.Projects.List()
		if err != nil {
			return err
		}
		for _, name := range names {
			p, err := s.Projects.Get(name)
			if err != nil {
				return err
			}
			if mayReadProject(u, p) {
				out = append(out, s.view(r, p))
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out})
	return nil
}

// createProject answers POST /api/projects: an administrator records a
// project (name, git_url, base_domain, profile, client); its secret is
// made here and shown in the answer. Its environments are made with
// `aegir env create`, which builds and installs them.
func (s *Server) createProject(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if u.Role != aegir.RoleAdministrator {
		return aegir.Errorf(eForbidden, "only administrators create projects")
	}
	if s.Projects == nil {
		return aegir.Errorf(aegir.EINTERNAL, "this front end keeps no projects")
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	p := &aegir.Project{}
	for key, to := range map[string]*string{"name": &p.Name, "git_url": &p.GitURL, "base_domain": &p.BaseDomain, "profile": &p.Profile, "client": &p.Client} {
		if *to, _, err = b.takeString(key); err != nil {
			return err
		}
	}
	for key := range b {
		return aegir.FieldErrorf(key, "is not a property of a project")
	}
	if p.BaseDomain == "" && aegir.ValidateProjectName("name", p.Name) == nil {
		p.BaseDomain = p.Name + ".localhost"
	}
	if p.Client != "" {
		if _, err := s.Store.GetClient(r.Context(), p.Client); aegir.ErrorCode(err) == aegir.ENOTFOUND {
			return aegir.FieldErrorf("client", "no client %q", p.Client)
		} else if err != nil {
			return err
		}
	}
	if err := aegir.CreateProject(s.Projects, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"project": s.view(r, p)})
	return nil
}

// getProject answers GET /api/projects/{name}.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	p, err := s.project(r, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"project": s.view(r, p)})
	return nil
}

// projectWebhook answers POST /api/projects/{name}/webhook, a push from
// the repository's host, signed with the project's secret: GitHub's
// X-Hub-Signature-256 (HMAC-SHA256 of the body) or GitLab's X-Gitlab-Token
// (the secret itself), compared in constant time. A push to a branch
// queues the deploy-code of each environment that tracks it, as the
// project's client ("webhook:<project>" in the task and the audit). An
// unknown project is 404 before any signature is looked at; a bad
// signature 401.
func (s *Server) projectWebhook(w http.ResponseWriter, r *http.Request, _ *aegir.User) error {
	p, err := s.project(r, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return aegir.FieldErrorf("body", "is larger than %d bytes", maxWebhookBody)
	} else if err != nil {
		return aegir.FieldErrorf("body", "%v", err)
	}
	if !signed(r.Header, body, p.WebhookSecret) {
		return aegir.Errorf(aegir.EUNAUTHORIZED, "the push's signature does not match the project's secret")
	}
	var push struct {
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal(body, &push); err != nil {
		return aegir.FieldErrorf("body", "is not a push event: %v", err)
	}
	branch, ok := strings.CutPrefix(push.Ref, "refs/heads/")
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"queued": []int64{}, "message": "not a branch: nothing to deploy"})
		return nil
	}
	names := make([]string, 0, len(p.Environments))
	for name := range p.Environments {
		names = append(names, name)
	}
	sort.Strings(names)
	queued, skipped := []int64{}, []string{}
	for _, name := range names {
		e := p.Environments[name]
		if e.GitRef != branch {
			continue
		}
		site, err := s.Store.GetSite(r.Context(), e.Site)
		if err != nil {
			return err
		}
		// The webhook acts for the project's client: it deploys only that
		// client's sites (or, for a project of no client, no client's).
		if site.Client != p.Client {
			return aegir.Errorf(eForbidden, "@%s is not a site of the project's client", e.Site)
		}
		t, err := s.Service.CreateTask(r.Context(), hosting.TaskRequest{
			ObjectType: aegir.SiteContext, Object: e.Site, Type: aegir.TaskDeployCode, Args: map[string]string{"git_ref": branch},
		}, "webhook:"+p.Name)
		if aegir.ErrorCode(err) == aegir.ECONFLICT {
			// A deploy of the site already waits (an earlier push): it will
			// build the branch as it is then.
			skipped = append(skipped, err.Error())
			continue
		} else if err != nil {
			return err
		}
		queued = append(queued, t.ID)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": queued, "skipped": skipped})
	return nil
}

// signed checks a push's signature header against the secret.
func signed(h http.Header, body []byte, secret string) bool {
	if sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256="); ok {
		got, err := hex.DecodeString(sig)
		if err != nil {
			return false
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		return hmac.Equal(got, mac.Sum(nil))
	}
	if token := h.Get("X-Gitlab-Token"); token != "" {
		return subtle.ConstantTimeCompare([]byte(token), []byte(secret)) == 1
	}
	return false
}

// --- the project's page ---

// projectPageData is the project's page: its view, and whether the user
// may see the webhook secret (always, when they may see the page).
type projectPageData struct {
	Project projectView
}

// projectPage shows a project: its environments with their refs,
// platforms and commits, a deploy form and a sync form, and the webhook
// URL and secret.
func (s *Server) projectPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	p, err := s.project(r, u)
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "project", "Project "+p.Name, projectPageData{Project: s.view(r, p)})
}

// environment returns the named environment of p, or a field error.
func environment(p *aegir.Project, field, name string) (*aegir.Environment, error) {
	e := p.Environments[name]
	if e == nil {
		return nil, aegir.FieldErrorf(field, "project %s has no environment %q", p.Name, name)
	}
	return e, nil
}

// projectDeploy queues the deploy-code of an environment's site at a ref,
// as the user (who must be allowed it on that site).
func (s *Server) projectDeploy(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	p, err := s.project(r, u)
	if err != nil {
		return err
	}
	e, err := environment(p, "environment", r.PostFormValue("environment"))
	if err != nil {
		return err
	}
	ref := r.PostFormValue("git_ref")
	if ref == "" {
		ref = e.GitRef
	}
	return s.queueProjectTask(w, r, u, e.Site, aegir.TaskDeployCode, map[string]string{"git_ref": ref})
}

// projectSync queues a sync from one environment into another; into a
// protected one it first asks, and then passes force.
func (s *Server) projectSync(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	p, err := s.project(r, u)
	if err != nil {
		return err
	}
	fromName, toName, what := r.FormValue("from"), r.FormValue("to"), r.FormValue("what")
	from, err := environment(p, "from", fromName)
	if err != nil {
		return err
	}
	to, err := environment(p, "to", toName)
	if err != nil {
		return err
	}
	args := map[string]string{"target": to.Site}
	switch what {
	case "db", "files":
		args[what] = "1"
	case "", "both":
	default:
		return aegir.FieldErrorf("what", "%q is not db, files or both", what)
	}
	target, err := s.Store.GetSite(r.Context(), to.Site)
	if err != nil {
		return err
	}
	if target.Site.Protected {
		if r.PostFormValue("confirmed") != "1" {
			q := url.Values{"from": {fromName}, "to": {toName}, "what": {what}}
			return s.render(w, r, u, http.StatusOK, "confirm", "Sync into "+toName+"?", confirmData{
				Question: fmt.Sprintf("%s (@%s) is protected: its data will be replaced by %s's, after a backup.", toName, to.Site, fromName),
				Action:   "/projects/" + p.Name + "/sync?" + q.Encode(), Yes: "Replace " + toName + "'s data", No: "Keep it", Back: "/projects/" + p.Name})
		}
		args["force"] = "1"
	}
	return s.queueProjectTask(w, r, u, from.Site, aegir.TaskSync, args)
}

// queueProjectTask queues a task on a site for the user, after the same
// check a task button makes, and goes to the task's page.
func (s *Server) queueProjectTask(w http.ResponseWriter, r *http.Request, u *aegir.User, site, typ string, args map[string]string) error {
	if err := s.authorize(r.Context(), u, hosting.ActTask+typ, hosting.KindSite+":"+site); err != nil {
		return err
	}
	t, err := s.Service.CreateTask(r.Context(), hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: site, Type: typ, Args: args}, u.Name)
	if err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/tasks/%d", t.ID))
}
