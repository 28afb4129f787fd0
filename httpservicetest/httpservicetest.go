// Package httpservicetest is the conformance suite of aegir.HTTPService:
// every web server driver runs Exercise against a real server of its kind,
// which must then serve sites, their aliases, redirections and disabled
// pages over HTTP, keep a vhost the server rejects out of the running
// configuration, and undo each change. It also holds the HTTP helpers the
// drivers' own tests use.
package httpservicetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// Stack is a running web server and the driver's service of it.
type Stack struct {
	Service aegir.HTTPService
	// Port is the server's http_port.
	Port int
	// VhostFile returns the path of the vhost file of a site.
	VhostFile func(uri string) string
	// PlatformFile, for a server that has a file per platform, returns
	// its path; nil otherwise.
	PlatformFile func(name string) string
	// Break makes v a vhost the web server's configuration test rejects.
	Break func(v *aegir.Vhost)
	// Apps are the app names whose vhosts must pass the server's test.
	Apps []string
}

// Exercise runs the suite on the stack newStack returns, whose server has
// been verified (VerifyServer) and serves nothing else. The subtests run in
// order on that one stack, each from the state the one before left.
func Exercise(t *testing.T, newStack func(t *testing.T) *Stack) {
	ctx := context.Background()
	s := newStack(t)
	rootA, rootB := StaticRoot(t, "this is site A"), StaticRoot(t, "this is site B")
	for name, root := range map[string]string{"platform_a": rootA, "platform_b": rootB} {
		if _, err := s.Service.WritePlatform(ctx, name, root, "static"); err != nil {
			t.Fatal(err)
		}
	}
	siteA := &aegir.Vhost{URI: "a.test", Aliases: []string{"www.a.test"}, Root: rootA, App: "static",
		Params: (*aegir.DBCredentials)(nil).Params()}
	siteB := &aegir.Vhost{URI: "b.test", Root: rootB, App: "static"}
	for _, v := range []*aegir.Vhost{siteA, siteB} {
		if _, err := s.Service.WriteSite(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	Expect(t, s.Port, "a.test", "/", 200, "this is site A")
	Expect(t, s.Port, "www.a.test", "/", 200, "this is site A")
	Expect(t, s.Port, "b.test", "/", 200, "this is site B")
	Expect(t, s.Port, "unknown.test", "/", 404, "")
	if fi, err := os.Stat(s.VhostFile("a.test")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("vhost mode: %v, %v; want 0600 since it holds passwords", fi.Mode().Perm(), err)
	}

	t.Run("a new vhost the server rejects is removed and the others serve on", func(t *testing.T) {
		broken := &aegir.Vhost{URI: "c.test", Root: rootA, App: "static"}
		s.Break(broken)
		_, err := s.Service.WriteSite(ctx, broken)
		if err == nil || !strings.Contains(err.Error(), "c.test") {
			t.Fatalf("got %v, want the server's rejection naming c.test", err)
		}
		if _, err := os.Stat(s.VhostFile("c.test")); !os.IsNotExist(err) {
			t.Errorf("the broken vhost was left behind: %v", err)
		}
		entries, _ := os.ReadDir(filepath.Dir(s.VhostFile("c.test")))
		if len(entries) != 2 {
			t.Errorf("the vhost directory holds %d files, want 2 (no temporary files)", len(entries))
		}
		Expect(t, s.Port, "a.test", "/", 200, "this is site A")
		Expect(t, s.Port, "b.test", "/", 200, "this is site B")
		Expect(t, s.Port, "c.test", "/", 404, "")
	})

	t.Run("a rewrite the server rejects puts the previous vhost back", func(t *testing.T) {
		before := readFile(t, s.VhostFile("a.test"))
		broken := *siteA
		s.Break(&broken)
		if _, err := s.Service.WriteSite(ctx, &broken); err == nil {
			t.Fatal("the broken vhost passed")
		}
		if !bytes.Equal(before, readFile(t, s.VhostFile("a.test"))) {
			t.Error("the previous vhost was not put back")
		}
		Expect(t, s.Port, "a.test", "/", 200, "this is site A")
	})

	t.Run("every app's vhost passes the server's test, and undo removes it", func(t *testing.T) {
		for _, app := range s.Apps {
			uri, platform, root := app+".test", "platform_"+app, teststack.WebDir(t)
			undoPlatform, err := s.Service.WritePlatform(ctx, platform, root, app)
			if err != nil {
				t.Fatalf("%s platform: %v", app, err)
			}
			undo, err := s.Service.WriteSite(ctx, &aegir.Vhost{URI: uri, Root: root, App: app, Params: (*aegir.DBCredentials)(nil).Params()})
			if err != nil {
				t.Fatalf("%s: %v", app, err)
			}
			if err := undo(ctx); err != nil {
				t.Fatalf("undo %s: %v", app, err)
			}
			if undoPlatform != nil {
				if err := undoPlatform(ctx); err != nil {
					t.Fatalf("undo %s platform: %v", app, err)
				}
			}
			left := []string{s.VhostFile(uri)}
			if s.PlatformFile != nil {
				left = append(left, s.PlatformFile(platform))
			}
			for _, f := range left {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Errorf("undo left %s behind", f)
				}
			}
		}
	})

	t.Run("undo puts the previous vhost back", func(t *testing.T) {
		before := readFile(t, s.VhostFile("b.test"))
		withAlias := *siteB
		withAlias.Aliases = []string{"www.b.test"}
		undo, err := s.Service.WriteSite(ctx, &withAlias)
		if err != nil {
			t.Fatal(err)
		}
		Expect(t, s.Port, "www.b.test", "/", 200, "this is site B")
		if err := undo(ctx); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, readFile(t, s.VhostFile("b.test"))) {
			t.Error("undo did not put the previous vhost back")
		}
		Expect(t, s.Port, "www.b.test", "/", 404, "")
	})

	t.Run("redirection answers 301 to the target", func(t *testing.T) {
		redirected := *siteA
		redirected.Redirection = "www.a.test"
		if _, err := s.Service.WriteSite(ctx, &redirected); err != nil {
			t.Fatal(err)
		}
		r := Expect(t, s.Port, "a.test", "/x?y=1", 301, "")
		if want := "http://www.a.test:" + strconv.Itoa(s.Port) + "/x?y=1"; r.Location != want {
			t.Errorf("Location %q, want %q", r.Location, want)
		}
		Expect(t, s.Port, "www.a.test", "/", 200, "this is site A")
	})

	t.Run("a disabled site answers 503 with a page, or 302 to its URL", func(t *testing.T) {
		disabled := *siteB
		disabled.Aliases = []string{"www.b.test"}
		disabled.Disabled = true
		if _, err := s.Service.WriteSite(ctx, &disabled); err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"b.test", "www.b.test"} {
			r := Expect(t, s.Port, host, "/any/path", 503, "This site is disabled")
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want text/html", ct)
			}
		}
		disabled.DisabledURL = "https://hosting.test/disabled?site=b.test&x=%41"
		if _, err := s.Service.WriteSite(ctx, &disabled); err != nil {
			t.Fatal(err)
		}
		if r := Expect(t, s.Port, "b.test", "/some/path?q=1", 302, ""); r.Location != disabled.DisabledURL {
			t.Errorf("Location %q, want %q", r.Location, disabled.DisabledURL)
		}
	})

	t.Run("delete removes the site and undo brings it back", func(t *testing.T) {
		undo, err := s.Service.DeleteSite(ctx, "b.test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(s.VhostFile("b.test")); !os.IsNotExist(err) {
			t.Errorf("vhost still there: %v", err)
		}
		Expect(t, s.Port, "b.test", "/", 404, "")
		if err := undo(ctx); err != nil {
			t.Fatal(err)
		}
		Expect(t, s.Port, "b.test", "/", 302, "")
		if _, err := s.Service.DeleteSite(ctx, "b.test"); err != nil {
			t.Fatal(err)
		}
		Expect(t, s.Port, "b.test", "/", 404, "")
		if undo, err := s.Service.DeleteSite(ctx, "b.test"); err != nil || undo != nil {
			t.Errorf("deleting a missing vhost: undo %v, error %v; want nil, nil", undo != nil, err)
		}
		Expect(t, s.Port, "a.test", "/", 301, "")
	})
}

// StaticRoot returns a platform root whose index.html says text.
func StaticRoot(t *testing.T, text string) string {
	t.Helper()
	root := teststack.WebDir(t)
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(text+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Response is what one request got.
type Response struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

func (r Response) String() string {
	return fmt.Sprintf("%d %q (Location %q)", r.Status, r.Body, r.Location)
}

// Get requests path from 127.0.0.1:port with the Host header host and the
// given extra header lines ("Name: value"). It never reuses a connection,
// since an old worker would answer with the configuration it started
// with, and never follows a redirect.
func Get(port int, host, path string, header ...string) (Response, error) {
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       5 * time.Second,
	}
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	if err != nil {
		return Response{}, err
	}
	req.Host = host
	for _, h := range header {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return Response{resp.StatusCode, string(body), resp.Header, resp.Header.Get("Location")}, err
}

// Expect polls for up to 5 s until host answers path with status and a
// body containing want. The drivers wait until a reload is live, so this
// only smooths over a busy machine; see ExpectNow.
func Expect(t *testing.T, port int, host, path string, status int, want string, header ...string) Response {
	t.Helper()
	var last Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		last, err = Get(port, host, path, header...)
		if err == nil && last.Status == status && strings.Contains(last.Body, want) {
			return last
		}
	}
	t.Fatalf("GET http://%s%s: got %v (error %v), want %d with %q", host, path, last, err, status, want)
	return last
}

// ExpectNow is Expect with a single request: what a caller sees right
// after a change returned.
func ExpectNow(t *testing.T, port int, host, path string, status int, want string) {
	t.Helper()
	r, err := Get(port, host, path)
	if err != nil || r.Status != status || !strings.Contains(r.Body, want) {
		t.Fatalf("right after the change, GET http://%s%s: got %v (error %v), want %d with %q", host, path, r, err, status, want)
	}
}
