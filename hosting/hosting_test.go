package hosting_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/aegir-hosting/aegir/sqlite"
)

func wantCode(t *testing.T, err error, code, field string) {
	t.Helper()
	if got := aegir.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
	if field != "" {
		var e *aegir.Error
		if !errors.As(err, &e) || e.Field != field {
			t.Fatalf("error %v: does not name field %q", err, field)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSiteTaskAllowedFollowsAegirStates(t *testing.T) {
	t.Parallel()
	all := hosting.TaskTypes(aegir.SiteContext)
	tests := []struct {
		status        string
		deleteEnabled bool
		allowed       []string
	}{
		{aegir.SiteNotInstalled, false, []string{"delete", "import", "install"}},
		{aegir.SiteInstalling, false, []string{"delete", "import", "install"}},
		{aegir.SiteFailed, false, []string{"delete", "import", "install"}},
		{aegir.SiteDisabled, false, []string{"delete", "enable"}},
		{aegir.SiteDeleted, true, nil},
		{aegir.SiteEnabled, false, []string{"backup", "backup-delete", "backup-verify", "clone", "cron", "deploy-code", "disable", "flush-cache", "login-reset", "migrate", "restore", "sync", "update-db", "verify"}},
		{aegir.SiteEnabled, true, []string{"backup", "backup-delete", "backup-verify", "clone", "cron", "delete", "deploy-code", "disable", "flush-cache", "login-reset", "migrate", "restore", "sync", "update-db", "verify"}},
	}
	for _, tt := range tests {
		var got []string
		for _, typ := range all {
			err := hosting.SiteTaskAllowed(tt.status, typ, tt.deleteEnabled)
			if err == nil {
				got = append(got, typ)
			} else if aegir.ErrorCode(err) != aegir.ECONFLICT {
				t.Fatalf("%s on %q: %v is not a conflict", typ, tt.status, err)
			}
		}
		if !slices.Equal(got, tt.allowed) {
			t.Errorf("status %q (delete enabled %v): allowed %v, want %v", tt.status, tt.deleteEnabled, got, tt.allowed)
		}
	}
	err := hosting.SiteTaskAllowed(aegir.SiteEnabled, "delete", false)
	if err == nil || !strings.Contains(err.Error(), "disable it") {
		t.Fatalf("delete of an enabled site: %v", err)
	}
}

// TestTaskTypesFollowTheCatalog: the front end queues on each object type
// what the catalog says, and nothing the catalog keeps to the back end.
func TestTaskTypesFollowTheCatalog(t *testing.T) {
	t.Parallel()
	if got := hosting.TaskTypes(""); slices.Contains(got, aegir.TaskDeploy) {
		t.Errorf("the front end queues deploy, a back-end primitive: %v", got)
	}
	if got := hosting.TaskTypes(aegir.ServerContext); !slices.Equal(got, []string{"delete", "noop", "verify"}) {
		t.Errorf("server tasks %v", got)
	}
	if got := hosting.TaskTypes(aegir.PlatformContext); !slices.Equal(got, []string{"delete", "migrate-platform", "verify"}) {
		t.Errorf("platform tasks %v", got)
	}
}

// bundle is a service on a fresh SQLite store with server_master, a
// platform and an enabled site with one backup.
type bundle struct {
	store *sqlite.Store
	svc   *hosting.Service
}

func setup(t *testing.T) *bundle {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hosting.db"))
	must(t, err)
	t.Cleanup(func() { store.Close() })
	b := &bundle{store: store, svc: &hosting.Service{Store: store, StatLocal: anyRoot}}
	ctx := t.Context()
	_, _, err = b.svc.CreateServer(ctx, hosting.ServerInput{Name: "@server_master"}, hosting.Actor{Name: "test"})
	must(t, err)
	for _, p := range []string{"platform_a", "platform_b"} {
		_, _, err = b.svc.CreatePlatform(ctx, hosting.PlatformInput{Name: p, Props: map[string]string{"root": "/var/aegir/platforms/" + p}}, "test")
		must(t, err)
	}
	b.site(t, "live.example.com", aegir.SiteEnabled)
	must(t, store.AddBackup(ctx, &aegir.Backup{Site: "live.example.com", File: "/var/aegir/backups/live.example.com-20250101.000000.tar.gz"}))
	return b
}

// anyRoot answers for every path that it is a directory: the tests make
// platforms on roots that are not on this machine.
func anyRoot(string) (fs.FileInfo, error) { return os.Stat(os.TempDir()) }

// site creates a site record directly in the store with a status.
func (b *bundle) site(t *testing.T, uri, status string) {
	t.Helper()
	r := &aegir.SiteRecord{Name: uri, Site: aegir.Site{URI: uri, Platform: "@platform_a", DBServer: "@server_master"}, Status: status}
	must(t, b.store.CreateSite(t.Context(), r))
}

func TestCreateTaskChecksRequiredArgs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	site := func(typ string, args map[string]string) error {
		_, err := b.svc.CreateTask(t.Context(), hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: "@live.example.com", Type: typ, Args: args}, "test")
		return err
	}
	tests := []struct {
		typ   string
		args  map[string]string
		code  string
		field string
	}{
		{"migrate", nil, aegir.EINVALID, "args.platform"},
		{"migrate", map[string]string{"platform": "@platform_nope"}, aegir.EINVALID, "args.platform"},
		{"migrate", map[string]string{"platform": "@platform_a"}, aegir.EINVALID, "args.platform"}, // already there
		{"clone", nil, aegir.EINVALID, "args.new_uri"},
		{"clone", map[string]string{"new_uri": "Bad URI"}, aegir.EINVALID, "args.new_uri"},
		{"clone", map[string]string{"new_uri": "live.example.com"}, aegir.ECONFLICT, "args.new_uri"},
		{"restore", nil, aegir.EINVALID, "args.file"},
		{"restore", map[string]string{"file": "/etc/passwd"}, aegir.EINVALID, "args.file"},
		{"restore", map[string]string{"from": "local"}, aegir.EINVALID, "args.file"},
		{"restore", map[string]string{"from": "tape"}, aegir.EINVALID, "args.from"},
		{"restore", map[string]string{"from": "offsite", "snapshot": "$(id)"}, aegir.EINVALID, "args.snapshot"},
		{"backup-delete", nil, aegir.EINVALID, "args.files"},
		{"backup-delete", map[string]string{"files": "other.tar.gz"}, aegir.EINVALID, "args.files"},
		{"backup", map[string]string{"file": "/tmp/x.tar.gz"}, aegir.EINVALID, "args.file"},
		{"backup", map[string]string{"format": "rar"}, aegir.EINVALID, "args.format"},
		{"disable", map[string]string{"disabled_url": "javascript:alert(1)"}, aegir.EINVALID, "args.disabled_url"},
		{"cron", map[string]string{"x": "1"}, aegir.EINVALID, "args.x"},
		{"frobnicate", nil, aegir.EINVALID, "type"},
		{"migrate-platform", map[string]string{"platform": "platform_b"}, aegir.EINVALID, "type"},
		{"enable", nil, aegir.ECONFLICT, ""},
		{"delete", nil, aegir.ECONFLICT, ""},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			wantCode(t, site(tt.typ, tt.args), tt.code, tt.field)
		})
	}

	// Valid arguments are normalised.
	task, err := b.svc.CreateTask(t.Context(), hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: "live.example.com", Type: "migrate",
		Args: map[string]string{"platform": "platform_b", "force": "false"}}, "test")
	must(t, err)
	if task.Args["platform"] != "@platform_b" || task.Args["force"] != "" || task.Platform != "platform_a" {
		t.Fatalf("migrate task %+v", task)
	}
	task, err = b.svc.CreateTask(t.Context(), hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: "live.example.com", Type: "restore",
		Args: map[string]string{"file": "live.example.com-20250101.000000.tar.gz"}}, "test")
	must(t, err)
	if task.Args["file"] != "/var/aegir/backups/live.example.com-20250101.000000.tar.gz" {
		t.Fatalf("restore args %v", task.Args)
	}
	// The same task again while one is queued is refused.
	wantCode(t, site("restore", map[string]string{"file": "live.example.com-20250101.000000.tar.gz"}), aegir.ECONFLICT, "")

	// A batch migrate is a platform-wide task.
	task, err = b.svc.CreateTask(t.Context(), hosting.TaskRequest{ObjectType: aegir.PlatformContext, Object: "@platform_a", Type: "migrate-platform",
		Args: map[string]string{"platform": "@platform_b"}}, "test")
	must(t, err)
	if !task.Exclusive || task.Platform != "platform_a" {
		t.Fatalf("batch migrate %+v", task)
	}
}

func TestDeleteRequiresDisableFirstUnlessConfigured(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.svc.DeleteSite(t.Context(), "live.example.com", "test")
	wantCode(t, err, aegir.ECONFLICT, "")
	b.svc.AllowDeleteEnabled = true
	task, err := b.svc.DeleteSite(t.Context(), "live.example.com", "test")
	must(t, err)
	if task.Type != "delete" || task.Status != aegir.StatusQueued {
		t.Fatalf("delete task %+v", task)
	}
	b.svc.OwnSite = "@live.example.com"
	b.site(t, "other.example.com", aegir.SiteDisabled)
	_, err = b.svc.CreateTask(t.Context(), hosting.TaskRequest{ObjectType: aegir.SiteContext, Object: "live.example.com", Type: "disable"}, "test")
	wantCode(t, err, aegir.ECONFLICT, "")
}

func TestCreateSiteRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	create := func(uri string, props map[string]string, client string) (*aegir.SiteRecord, *aegir.Task, error) {
		in := hosting.SiteInput{URI: uri, Props: props}
		if client != "" {
			in.Client = &client
		}
		return b.svc.CreateSite(ctx, in, "test")
	}
	r, task, err := create("@new.example.com", map[string]string{"platform": "@platform_a", "aliases": "www.new.example.com"}, "")
	must(t, err)
	if r.Status != aegir.SiteInstalling || r.Site.DBServer != "@server_master" || task.Type != "install" || task.Platform != "platform_a" {
		t.Fatalf("site %+v task %+v", r, task)
	}
	_, _, err = create("new.example.com", map[string]string{"platform": "platform_a"}, "")
	wantCode(t, err, aegir.ECONFLICT, "")
	_, _, err = create("www.new.example.com", map[string]string{"platform": "platform_a"}, "")
	wantCode(t, err, aegir.ECONFLICT, "uri")
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_a", "aliases": "www.new.example.com"}, "")
	wantCode(t, err, aegir.ECONFLICT, "aliases")
	_, _, err = create("Bad_URI", map[string]string{"platform": "platform_a"}, "")
	wantCode(t, err, aegir.EINVALID, "uri")
	_, _, err = create("x.example.com", nil, "")
	wantCode(t, err, aegir.EINVALID, "platform")
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_nope"}, "")
	wantCode(t, err, aegir.EINVALID, "platform")
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_a", "colour": "red"}, "")
	wantCode(t, err, aegir.EINVALID, "colour")
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_a", "db_passwd": "x"}, "")
	wantCode(t, err, aegir.EINVALID, "db_passwd")
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_a", "db_server": "@server_nope"}, "")
	wantCode(t, err, aegir.EINVALID, "db_server")
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_a"}, "nobody")
	wantCode(t, err, aegir.EINVALID, "client")

	// A locked platform takes no sites; a platform reserved for clients
	// takes only theirs.
	locked := true
	_, _, err = b.svc.UpdatePlatform(ctx, "platform_b", hosting.PlatformInput{Locked: &locked}, "test")
	must(t, err)
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_b"}, "")
	wantCode(t, err, aegir.ECONFLICT, "platform")
	_, err = b.svc.CreateClient(ctx, hosting.ClientInput{Name: "acme"})
	must(t, err)
	_, err = b.svc.CreateClient(ctx, hosting.ClientInput{Name: "other"})
	must(t, err)
	locked = false
	clients := []string{"acme"}
	_, task, err = b.svc.UpdatePlatform(ctx, "platform_b", hosting.PlatformInput{Locked: &locked, Clients: &clients}, "test")
	must(t, err)
	if task != nil {
		t.Fatalf("locking queued %+v", task)
	}
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_b"}, "other")
	wantCode(t, err, aegir.EINVALID, "client")
	_, _, err = create("x.example.com", map[string]string{"platform": "platform_b"}, "acme")
	must(t, err)
}

func TestUpdatesQueueVerifyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	r, t1, err := b.svc.UpdateSite(ctx, "live.example.com", hosting.SiteInput{Props: map[string]string{"aliases": "a.example.com"}}, "test")
	must(t, err)
	if t1 == nil || t1.Type != "verify" || !slices.Equal(r.Site.Aliases, []string{"a.example.com"}) {
		t.Fatalf("site %+v task %+v", r, t1)
	}
	_, t2, err := b.svc.UpdateSite(ctx, "live.example.com", hosting.SiteInput{Props: map[string]string{"redirection": "a.example.com"}}, "test")
	must(t, err)
	if t2.ID != t1.ID {
		t.Fatalf("second update queued task %d beside queued verify %d", t2.ID, t1.ID)
	}
	_, _, err = b.svc.UpdateSite(ctx, "live.example.com", hosting.SiteInput{Props: map[string]string{"platform": "platform_b"}}, "test")
	wantCode(t, err, aegir.EINVALID, "platform")
	_, _, err = b.svc.UpdateSite(ctx, "live.example.com", hosting.SiteInput{Props: map[string]string{"uri": "other.example.com"}}, "test")
	wantCode(t, err, aegir.EINVALID, "uri")

	// A server's masked master_db given back keeps the password.
	_, _, err = b.svc.UpdateServer(ctx, "server_master", hosting.ServerInput{Props: map[string]string{"master_db": "mysql://root:s3cret@127.0.0.1"}}, hosting.Actor{Name: "test"})
	must(t, err)
	masked := hosting.MaskMasterDB("mysql://root:s3cret@127.0.0.1")
	if strings.Contains(masked, "s3cret") {
		t.Fatalf("masked %q", masked)
	}
	b.site(t, "other.example.com", aegir.SiteEnabled)
	b.site(t, "off.example.com", aegir.SiteDisabled)
	rec, _, err := b.svc.UpdateServer(ctx, "server_master", hosting.ServerInput{Props: map[string]string{"master_db": masked, "http_port": "8080"}}, hosting.Actor{Name: "test"})
	must(t, err)
	if rec.Server.MasterDB != "mysql://root:s3cret@127.0.0.1" || rec.Server.HTTPPort != 8080 {
		t.Fatalf("server %+v", rec.Server)
	}
	// A port change queues a verify of each enabled site on the server (its
	// URL changed), beside the one already queued on live.example.com.
	tasks, _, err := b.store.ListTasks(ctx, aegir.TaskFilter{Type: "verify", Status: aegir.StatusQueued, PerPage: aegir.MaxPerPage})
	must(t, err)
	queued := map[string]int{}
	for _, task := range tasks {
		queued[task.Object]++
	}
	if queued["live.example.com"] != 1 || queued["other.example.com"] != 1 || queued["off.example.com"] != 0 {
		t.Fatalf("verifies queued after the port change: %v", queued)
	}

	props := hosting.PublicProps(rec.Context())
	if props["master_db"] != masked {
		t.Fatalf("public master_db %v", props["master_db"])
	}
}

func TestPlatformAndServerInUseCannotBeDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	_, err := b.svc.DeletePlatform(ctx, "platform_a", "test")
	wantCode(t, err, aegir.ECONFLICT, "")
	_, err = b.svc.DeleteServer(ctx, "server_master", "test")
	wantCode(t, err, aegir.ECONFLICT, "")
	task, err := b.svc.DeletePlatform(ctx, "platform_b", "test")
	must(t, err)
	if !task.Exclusive || task.Type != "delete" {
		t.Fatalf("delete platform %+v", task)
	}
	_, err = b.svc.DeletePlatform(ctx, "platform_nope", "test")
	wantCode(t, err, aegir.ENOTFOUND, "")
}

// failingQueue is the real store whose enqueue fails, as when the
// database goes away between the two writes.
type failingQueue struct{ aegir.Store }

func (failingQueue) EnqueueTask(context.Context, *aegir.Task) error {
	return errors.New("database is gone")
}

func TestFailedEnqueueLeavesNoHalfChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	svc := &hosting.Service{Store: failingQueue{b.store}}
	_, _, err := svc.CreateSite(ctx, hosting.SiteInput{URI: "half.example.com", Props: map[string]string{"platform": "platform_a"}}, "test")
	if err == nil {
		t.Fatal("create succeeded without a task")
	}
	if _, err := b.store.GetSite(ctx, "half.example.com"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("site left behind: %v", err)
	}
	_, _, err = svc.CreateServer(ctx, hosting.ServerInput{Name: "server_half"}, hosting.Actor{Name: "test"})
	if err == nil {
		t.Fatal("create server succeeded without a task")
	}
	if _, err := b.store.GetServer(ctx, "server_half"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("server left behind: %v", err)
	}
	_, _, err = svc.UpdateSite(ctx, "live.example.com", hosting.SiteInput{Props: map[string]string{"aliases": "z.example.com"}}, "test")
	if err == nil {
		t.Fatal("update succeeded without a task")
	}
	r, err := b.store.GetSite(ctx, "live.example.com")
	must(t, err)
	if len(r.Site.Aliases) != 0 {
		t.Fatalf("update left behind: %v", r.Site.Aliases)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	created, err := b.svc.EnsureAdmin(ctx)
	must(t, err)
	if !created {
		t.Fatal("first EnsureAdmin made no admin")
	}
	if list, err := b.svc.ListTokens(ctx, "admin"); err != nil || len(list) != 0 {
		t.Fatalf("EnsureAdmin made tokens (its secret would reach serve's log): %v %v", list, err)
	}
	again, err := b.svc.EnsureAdmin(ctx)
	must(t, err)
	if again {
		t.Fatal("second EnsureAdmin made the admin again")
	}
	_, secret, err := b.svc.CreateToken(ctx, "admin", "initial")
	must(t, err)
	if !strings.HasPrefix(secret, hosting.TokenPrefix) || len(secret) != len(hosting.TokenPrefix)+43 {
		t.Fatalf("secret %q", secret)
	}
	u, err := b.svc.Authenticate(ctx, secret)
	must(t, err)
	if u.Name != "admin" || u.Role != aegir.RoleAdministrator {
		t.Fatalf("user %+v", u)
	}
	_, err = b.svc.Authenticate(ctx, secret+"x")
	wantCode(t, err, aegir.EUNAUTHORIZED, "")
	tok, secret2, err := b.svc.CreateToken(ctx, "admin", "ci")
	must(t, err)
	must(t, b.svc.RevokeToken(ctx, tok.ID))
	_, err = b.svc.Authenticate(ctx, secret2)
	wantCode(t, err, aegir.EUNAUTHORIZED, "")
	list, err := b.svc.ListTokens(ctx, "admin")
	must(t, err)
	if len(list) != 2 || list[0].RevokedAt == nil {
		t.Fatalf("tokens %+v", list)
	}
	// A secret that leaked into a log is found there, revoked by its secret
	// alone, and cut out of the text.
	_, leaked, err := b.svc.CreateToken(ctx, "admin", "leaked")
	must(t, err)
	log := []byte("created user admin; its API token:\n" + leaked + "\nagain " + leaked + " and " + secret2 + "\n")
	if found := hosting.FindSecrets(log); len(found) != 2 || found[0] != leaked || found[1] != secret2 {
		t.Fatalf("FindSecrets: %q", found)
	}
	if red := string(hosting.RedactSecrets(log)); strings.Contains(red, hosting.TokenPrefix) || !strings.Contains(red, "created user admin") {
		t.Fatalf("RedactSecrets: %q", red)
	}
	revoked, err := b.svc.RevokeSecret(ctx, leaked)
	must(t, err)
	if revoked.Name != "leaked" {
		t.Fatalf("revoked %+v", revoked)
	}
	_, err = b.svc.Authenticate(ctx, leaked)
	wantCode(t, err, aegir.EUNAUTHORIZED, "")
	_, err = b.svc.RevokeSecret(ctx, secret2) // already revoked
	wantCode(t, err, aegir.ENOTFOUND, "")

	u.Disabled = true
	must(t, b.store.UpdateUser(ctx, u))
	_, err = b.svc.Authenticate(ctx, secret)
	wantCode(t, err, aegir.EUNAUTHORIZED, "")
}

func TestCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.site(t, "off.example.com", aegir.SiteDisabled)
	counts, err := b.svc.TaskCounts(ctx)
	must(t, err)
	// setup queued verify of the server and two platforms.
	if counts["verify"]["queued"] != 3 || len(counts) != 1 {
		t.Fatalf("task counts %v", counts)
	}
	sites, err := b.svc.SiteCounts(ctx)
	must(t, err)
	if sites[aegir.SiteEnabled] != 1 || sites[aegir.SiteDisabled] != 1 || sites[aegir.SiteNotInstalled] != 0 {
		t.Fatalf("site counts %v", sites)
	}
	depth, err := b.svc.QueueDepth(ctx)
	must(t, err)
	if depth != 3 {
		t.Fatalf("queue depth %d", depth)
	}
}

// stuckStore fails the enqueue and the undo that follows.
type stuckStore struct{ failingQueue }

func (stuckStore) DeleteSite(context.Context, string) error {
	return errors.New("database is still gone")
}

func TestFailedUndoIsAnInternalError(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc := &hosting.Service{Store: stuckStore{failingQueue{b.store}}}
	_, _, err := svc.CreateSite(t.Context(), hosting.SiteInput{URI: "stuck.example.com", Props: map[string]string{"platform": "platform_a"}}, "test")
	wantCode(t, err, aegir.EINTERNAL, "")
	if !strings.Contains(fmt.Sprint(errors.Unwrap(err)), "still gone") {
		t.Fatalf("the cause is lost: %v", errors.Unwrap(err))
	}
}

func TestSiteMovesOnlyBeforeInstall(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.site(t, "new.example.com", aegir.SiteNotInstalled)
	r, task, err := b.svc.UpdateSite(ctx, "new.example.com", hosting.SiteInput{Props: map[string]string{"platform": "platform_b", "profile": "minimal"}}, "test")
	must(t, err)
	if r.Site.Platform != "@platform_b" || task != nil {
		t.Fatalf("site %+v task %+v", r.Site, task)
	}
	r, _, err = b.svc.UpdateSite(ctx, "new.example.com", hosting.SiteInput{Props: map[string]string{"profile": "null"}}, "test")
	must(t, err)
	if r.Site.Profile != "" {
		t.Fatalf("profile not reset: %q", r.Site.Profile)
	}
	b.site(t, "queued.example.com", aegir.SiteInstalling)
	_, _, err = b.svc.UpdateSite(ctx, "queued.example.com", hosting.SiteInput{Props: map[string]string{"platform": "platform_b"}}, "test")
	wantCode(t, err, aegir.EINVALID, "platform")
	_, _, err = b.svc.UpdateSite(ctx, "queued.example.com", hosting.SiteInput{Props: map[string]string{"db_server": "@server_nope"}}, "test")
	wantCode(t, err, aegir.EINVALID, "db_server")
}

// TestOnlyAdministratorsTurnOnPerSitePools: php_fpm_pools and php-fpm's
// commands decide what runs as root, like the web server's commands.
func TestOnlyAdministratorsTurnOnPerSitePools(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	pm := hosting.Actor{Name: "pm", Role: aegir.RolePlatformManager}
	for _, prop := range []string{"php_fpm_pools", "php_fpm_test_cmd", "php_fpm_reload_cmd"} {
		_, _, err := b.svc.UpdateServer(ctx, "server_master", hosting.ServerInput{Props: map[string]string{prop: "true"}}, pm)
		if aegir.ErrorCode(err) != hosting.EFORBIDDEN {
			t.Errorf("a platform manager set %s: %v", prop, err)
		}
	}
	admin := hosting.Actor{Name: "admin", Role: aegir.RoleAdministrator}
	if _, _, err := b.svc.UpdateServer(ctx, "server_master", hosting.ServerInput{Props: map[string]string{"php_fpm_pools": "true"}}, admin); err != nil {
		t.Errorf("an administrator could not turn pools on: %v", err)
	}
}
