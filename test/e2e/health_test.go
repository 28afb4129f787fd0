package e2e

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/alert"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestASiteThatLosesItsDatabaseIsFlaggedDownAndAlerted runs `aegir serve`
// with its health checks every second, SMTP settings pointing at a real
// mail server started by the test, and the admin subscribed to site down
// and up by e-mail and by a webhook that checks the HMAC signature. A
// WordPress site installed through the API is up; its database dropped,
// it answers 500 and is flagged down, in the API and the sites list, and
// both alerts arrive; a restore of its backup brings it back up, and
// that is told too.
func TestASiteThatLosesItsDatabaseIsFlaggedDownAndAlerted(t *testing.T) {
	s := newStack(t)
	s.setup()
	s.mustAegir("hosting-import", "@server_master")
	sink := teststack.StartMailSink(t)
	smtpFile := filepath.Join(s.home, "smtp.yml")
	if err := os.WriteFile(smtpFile, fmt.Appendf(nil, "host: %s\nport: %d\nusername: %s\npassword: %s\nfrom: aegir@example.com\nca_file: %s\n",
		sink.Host, sink.Port, sink.User, sink.Password, sink.CAFile), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := "hook-" + s.token + "-0123456789"
	var mu sync.Mutex
	var events []string
	bad := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		var n struct{ Event, Object string }
		if !hmac.Equal([]byte(r.Header.Get("X-Aegir-Signature")), []byte(alert.Sign(body, secret))) || json.Unmarshal(body, &n) != nil {
			bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		events = append(events, n.Event+" "+n.Object)
	}))
	t.Cleanup(hook.Close)
	f := s.serveAs("", "e2e", "--health-interval", "1s")

	root := filepath.Join(s.home, "platforms", "wp")
	if err := teststack.CopyTree("/usr/share/wordpress", root); err != nil {
		t.Fatal(err)
	}
	f.waitTask(f.must(201, "POST", "/api/platforms", map[string]any{"name": "platform_wp", "root": root}))
	uri := "health." + s.token + ".test"
	f.waitTask(f.must(201, "POST", "/api/sites", map[string]any{"uri": uri, "platform": "@platform_wp"}))
	backup := f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "backup"}))
	file := str(taskOf(backup)["data"].(map[string]any)["backup_file"])

	f.must(200, "PATCH", "/api/users/admin", map[string]any{"email": "admin@example.com"})
	// A secret too short is refused, naming the field, and changes nothing.
	if code, out := f.call("PUT", "/api/me/alerts", map[string]any{"events": []string{"site_down"}, "webhook_url": hook.URL, "webhook_secret": "short"}); code != 400 || out["field"] != "webhook_secret" {
		t.Fatalf("a short secret: %d %v", code, out)
	}
	out := f.must(200, "PUT", "/api/me/alerts", map[string]any{"events": []string{"site_down", "site_up"}, "email": true,
		"webhook_url": hook.URL, "webhook_secret": secret})
	if strings.Contains(fmt.Sprint(out), secret) {
		t.Fatalf("the API shows the webhook secret: %v", out)
	}

	health := func(want string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, out := f.call("GET", "/api/sites/"+uri, nil)
			site, _ := out["site"].(map[string]any)
			h, _ := site["health"].(map[string]any)
			if h["state"] == want {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("the site's health is %v, want %s\nserve stderr:\n%s", h, want, f.out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if h := health("up"); h["code"] != float64(200) {
		t.Fatalf("an installed site: %v", h)
	}

	name := str(s.siteContext(uri)["db_name"])
	if _, err := teststack.RootDB(t).Exec("DROP DATABASE `" + name + "`"); err != nil {
		t.Fatal(err)
	}
	// WordPress without its database answers 500, or (when it can tell
	// the tables are gone) sends visitors to its installer: down either way.
	h := health("down")
	reason := str(h["reason"])
	if code := h["code"].(float64); !(code >= 500 && strings.HasPrefix(reason, "answered 5")) &&
		!(code == 302 && strings.Contains(reason, "installer (") && strings.Contains(reason, "/wp-admin/install.php")) {
		t.Fatalf("a site without its database: %v", h)
	}
	if _, list := f.call("GET", "/api/sites?health=down", nil); fmt.Sprint(list["total"]) != "1" {
		t.Fatalf("the down sites: %v", list)
	}
	mail := sink.Wait(t, 1, 30*time.Second)
	if m := mail[0]; m.To[0] != "admin@example.com" || !m.TLS || !strings.Contains(m.Data, "site_down: @"+uri) || !strings.Contains(m.Data, reason) {
		t.Fatalf("the mail: %+v", m)
	}

	f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "restore", "args": map[string]string{"file": file}}))
	health("up")
	mail = sink.Wait(t, 2, 30*time.Second)
	if !strings.Contains(mail[1].Data, "site_up: @"+uri) {
		t.Fatalf("the second mail: %+v", mail[1])
	}
	mu.Lock()
	got, refused := strings.Join(events, ", "), bad
	mu.Unlock()
	if want := "site_down " + uri + ", site_up " + uri; got != want || refused != 0 {
		t.Fatalf("the webhook got %q (%d refused), want %q", got, refused, want)
	}
	_, list := f.call("GET", "/api/notifications", nil)
	if fmt.Sprint(list["total"]) != "2" {
		t.Fatalf("notifications: %v", list)
	}
	if strings.Contains(f.out.String(), sink.Password) || strings.Contains(f.out.String(), secret) {
		t.Fatal("serve logged a secret")
	}
}
