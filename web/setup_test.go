package web

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/aegir-hosting/aegir/postgres"
	"github.com/aegir-hosting/aegir/sqlite"
)

// storeMaker opens a fresh, empty store for one test.
type storeMaker struct {
	name string
	open func(t *testing.T) aegir.Store
}

var stores = []storeMaker{
	{"sqlite", func(t *testing.T) aegir.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hosting.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) aegir.Store {
		s, err := postgres.Open(t.Context(), teststack.TempPostgresDatabase(t, "aegir_web_test_"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// forEachStore runs fn as a parallel subtest on each store.
func forEachStore(t *testing.T, fn func(t *testing.T, b *bundle)) {
	for _, sm := range stores {
		t.Run(sm.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newBundle(t, sm.open(t)))
		})
	}
}

// bundle is an API on a real store, served by httptest, with an admin
// token.
type bundle struct {
	store aegir.Store
	svc   *hosting.Service
	srv   *Server
	http  *httptest.Server
	token string
	logs  *syncBuffer
}

// syncBuffer is a log sink tests read while handlers write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newBundle(t *testing.T, store aegir.Store) *bundle {
	t.Helper()
	return newBundleWith(t, store, nil)
}

// newBundleWith is newBundle with configure applied to the Server before
// it serves anything.
func newBundleWith(t *testing.T, store aegir.Store, configure func(*Server)) *bundle {
	t.Helper()
	b := &bundle{store: store, svc: &hosting.Service{Store: store, StatLocal: anyRoot}, logs: &syncBuffer{}}
	b.srv = &Server{Service: b.svc, Store: store, Logger: slog.New(slog.NewTextHandler(b.logs, nil)), LogPollInterval: 20 * time.Millisecond}
	if configure != nil {
		configure(b.srv)
	}
	b.http = httptest.NewServer(b.srv.Handler())
	t.Cleanup(b.http.Close)
	t.Cleanup(b.srv.Close)
	if _, err := b.svc.EnsureAdmin(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, secret, err := b.svc.CreateToken(t.Context(), hosting.AdminUser, "initial")
	if err != nil {
		t.Fatal(err)
	}
	b.token = secret
	return b
}

// anyRoot answers for every path that it is a directory: the tests make
// platforms on roots that are not on this machine. A test of the roots
// check sets the Service's StatLocal back to nil (os.Stat).
func anyRoot(string) (fs.FileInfo, error) { return os.Stat(os.TempDir()) }

// answer is a decoded JSON answer.
type answer struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

// do sends a request with the admin token; body is JSON-encoded unless it
// is a string.
func (b *bundle) do(t *testing.T, method, path string, body any) answer {
	t.Helper()
	return b.doWith(t, method, path, body, map[string]string{"Authorization": "Bearer " + b.token})
}

func (b *bundle) doWith(t *testing.T, method, path string, body any, headers map[string]string) answer {
	t.Helper()
	var r io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(v)
	default:
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.http.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, raw: string(data), header: resp.Header}
	if len(data) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, data)
		}
	}
	return a
}

// want checks the status of an answer.
func (a answer) want(t *testing.T, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	return a
}

// wantError checks an error answer's status, code and field.
func (a answer) wantError(t *testing.T, status int, code, field string) answer {
	t.Helper()
	a.want(t, status)
	if a.body["error"] != code {
		t.Fatalf("error %v, want %q: %s", a.body["error"], code, a.raw)
	}
	if field != "" && a.body["field"] != field {
		t.Fatalf("field %v, want %q: %s", a.body["field"], field, a.raw)
	}
	if m, _ := a.body["message"].(string); m == "" {
		t.Fatalf("error without a message: %s", a.raw)
	}
	return a
}

// obj returns a JSON object inside the answer.
func (a answer) obj(t *testing.T, key string) map[string]any {
	t.Helper()
	m, ok := a.body[key].(map[string]any)
	if !ok {
		t.Fatalf("no object %q in %s", key, a.raw)
	}
	return m
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seed creates server_master and platform_wp through the API.
func (b *bundle) seed(t *testing.T) {
	t.Helper()
	b.do(t, "POST", "/api/servers", map[string]any{"name": "server_master", "http_port": 8080}).want(t, 201)
	b.do(t, "POST", "/api/platforms", map[string]any{"name": "platform_wp", "root": "/var/aegir/platforms/wp"}).want(t, 201)
}

// setStatus sets a site's front-end status in the store, as a task's
// result would.
func (b *bundle) setStatus(t *testing.T, uri, status string) {
	t.Helper()
	r, err := b.store.GetSite(t.Context(), uri)
	must(t, err)
	r.Status = status
	must(t, b.store.UpdateSite(t.Context(), r))
}
