package provision_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/provision"

	// The drivers a site on a php platform needs, and the certificates.
	_ "github.com/aegir-hosting/aegir/apache"
	_ "github.com/aegir-hosting/aegir/mysql"
	_ "github.com/aegir-hosting/aegir/nginx"
	_ "github.com/aegir-hosting/aegir/null"
	_ "github.com/aegir-hosting/aegir/phpapp"
	_ "github.com/aegir-hosting/aegir/ssl"
)

// webStack is a private hosting stack for provision's tasks: $AEGIR_HOME
// under a temp dir, a private nginx or Apache and php-fpm on free loopback
// ports, MariaDB databases whose names hold token (dropped when the test
// ends), a server context and a php platform "p" verified.
type webStack struct {
	t         *testing.T
	kind      string
	paths     aegir.Paths
	store     *contextfile.Store
	backend   *provision.Backend
	httpPort  int
	httpsPort int
	token     string
}

// indexPHP is the platform's one page: who asked, and over what.
const indexPHP = `<?php echo "site=", $_SERVER['HTTP_HOST'] ?? '', " https=", $_SERVER['HTTPS'] ?? 'off', "\n";`

func newWebStack(t *testing.T, kind string) *webStack {
	t.Helper()
	teststack.Require(t, "php-fpm8.2")
	fpm := teststack.StartPHPFPM(t)
	dir := teststack.WebDir(t)
	s := &webStack{
		t: t, kind: kind, paths: aegir.Paths{Home: filepath.Join(dir, "aegir")},
		httpPort: teststack.FreePort(t), httpsPort: teststack.FreePort(t), token: "s" + teststack.RandomHex(t, 4),
	}
	s.store = contextfile.New(s.paths)
	s.backend = &provision.Backend{Paths: s.paths, Contexts: s.store, Runner: &local.Runner{}}
	t.Cleanup(s.dropDatabases)

	props := map[string]string{
		"http_service_type": kind, "http_port": fmt.Sprint(s.httpPort), "https_port": fmt.Sprint(s.httpsPort),
		"php_fpm_socket": fpm.Socket, "master_db": "mysql://root:@127.0.0.1:3306", "web_group": "www-data",
	}
	switch kind {
	case aegir.ServiceNginx:
		n := teststack.StartNginx(t)
		props["http_test_cmd"], props["http_restart_cmd"] = strings.Join(n.TestCmd(), " "), strings.Join(n.ReloadCmd(), " ")
		props["http_conf_link"] = filepath.Join(n.ConfD, "aegir.conf")
	case aegir.ServiceApache:
		a := teststack.StartApache(t)
		props["http_test_cmd"], props["http_restart_cmd"] = strings.Join(a.TestCmd(), " "), strings.Join(a.RestartCmd(), " ")
		props["http_conf_link"] = filepath.Join(a.ConfD, "aegir.conf")
	}
	s.save("@server_master", aegir.ServerContext, props)
	s.mustRun(aegir.TaskVerify, "@server_master", nil)

	root := filepath.Join(s.paths.Platforms(), "p")
	teststack.WriteFiles(t, root, map[string]string{"index.php": indexPHP})
	s.save("@platform_p", aegir.PlatformContext, map[string]string{"root": root})
	s.mustRun(aegir.TaskVerify, "@platform_p", nil)
	return s
}

// save writes a context as aegir save does: the named properties change,
// the others stay.
func (s *webStack) save(name string, typ aegir.ContextType, props map[string]string) {
	s.t.Helper()
	ctx := context.Background()
	c, err := s.store.Get(ctx, aegir.ContextName(name))
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		c, err = aegir.NewContext(name, typ)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range props {
		if err := c.SetProperty(k, v); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := c.WithDefaults().Validate(); err != nil {
		s.t.Fatal(err)
	}
	if err := s.store.Put(ctx, c); err != nil {
		s.t.Fatal(err)
	}
}

// run runs a task with the given arguments and returns its Result.
func (s *webStack) run(task, name string, args map[string]string) (*aegir.Result, error) {
	s.t.Helper()
	return s.backend.Run(context.Background(), task, name, aegir.TaskOptions{Args: args})
}

func (s *webStack) mustRun(task, name string, args map[string]string) *aegir.Result {
	s.t.Helper()
	r, err := s.run(task, name, args)
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", task, name, err, logText(r))
	}
	return r
}

func logText(r *aegir.Result) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	for _, e := range r.Log {
		fmt.Fprintf(&b, "  %s: %s\n", e.Level, e.Message)
	}
	return b.String()
}

// site is the name of a site of the stack.
func (s *webStack) site(prefix string) string { return prefix + s.token + ".test" }

// dropDatabases removes what the test's sites left on MariaDB.
func (s *webStack) dropDatabases() {
	db := teststack.RootDB(s.t)
	rows, err := db.Query("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?", "%"+s.token+"%")
	if err == nil {
		var names []string
		for rows.Next() {
			var n string
			if rows.Scan(&n) == nil {
				names = append(names, n)
			}
		}
		rows.Close()
		for _, n := range names {
			db.Exec("DROP DATABASE `" + n + "`")
		}
	}
	rows, err = db.Query("SELECT CONCAT('`', user, '`@`', host, '`') FROM mysql.user WHERE user LIKE ?", "%"+s.token+"%")
	if err == nil {
		var users []string
		for rows.Next() {
			var u string
			if rows.Scan(&u) == nil {
				users = append(users, u)
			}
		}
		rows.Close()
		for _, u := range users {
			db.Exec("DROP USER " + u)
		}
	}
}

// answer is what one request got.
type answer struct {
	status   int
	body     string
	location string
	header   http.Header
	proto    int    // major HTTP version
	serial   string // of the certificate the server showed, over TLS
}

func (a answer) String() string {
	return fmt.Sprintf("%d %q (Location %q)", a.status, a.body, a.location)
}

// fetch requests url from the stack (every host name reaches 127.0.0.1 on
// the URL's port), trusting roots over TLS; it never follows redirects.
func fetch(url string, roots *x509.CertPool) (answer, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true, ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(url)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header, proto: resp.ProtoMajor}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		a.serial = fmt.Sprintf("%x", resp.TLS.PeerCertificates[0].SerialNumber)
	}
	return a, err
}

// expect asks url until it answers status with want in the body, for 5 s
// at most (the drivers wait for a reload to go live; this smooths over a
// busy machine), and returns the answer.
func expect(t *testing.T, url string, roots *x509.CertPool, status int, want string) answer {
	t.Helper()
	var last answer
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		last, err = fetch(url, roots)
		if err == nil && last.status == status && strings.Contains(last.body, want) {
			return last
		}
	}
	t.Fatalf("GET %s: got %v (error %v), want %d with %q", url, last, err, status, want)
	return last
}

// certPool reads the PEM certificates of path into a pool.
func certPool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("no certificate in %s", path)
	}
	return pool
}

// certificate returns the certificate the site's task reported.
func certificateOf(t *testing.T, s *webStack, r *aegir.Result) (name, certFile, keyFile string) {
	t.Helper()
	c := aegir.PartOf[aegir.CertificateUsed](r.Data)
	if c == nil || c.Certificate == nil {
		t.Fatalf("the task reported no certificate: %+v", r.Data)
	}
	name = c.Certificate.Name
	dir := filepath.Join(s.paths.SSL(), name, "live")
	return name, filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
}

// TestHTTPSRequiredSiteServesOverTLSAndRedirectsPlainHTTP installs a site
// with ssl_enabled=2 and a self-signed certificate on nginx and on Apache:
// https:// with its name (SNI and Host) returns the site, verified with
// the certificate as the only root; http:// answers 301 to https, but for
// ACME challenges. Switching SSL off and on again keeps the site serving
// at every step, and removes the certificate no site uses.
func TestHTTPSRequiredSiteServesOverTLSAndRedirectsPlainHTTP(t *testing.T) {
	for _, kind := range []string{aegir.ServiceNginx, aegir.ServiceApache} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := newWebStack(t, kind)
			uri := s.site("a")
			www := "www." + uri
			https := func(host, path string) string { return fmt.Sprintf("https://%s:%d%s", host, s.httpsPort, path) }
			plain := func(host, path string) string { return fmt.Sprintf("http://%s:%d%s", host, s.httpPort, path) }

			s.save("@"+uri, aegir.SiteContext, map[string]string{
				"platform": "@platform_p", "aliases": www, "ssl_enabled": "2", "ssl_provider": aegir.SSLSelfSigned,
			})
			r := s.mustRun(aegir.TaskInstall, "@"+uri, nil)
			if got, want := aegir.PartOf[aegir.SiteFacts](r.Data).URL, https(uri, ""); got != want {
				t.Errorf("url %v, want %s", got, want)
			}
			name, certFile, keyFile := certificateOf(t, s, r)
			if name != uri {
				t.Errorf("certificate %q, want the uri %s", name, uri)
			}
			if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key %s: %v %v, want mode 0600", keyFile, fi, err)
			}
			roots := certPool(t, certFile)
			a := expect(t, https(uri, "/"), roots, 200, "site="+uri)
			if !strings.Contains(a.body, "https=on") {
				t.Errorf("PHP did not see HTTPS: %q", a.body)
			}
			if kind == aegir.ServiceNginx && a.proto != 2 {
				t.Errorf("nginx answered over HTTP/%d, want HTTP/2", a.proto)
			}
			expect(t, https(www, "/"), roots, 200, "site="+www)
			// An install that fails after its certificate was made takes
			// the certificate away with the rest.
			other := s.site("b")
			s.save("@"+other, aegir.SiteContext, map[string]string{"platform": "@platform_p", "ssl_enabled": "1"})
			if _, err := s.backend.Run(context.Background(), aegir.TaskInstall, "@"+other, aegir.TaskOptions{FailAt: "context"}); err == nil {
				t.Fatal("the install did not fail at its context step")
			}
			if _, err := os.Stat(filepath.Join(s.paths.SSL(), other)); !os.IsNotExist(err) {
				t.Errorf("a rolled back install left its certificate: %v", err)
			}
			a = expect(t, plain(www, "/some/page?x=1"), nil, 301, "")
			if want := https(www, "/some/page?x=1"); a.location != want {
				t.Errorf("plain HTTP redirects to %q, want %q", a.location, want)
			}
			// ACME challenges are answered over plain HTTP, not redirected.
			teststack.WriteFiles(t, s.paths.ChallengeDir(aegir.MasterServer), map[string]string{"tok-1": "tok-1.key"})
			expect(t, plain(uri, "/.well-known/acme-challenge/tok-1"), nil, 200, "tok-1.key")

			// SSL off: plain HTTP serves the site, the certificate goes.
			s.save("@"+uri, aegir.SiteContext, map[string]string{"ssl_enabled": "0"})
			s.mustRun(aegir.TaskVerify, "@"+uri, nil)
			expect(t, plain(uri, "/"), nil, 200, " https=off")
			if _, err := os.Stat(filepath.Join(s.paths.SSL(), name)); !os.IsNotExist(err) {
				t.Errorf("the certificate outlived the site's SSL: %v", err)
			}

			// SSL required again, with HSTS: a new certificate.
			s.save("@"+uri, aegir.SiteContext, map[string]string{"ssl_enabled": "2", "hsts": "true"})
			r = s.mustRun(aegir.TaskVerify, "@"+uri, nil)
			_, certFile, _ = certificateOf(t, s, r)
			roots = certPool(t, certFile)
			a = expect(t, https(uri, "/"), roots, 200, " https=on")
			if got := a.header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
				t.Errorf("Strict-Transport-Security %q", got)
			}
			expect(t, plain(uri, "/"), nil, 301, "")
		})
	}
}
