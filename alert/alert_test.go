package alert_test

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/alert"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/sqlite"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// webhook is a receiver that keeps the bodies whose signature is right
// for its secret and refuses the others.
type webhook struct {
	secret string
	mu     sync.Mutex
	got    []aegir.Notification
	bad    int
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !hmac.Equal([]byte(r.Header.Get(alert.SignatureHeader)), []byte(alert.Sign(body, h.secret))) || r.Header.Get("Content-Type") != "application/json" {
		h.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var n aegir.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		h.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.got = append(h.got, n)
}

func (h *webhook) received() ([]aegir.Notification, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]aegir.Notification(nil), h.got...), h.bad
}

// TestAlertsReachTheUsersWhoChoseThemAndMaySeeThem raises notifications on
// two clients' sites and a server: each subscriber gets, by mail (through
// a real SMTP server, over STARTTLS with a login) and by signed webhook,
// only the events they chose on the objects they may see.
func TestAlertsReachTheUsersWhoChoseThemAndMaySeeThem(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hosting.db"))
	must(t, err)
	t.Cleanup(func() { store.Close() })
	sink := teststack.StartMailSink(t)

	must(t, store.CreateServer(ctx, &aegir.ServerRecord{Name: "server_master", Status: "enabled"}))
	must(t, store.CreatePlatform(ctx, &aegir.PlatformRecord{Name: "platform_wp", Status: "enabled", Platform: aegir.Platform{Root: "/srv/wp", WebServer: "@server_master"}}))
	for _, c := range []string{"acme", "beta"} {
		must(t, store.CreateClient(ctx, &aegir.Client{Name: c}))
		must(t, store.CreateSite(ctx, &aegir.SiteRecord{Name: c + ".example", Client: c, Status: aegir.SiteEnabled,
			Site: aegir.Site{URI: c + ".example", Platform: "@platform_wp", DBServer: "@server_master"}}))
	}
	admin := &aegir.User{Name: "admin", Role: aegir.RoleAdministrator, Email: "admin@example.com"}
	ann := &aegir.User{Name: "ann", Role: aegir.RoleClient, Email: "ann@acme.example", Clients: []string{"acme"}}
	quiet := &aegir.User{Name: "quiet", Role: aegir.RoleAdministrator, Email: "quiet@example.com"}
	for _, u := range []*aegir.User{admin, ann, quiet} {
		must(t, store.CreateUser(ctx, u))
	}
	adminHook := &webhook{secret: "admin-secret-0123456789"}
	annHook := &webhook{secret: "ann-secret-0123456789ab"}
	adminSrv, annSrv := httptest.NewServer(adminHook), httptest.NewServer(annHook)
	t.Cleanup(adminSrv.Close)
	t.Cleanup(annSrv.Close)
	all := aegir.AlertEvents
	must(t, store.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: admin.ID, Events: all, Email: true, WebhookURL: adminSrv.URL, WebhookSecret: adminHook.secret}))
	must(t, store.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: ann.ID, Events: all, Email: true, WebhookURL: annSrv.URL, WebhookSecret: annHook.secret}))
	// quiet chose only failed backups, and no mail.
	must(t, store.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: quiet.ID, Events: []string{aegir.EventBackupFailed}}))

	n := &alert.Notifier{Store: store, SMTP: &alert.SMTP{Host: sink.Host, Port: sink.Port, Username: sink.User, Password: sink.Password,
		From: "aegir@example.com", CAFile: sink.CAFile}}
	acme, err := store.GetSite(ctx, "acme.example")
	must(t, err)
	at := time.Now()
	must(t, n.SiteHealthChanged(ctx, acme, aegir.SiteHealth{State: aegir.HealthDown, Code: 500, Reason: "answered 500", CheckedAt: &at}))
	must(t, n.TaskFinished(ctx, &aegir.Task{ID: 7, Type: aegir.TaskBackup, ObjectType: aegir.SiteContext, Object: "beta.example"}, aegir.StatusFailed))
	must(t, n.TaskFinished(ctx, &aegir.Task{ID: 8, Type: aegir.TaskVerify, ObjectType: aegir.ServerContext, Object: "server_master"}, aegir.StatusFailed))
	// What succeeded raises nothing.
	must(t, n.TaskFinished(ctx, &aegir.Task{ID: 9, Type: aegir.TaskBackup, ObjectType: aegir.SiteContext, Object: "beta.example"}, aegir.StatusSuccess))

	// admin: all three, by mail and webhook; ann: acme's site down only.
	// Raise delivers before it returns: all the mail is there.
	mail := sink.Mail()
	to := map[string][]string{}
	for _, m := range mail {
		if !m.TLS || m.User != sink.User || m.From != "aegir@example.com" {
			t.Fatalf("mail sent without STARTTLS or login: %+v", m)
		}
		subject := ""
		for _, line := range strings.Split(m.Data, "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				subject = s
			}
		}
		to[m.To[0]] = append(to[m.To[0]], subject)
	}
	want := map[string][]string{
		"admin@example.com": {"[aegir] site_down: @acme.example", "[aegir] backup_failed: @beta.example", "[aegir] server_unreachable: @server_master"},
		"ann@acme.example":  {"[aegir] site_down: @acme.example"},
	}
	if len(mail) != 4 || strings.Join(to["admin@example.com"], "|") != strings.Join(want["admin@example.com"], "|") ||
		strings.Join(to["ann@acme.example"], "|") != strings.Join(want["ann@acme.example"], "|") {
		t.Fatalf("mail by recipient = %v, want %v", to, want)
	}
	if !strings.Contains(mail[0].Data, "answered 500") {
		t.Fatalf("the mail does not say why:\n%s", mail[0].Data)
	}

	got, bad := adminHook.received()
	if bad != 0 || len(got) != 3 || got[0].Event != aegir.EventSiteDown || got[0].Client != "acme" || got[1].Event != aegir.EventBackupFailed || got[2].Object != "server_master" {
		t.Fatalf("admin's webhook got %+v (%d refused)", got, bad)
	}
	got, bad = annHook.received()
	if bad != 0 || len(got) != 1 || got[0].Object != "acme.example" {
		t.Fatalf("ann's webhook got %+v (%d refused)", got, bad)
	}

	// Every notification is recorded, for the list, whoever got it.
	list, total, err := store.ListNotifications(ctx, aegir.NotificationFilter{})
	must(t, err)
	if total != 3 || list[0].Event != aegir.EventServerUnreachable {
		t.Fatalf("notifications = %d %+v", total, list)
	}
	if !alert.Sees(ann, list[2]) || alert.Sees(ann, list[1]) || alert.Sees(ann, list[0]) {
		t.Fatal("ann sees what is not hers, or not what is")
	}

	// A backup that does not restore alerts as a failed backup.
	must(t, n.TaskFinished(ctx, &aegir.Task{ID: 10, Type: aegir.TaskBackupVerify, ObjectType: aegir.SiteContext, Object: "beta.example"}, aegir.StatusFailed))
	must(t, n.TaskFinished(ctx, &aegir.Task{ID: 11, Type: aegir.TaskBackupVerify, ObjectType: aegir.SiteContext, Object: "beta.example"}, aegir.StatusSuccess))
	list, total, err = store.ListNotifications(ctx, aegir.NotificationFilter{})
	must(t, err)
	if total != 4 || list[0].Event != aegir.EventBackupFailed || !strings.Contains(list[0].Message, "backup-verify failed (task 10)") {
		t.Fatalf("after a failed backup-verify, notifications = %d %+v", total, list)
	}
}

// TestAFailedDeliveryIsReportedWithoutItsSecrets: a webhook that refuses,
// and one that does not answer, are errors of Raise that name the user
// but neither the URL's path (which may hold a token) nor the secret; the
// notification is recorded all the same.
func TestAFailedDeliveryIsReportedWithoutItsSecrets(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hosting.db"))
	must(t, err)
	t.Cleanup(func() { store.Close() })
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) }))
	t.Cleanup(refuse.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	secret := "super-secret-0123456789"
	for i, url := range []string{refuse.URL + "/hooks/T0KEN", goneURL + "/hooks/T0KEN"} {
		u := &aegir.User{Name: []string{"refused", "gone"}[i], Role: aegir.RoleAdministrator}
		must(t, store.CreateUser(ctx, u))
		must(t, store.SetAlertSubscription(ctx, &aegir.AlertSubscription{UserID: u.ID, Events: aegir.AlertEvents, WebhookURL: url, WebhookSecret: secret}))
	}
	n := &alert.Notifier{Store: store, Timeout: 2 * time.Second}
	err = n.ServerUnreachable(ctx, "@server_web1", "ssh: connection refused")
	if err == nil || !strings.Contains(err.Error(), "user refused") || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "user gone") {
		t.Fatalf("Raise = %v", err)
	}
	if strings.Contains(err.Error(), "T0KEN") || strings.Contains(err.Error(), secret) {
		t.Fatalf("the error shows a secret: %v", err)
	}
	if _, total, err := store.ListNotifications(ctx, aegir.NotificationFilter{}); err != nil || total != 1 {
		t.Fatalf("notifications = %d, %v", total, err)
	}
}

// TestLoadSMTPRefusesAFileOthersMayRead: the settings hold a password.
func TestLoadSMTPRefusesAFileOthersMayRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smtp.yml")
	if c, err := alert.LoadSMTP(path); c != nil || err != nil {
		t.Fatalf("a missing file = %v, %v", c, err)
	}
	must(t, os.WriteFile(path, []byte("host: mail.example.com\nport: 587\nusername: aegir\npassword: hunter22\nfrom: aegir@example.com\n"), 0o644))
	if _, err := alert.LoadSMTP(path); aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a file others may read = %v", err)
	}
	must(t, os.Chmod(path, 0o600))
	c, err := alert.LoadSMTP(path)
	must(t, err)
	if c.Host != "mail.example.com" || c.Port != 587 || c.Password != "hunter22" || strings.Contains(c.String(), "hunter22") {
		t.Fatalf("settings = %+v, shown as %s", c, c)
	}
	must(t, os.WriteFile(path, []byte("host: mail.example.com\nport: 587\nfrom: \"x\\r\\nBcc: y@z\"\n"), 0o600))
	var e *aegir.Error
	if _, err := alert.LoadSMTP(path); aegir.ErrorCode(err) != aegir.EINVALID || !errors.As(err, &e) || e.Field != "from" {
		t.Fatalf("a sender with a line break = %v", err)
	}
}
