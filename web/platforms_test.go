package web

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestPlatformRootThatDoesNotExistIsAFieldError: on this machine's web
// server, a root that is not there is refused before any platform is
// recorded, beside the root field of the form and as a 400 naming root
// on the API; an existing directory is taken.
func TestPlatformRootThatDoesNotExistIsAFieldError(t *testing.T) {
	t.Parallel()
	w := newWorld(t, newBundle(t, stores[0].open(t)))
	w.svc.StatLocal = nil // os.Stat: the roots are checked on this machine
	missing := filepath.Join(t.TempDir(), "missing")
	br := w.login(t, "admin")
	status, body, _ := br.post("/platforms", url.Values{"name": {"platform_missing"}, "root": {missing}})
	if status != http.StatusBadRequest {
		t.Fatalf("a missing root: %d", status)
	}
	if want := `value="` + missing + `" placeholder="/var/aegir/platforms/wordpress" required><p class="field-error">` + missing + ` does not exist on @server_master`; !strings.Contains(body, want) {
		t.Errorf("the form does not say so beside root:\n%s", body)
	}
	if _, err := w.store.GetPlatform(t.Context(), "platform_missing"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("a platform was recorded: %v", err)
	}
	w.do(t, "POST", "/api/platforms", map[string]any{"name": "platform_missing", "root": missing}).wantError(t, 400, aegir.EINVALID, "root")
	w.do(t, "POST", "/api/platforms", map[string]any{"name": "platform_here", "root": t.TempDir()}).want(t, 201)
	status, _, loc := br.post("/platforms", url.Values{"name": {"platform_built"}, "root": {missing}, "makefile": {"https://example.com/code.git"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/tasks/") {
		t.Errorf("a root built from a source: %d %s", status, loc)
	}

	// A platform with a source has a rebuild button: verify with rebuild=1.
	if _, body, _ := br.get("/platforms/platform_built"); !strings.Contains(body, `<input type="hidden" name="rebuild" value="1">`) {
		t.Errorf("the built platform's page has no rebuild button:\n%s", body)
	}
	if _, body, _ := br.get("/platforms/platform_here"); strings.Contains(body, `name="rebuild"`) {
		t.Error("a platform without a source has a rebuild button")
	}
	// The verify its creation queued is cancelled first: one at a time.
	w.do(t, "POST", "/api/tasks/"+strings.TrimPrefix(loc, "/tasks/")+"/cancel", nil).want(t, 200)
	status, _, loc = br.post("/platforms/platform_built/tasks", url.Values{"type": {"verify"}, "rebuild": {"1"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/tasks/") {
		t.Fatalf("rebuild: %d %s", status, loc)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/tasks/"), 10, 64)
	task, err := w.store.GetTask(t.Context(), id)
	if err != nil || task.Type != aegir.TaskVerify || task.Args["rebuild"] != "1" {
		t.Errorf("the rebuild button queued %+v, %v", task, err)
	}
}
