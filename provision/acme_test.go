package provision_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/ssl"
)

// pebbleVersion is the Pebble the ACME test runs, built through the Go
// module proxy when it is not in the cache yet.
const pebbleVersion = "v2.10.1"

// pebbleBinary returns the path of Pebble, building it into the user's
// cache directory (once) with go install.
func pebbleBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "aegir-test", "pebble-"+pebbleVersion)
	bin := filepath.Join(dir, "pebble")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	teststack.Require(t, "go")
	cmd := exec.Command("go", "install", "github.com/letsencrypt/pebble/v2/cmd/pebble@"+pebbleVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install pebble@%s: %v\n%s", pebbleVersion, err, out)
	}
	return bin
}

// testCA makes a CA and a certificate for 127.0.0.1 and localhost signed
// by it, for Pebble's own listeners, and writes them to dir: ca.pem,
// cert.pem, key.pem.
func testCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "aegir test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for path, block := range map[string]*pem.Block{
		caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile: {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// startDNS answers every A question with 127.0.0.1, so Pebble's validation
// of any name reaches the test's web server, except for names that start
// with "unreachable.", which have no address. It listens on TCP, as Pebble
// asks, and stops when the test ends.
func startDNS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: l, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA && !strings.HasPrefix(question.Name, "unreachable.") {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return l.Addr().String()
}

// pebble is a running Pebble ACME server of the test's own.
type pebble struct {
	Directory string // the ACME directory URL
	CAFile    string // the CA of Pebble's own listeners
	Root      []byte // the root Pebble issues certificates under (PEM)
}

// startPebble runs Pebble on loopback, validating http-01 challenges on
// httpPort of whatever the names resolve to (startDNS: 127.0.0.1), without
// its random delays and nonce rejections, reusing valid authorizations.
// It is stopped when the test ends.
func startPebble(t *testing.T, httpPort int) *pebble {
	t.Helper()
	bin := pebbleBinary(t)
	dir := t.TempDir()
	caFile, certFile, keyFile := testCA(t, dir)
	listen, manage := teststack.FreePort(t), teststack.FreePort(t)
	var cfg struct {
		Pebble map[string]any `json:"pebble"`
	}
	cfg.Pebble = map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", listen),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", manage),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       httpPort,
		"tlsPort":                        teststack.FreePort(t),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"profiles":                       map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 7776000}},
	}
	data, _ := json.Marshal(cfg)
	conf := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(conf, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", conf, "-dnsserver", startDNS(t))
	// Valid authorizations are always reused: lego polls a challenge
	// first after 5 s (Pebble sends no Retry-After with it), so each
	// validation costs that; the first issue validates every name.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=100")
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("pebble output:\n%s", out)
		}
	})

	p := &pebble{Directory: fmt.Sprintf("https://127.0.0.1:%d/dir", listen), CAFile: caFile}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPool(t, caFile)}}}
	get := func(url string) ([]byte, error) {
		resp, err := client.Get(url)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		return body, err
	}
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err = get(p.Directory); err == nil {
			break
		}
		select {
		case <-done:
			t.Fatalf("pebble exited:\n%s", out)
		default:
		}
	}
	if err != nil {
		t.Fatalf("pebble did not answer: %v", err)
	}
	if p.Root, err = get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", manage)); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestACMECertificateIsIssuedRenewedAndKeptWhenAnIssueFails gets a
// certificate from Pebble for a site and its alias, Pebble validating the
// http-01 challenges on the test's nginx: the site serves it over TLS,
// verified against Pebble's root. A forced renewal (the renewal
// scheduler's verify renew=1) replaces it. An issue that cannot succeed
// (an alias whose challenge nginx never gets) fails the task with the
// ACME error in its log, and leaves the certificate in place, served and
// recorded as failed.
func TestACMECertificateIsIssuedRenewedAndKeptWhenAnIssueFails(t *testing.T) {
	s := newWebStack(t, aegir.ServiceNginx)
	p := startPebble(t, s.httpPort)
	t.Setenv(ssl.EnvACMEDirectory, p.Directory)
	t.Setenv(ssl.EnvACMECACerts, p.CAFile)
	t.Setenv(ssl.EnvACMEEmail, "")
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(p.Root) {
		t.Fatalf("no root from pebble: %q", p.Root)
	}
	uri := s.site("a")
	www := "www." + uri
	https := func(host string) string { return fmt.Sprintf("https://%s:%d/", host, s.httpsPort) }

	s.save("@"+uri, aegir.SiteContext, map[string]string{
		"platform": "@platform_p", "aliases": www, "ssl_enabled": "2", "ssl_provider": aegir.SSLACME,
	})
	r := s.mustRun(aegir.TaskInstall, "@"+uri, nil)
	name, certFile, _ := certificateOf(t, s, r)
	first := expect(t, https(uri), roots, 200, "site="+uri)
	expect(t, https(www), roots, 200, "site="+www)
	if c := aegir.PartOf[aegir.CertificateUsed](r.Data).Certificate; c.Provider != aegir.SSLACME {
		t.Errorf("certificate %+v", c)
	}
	// The account is kept for the next certificate.
	if _, err := os.Stat(filepath.Join(s.paths.SSL(), "_acme")); err != nil {
		t.Errorf("no ACME account stored: %v", err)
	}

	// A forced renewal replaces the certificate, and nginx serves the new one.
	r = s.mustRun(aegir.TaskVerify, "@"+uri, map[string]string{"renew": "1"})
	renewed := expect(t, https(uri), roots, 200, "site="+uri)
	if renewed.serial == first.serial {
		t.Fatalf("the renewal left serial %s in place", first.serial)
	}
	if got := aegir.PartOf[aegir.CertificateUsed](r.Data).Certificate.Serial; got != renewed.serial {
		t.Errorf("the task reported serial %v, nginx serves %s", got, renewed.serial)
	}
	before, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}

	// An alias no validation can reach: the issue fails, the task fails
	// with the CA's error, and the certificate in place stays.
	bad := "unreachable." + uri
	s.save("@"+uri, aegir.SiteContext, map[string]string{"aliases": www + "," + bad})
	r, err = s.run(aegir.TaskVerify, "@"+uri, nil)
	if err == nil || r.Status != aegir.StatusFailed {
		t.Fatalf("verify with an unreachable alias: status %s, error %v", r.Status, err)
	}
	log := logText(r)
	if !strings.Contains(log, bad) || !strings.Contains(log, "urn:ietf:params:acme:error") || !strings.Contains(log, "was kept") {
		t.Errorf("the log does not carry the ACME error about %s:\n%s", bad, log)
	}
	if after, _ := os.ReadFile(certFile); !bytes.Equal(before, after) {
		t.Error("a failed issue replaced the certificate")
	}
	if a := expect(t, https(uri), roots, 200, "site="+uri); a.serial != renewed.serial {
		t.Errorf("nginx serves serial %s after the failed issue, want %s", a.serial, renewed.serial)
	}
	svc, err := ssl.New(s.paths, aegir.SSLACME, nil, ssl.Config{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := svc.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Name != name || !strings.Contains(list[0].LastError, bad) {
		t.Fatalf("certificates after the failed issue: %+v, %v", list, err)
	}
}
