package web

import (
	"net/http"
	"net/url"
	"path/filepath"
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
}
