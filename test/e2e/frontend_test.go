package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestFrontEndServedByTheManagedWebServer: aegir setup --frontend_uri
// writes a vhost on the master's nginx proxying to aegir serve; the UI
// answers through it and a one-time login link logs in over it. Over plain
// HTTP the session cookie is not Secure, and a client's own
// X-Forwarded-Proto does not make it so: nginx sets the header.
func TestFrontEndServedByTheManagedWebServer(t *testing.T) {
	s := newStack(t)
	listen := fmt.Sprintf("127.0.0.1:%d", teststack.FreePort(t))
	name := "aegir." + s.token + ".test"
	if out := s.setup("--frontend_uri", name, "--frontend_listen", listen); !strings.Contains(out, "proxying to "+listen) {
		t.Fatalf("setup did not say where the front end is:\n%s", out)
	}
	vhost, err := os.ReadFile(filepath.Join(s.home, "config", "server_master", "nginx", "vhost.d", name+".conf"))
	if err != nil || !strings.Contains(string(vhost), "proxy_pass http://"+listen+";") {
		t.Fatalf("the front end's vhost: %v\n%s", err, vhost)
	}
	if _, err := s.aegir("setup", "--frontend_listen", listen); err == nil {
		t.Fatal("--frontend_listen without --frontend_uri was accepted")
	}
	if out, err := s.aegir("setup", "--frontend_uri", name, "--frontend_listen", "127.0.0.1:8080;evil"); err == nil || !strings.Contains(out, "frontend_listen") {
		t.Fatalf("a bad --frontend_listen: %v\n%s", err, out)
	}
	f := s.serveAs("", "e2e", "--listen", listen)
	s.mustServe(s.url(name, "/login"), "<form")

	// A one-time login link, followed through the proxy, logs in.
	link := strings.TrimSpace(s.mustAegir("user", "login-link", "admin", "--url", "http://"+name+fmt.Sprintf(":%d", s.port)))
	s.mustServe(link, `id="use-link"`)
	req, _ := http.NewRequest("POST", link, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https") // a client's claim, which nginx replaces
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "aegir_session" && c.Value != "" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("the login link answered %d with no session cookie (%v)\nserve:\n%s", resp.StatusCode, resp.Header, f.out)
	}
	if session.Secure {
		t.Error("over plain HTTP the session cookie is Secure: the client's X-Forwarded-Proto was trusted")
	}
	code, body := s.get(s.url(name, "/"))
	if code != 200 || !strings.Contains(body, "admin") || strings.Contains(body, `action="/login"`) {
		t.Fatalf("GET / through the proxy after logging in = %d:\n%.500s", code, body)
	}

	// With HTTPS required, the vhost serves a certificate on the https
	// port and plain HTTP redirects; the session cookie is Secure.
	httpsPort := teststack.FreePort(t)
	s.setup("--https_port", fmt.Sprint(httpsPort), "--frontend_uri", name, "--frontend_listen", listen, "--frontend_ssl_enabled", "2")
	f.cmd.Process.Kill()
	f.cmd.Wait()
	s.serveAs("", "e2e", "--listen", listen)
	if code, _ := s.get(s.url(name, "/login")); code != http.StatusMovedPermanently {
		t.Fatalf("plain HTTP to the front end with HTTPS required answers %d, want 301", code)
	}
	tlsClient := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", httpsPort))
			},
			TLSClientConfig: &tls.Config{ServerName: name, InsecureSkipVerify: true}, // self-signed
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	base := fmt.Sprintf("https://%s:%d", name, httpsPort)
	link = strings.TrimSpace(s.mustAegir("user", "login-link", "admin", "--url", base))
	req, _ = http.NewRequest("POST", link, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = tlsClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 || !slices.Contains(resp.TLS.PeerCertificates[0].DNSNames, name) {
		t.Fatalf("the front end's certificate does not name %s", name)
	}
	session = nil
	for _, c := range resp.Cookies() {
		if c.Name == "aegir_session" && c.Value != "" {
			session = c
		}
	}
	if session == nil || !session.Secure {
		t.Fatalf("the login over HTTPS answered %d with session cookie %v, want a Secure one", resp.StatusCode, session)
	}
}
