package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

// TestProjectWebhookQueuesTheBranchsDeploy posts pushes to a project's
// webhook: signed GitHub and GitLab style pushes to dev's branch queue
// dev's deploy-code as the webhook; a bad or missing signature is 401, an
// unknown project 404 whatever the signature, an oversized body 400, a tag
// queues nothing. The project's page in the API shows the secret to the
// administrator and hides the project from another client's user.
func TestProjectWebhookQueuesTheBranchsDeploy(t *testing.T) {
	t.Parallel()
	projects := contextfile.NewProjects(aegir.Paths{Home: filepath.Join(t.TempDir(), "aegir")})
	secret := strings.Repeat("s3cr3t", 8)
	must(t, projects.Put(&aegir.Project{Name: "shop", GitURL: "file:///srv/git/shop.git", BaseDomain: "shop.example.com",
		Client: "acme", WebhookSecret: secret, Environments: map[string]*aegir.Environment{
			"dev":  {GitRef: "main", Site: "dev.shop.example.com"},
			"live": {GitRef: "release", Site: "live.shop.example.com"},
		}}))
	forEachStore(t, func(t *testing.T, b *bundle) {
		b.srv.Projects = projects
		b.seed(t)
		b.do(t, "POST", "/api/clients", map[string]any{"name": "acme"}).want(t, 201)
		b.do(t, "POST", "/api/clients", map[string]any{"name": "other"}).want(t, 201)
		for _, env := range []string{"dev", "live"} {
			uri := env + ".shop.example.com"
			b.do(t, "POST", "/api/sites", map[string]any{"uri": uri, "platform": "platform_wp", "client": "acme"}).want(t, 201)
			b.setStatus(t, uri, aegir.SiteEnabled)
		}
		tasksBefore := countTasks(t, b, aegir.TaskDeployCode)

		push := `{"ref":"refs/heads/main","after":"0123456789abcdef"}`
		sign := func(body, key string) string {
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write([]byte(body))
			return "sha256=" + hex.EncodeToString(mac.Sum(nil))
		}
		hook := func(project, body string, headers map[string]string) answer {
			return b.doWith(t, "POST", "/api/projects/"+project+"/webhook", body, headers)
		}
		a := hook("shop", push, map[string]string{"X-Hub-Signature-256": sign(push, secret)}).want(t, 202)
		if q, _ := a.body["queued"].([]any); len(q) != 1 {
			t.Fatalf("queued %s, want dev's deploy alone", a.raw)
		}
		// GitLab's style, while dev's deploy waits: accepted, not queued twice.
		if a := hook("shop", push, map[string]string{"X-Gitlab-Token": secret}).want(t, 202); !strings.Contains(a.raw, "queued already") {
			t.Errorf("a second push while the deploy waits: %s", a.raw)
		}
		if got := countTasks(t, b, aegir.TaskDeployCode); got != tasksBefore+1 {
			t.Fatalf("%d deploy-code tasks, want %d", got, tasksBefore+1)
		}
		task := lastTask(t, b)
		if task.Object != "dev.shop.example.com" || task.Args["git_ref"] != "main" || task.Creator != "webhook:shop" {
			t.Errorf("queued %+v", task)
		}

		hook("shop", push, map[string]string{"X-Hub-Signature-256": sign(push, "wrong")}).wantError(t, 401, "unauthorized", "")
		hook("shop", push, map[string]string{"X-Hub-Signature-256": "sha256=zz"}).wantError(t, 401, "unauthorized", "")
		hook("shop", push, map[string]string{"X-Gitlab-Token": secret + "x"}).wantError(t, 401, "unauthorized", "")
		hook("shop", push, nil).wantError(t, 401, "unauthorized", "")
		// An unknown project is 404, signed right or not.
		hook("nosuch", push, map[string]string{"X-Hub-Signature-256": sign(push, secret)}).wantError(t, 404, "not_found", "")
		hook("Bad..Name", push, nil).wantError(t, 404, "not_found", "")
		big := `{"ref":"refs/heads/main","pad":"` + strings.Repeat("x", maxWebhookBody) + `"}`
		hook("shop", big, map[string]string{"X-Hub-Signature-256": sign(big, secret)}).wantError(t, 400, "invalid", "body")
		tag := `{"ref":"refs/tags/v1"}`
		if a := hook("shop", tag, map[string]string{"X-Hub-Signature-256": sign(tag, secret)}).want(t, 200); !strings.Contains(a.raw, "not a branch") {
			t.Errorf("a tag push: %s", a.raw)
		}
		if got := countTasks(t, b, aegir.TaskDeployCode); got != tasksBefore+1 {
			t.Errorf("refused pushes queued tasks: %d", got-tasksBefore-1)
		}

		a = b.do(t, "GET", "/api/projects/shop", nil).want(t, 200)
		p := a.obj(t, "project")
		if p["webhook_secret"] != secret || p["webhook_url"] != "/api/projects/shop/webhook" {
			t.Errorf("the administrator's view of the project: %s", a.raw)
		}
		if envs, _ := p["environments"].([]any); len(envs) != 2 {
			t.Errorf("environments: %s", a.raw)
		}
		b.do(t, "GET", "/api/projects/nosuch", nil).wantError(t, 404, "not_found", "")
		// An administrator records a project; bad input names the field.
		// (The project files are shared by the two stores' subtests.)
		blog := "blog" + filepath.Base(t.Name())
		a = b.do(t, "POST", "/api/projects", map[string]any{"name": blog, "git_url": "https://git.example.com/blog.git", "client": "acme"}).want(t, 201)
		if p := a.obj(t, "project"); len(p["webhook_secret"].(string)) != 48 || p["base_domain"] != blog+".localhost" {
			t.Errorf("a new project: %s", a.raw)
		}
		b.do(t, "POST", "/api/projects", map[string]any{"name": blog, "git_url": "https://git.example.com/blog.git"}).wantError(t, 409, "conflict", "")
		b.do(t, "POST", "/api/projects", map[string]any{"name": "x", "git_url": "--upload-pack=evil"}).wantError(t, 400, "invalid", "git_url")
		b.do(t, "POST", "/api/projects", map[string]any{"name": "Bad-Name", "git_url": "https://git.example.com/x.git"}).wantError(t, 400, "invalid", "name")
		b.do(t, "POST", "/api/projects", map[string]any{"name": "y", "git_url": "https://git.example.com/y.git", "client": "nobody"}).wantError(t, 400, "invalid", "client")
		b.do(t, "POST", "/api/projects", map[string]any{"name": "z", "git_url": "https://git.example.com/z.git", "secret": "x"}).wantError(t, 400, "invalid", "secret")
		// Another client's user sees no project at all.
		b.do(t, "POST", "/api/users", map[string]any{"name": "bob", "email": "bob@other.example", "role": "client", "clients": []string{"other"}, "password": "correct horse battery"}).want(t, 201)
		tok := b.do(t, "POST", "/api/users/bob/tokens", map[string]any{"name": "t"}).want(t, 201)
		secretBob, _ := tok.body["secret"].(string)
		b.doWith(t, "GET", "/api/projects/shop", nil, map[string]string{"Authorization": "Bearer " + secretBob}).wantError(t, 404, "not_found", "")
		if a := b.doWith(t, "GET", "/api/projects", nil, map[string]string{"Authorization": "Bearer " + secretBob}).want(t, 200); strings.Contains(a.raw, secret) {
			t.Errorf("another client's user sees the secret: %s", a.raw)
		}
	})
}

func countTasks(t *testing.T, b *bundle, typ string) int {
	t.Helper()
	tasks, _, err := b.store.ListTasks(t.Context(), aegir.TaskFilter{Type: typ, PerPage: 100})
	must(t, err)
	return len(tasks)
}

func lastTask(t *testing.T, b *bundle) *aegir.Task {
	t.Helper()
	tasks, _, err := b.store.ListTasks(t.Context(), aegir.TaskFilter{PerPage: 1})
	must(t, err)
	if len(tasks) == 0 {
		t.Fatal("no task")
	}
	return tasks[0]
}

// TestProjectPageDeploysAndAsksBeforeSyncingIntoProtected: the owning
// client's user sees the project's page with its environments and webhook
// secret, another client's user gets 404; the deploy form queues the
// environment's deploy-code at the ref given; a sync into a protected
// environment asks first, and once confirmed queues it with force.
func TestProjectPageDeploysAndAsksBeforeSyncingIntoProtected(t *testing.T) {
	t.Parallel()
	projects := contextfile.NewProjects(aegir.Paths{Home: filepath.Join(t.TempDir(), "aegir")})
	secret := strings.Repeat("k3y", 16)
	must(t, projects.Put(&aegir.Project{Name: "shop", GitURL: "file:///srv/git/shop.git", BaseDomain: "example",
		Client: "acme", WebhookSecret: secret, Environments: map[string]*aegir.Environment{
			"a": {GitRef: "release", Site: "a.example"},
			"c": {GitRef: "main", Site: "c.example"},
		}}))
	forEachStore(t, func(t *testing.T, b *bundle) {
		w := newWorld(t, b)
		b.srv.Projects = projects
		b.do(t, "POST", "/api/sites", map[string]any{"uri": "c.example", "platform": "platform_a", "client": "acme"}).want(t, 201)
		for {
			task, err := b.store.ClaimTask(t.Context(), "test/0")
			must(t, err)
			if task == nil {
				break
			}
			must(t, b.store.FinishTask(t.Context(), task.ID, aegir.StatusSuccess, nil))
		}
		b.setStatus(t, "c.example", aegir.SiteEnabled)
		live, err := b.store.GetSite(t.Context(), "a.example")
		must(t, err)
		live.Site.Project, live.Site.Environment, live.Site.Protected = "shop", "a", true
		must(t, b.store.UpdateSite(t.Context(), live))

		ann, bob := w.login(t, "ann"), w.login(t, "bob")
		status, page, _ := ann.get("/projects/shop")
		if status != 200 || !strings.Contains(page, secret) || !strings.Contains(page, `id="env-a"`) || !strings.Contains(page, "protected") {
			t.Fatalf("ann's project page: %d\n%.2000s", status, page)
		}
		if status, _, _ := bob.get("/projects/shop"); status != 404 {
			t.Errorf("bob's project page: %d", status)
		}

		status, _, loc := ann.post("/projects/shop/deploy", url.Values{"environment": {"c"}, "git_ref": {"feature-x"}})
		task := taskAt(t, b, status, loc)
		if task.Type != aegir.TaskDeployCode || task.Object != "c.example" || task.Args["git_ref"] != "feature-x" || task.Creator != "ann" {
			t.Errorf("the deploy form queued %+v", task)
		}
		if status, _, _ := ann.post("/projects/shop/deploy", url.Values{"environment": {"nosuch"}}); status != 400 {
			t.Errorf("a deploy of no environment: %d", status)
		}

		// Through the API, no sync into another client's site, nor itself.
		w.as(t, "ann", "POST", "/api/sites/c.example/tasks", map[string]any{"type": "sync", "args": map[string]any{"target": "b.example"}}).wantError(t, 400, "invalid", "args.target")
		w.as(t, "ann", "POST", "/api/sites/c.example/tasks", map[string]any{"type": "sync", "args": map[string]any{"target": "c.example"}}).wantError(t, 400, "invalid", "args.target")
		w.as(t, "ann", "POST", "/api/sites/c.example/tasks", map[string]any{"type": "deploy-code", "args": map[string]any{}}).wantError(t, 400, "invalid", "args.git_ref")

		status, page, _ = ann.post("/projects/shop/sync", url.Values{"from": {"c"}, "to": {"a"}, "what": {"db"}})
		if status != 200 || !strings.Contains(page, "is protected") || !strings.Contains(page, `name="confirmed"`) {
			t.Fatalf("a sync into protected a did not ask: %d\n%.1500s", status, page)
		}
		status, _, loc = ann.post("/projects/shop/sync?from=c&to=a&what=db", url.Values{"confirmed": {"1"}})
		task = taskAt(t, b, status, loc)
		if task.Type != aegir.TaskSync || task.Object != "c.example" || task.Args["target"] != "a.example" || task.Args["force"] != "true" || task.Args["db"] != "1" {
			t.Errorf("the confirmed sync queued %+v", task)
		}
	})
}

// taskAt returns the task a form's redirect goes to.
func taskAt(t *testing.T, b *bundle, status int, loc string) *aegir.Task {
	t.Helper()
	id, ok := strings.CutPrefix(loc, "/tasks/")
	if status != http.StatusSeeOther || !ok {
		t.Fatalf("the form answered %d to %q", status, loc)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	must(t, err)
	task, err := b.store.GetTask(t.Context(), n)
	must(t, err)
	return task
}
