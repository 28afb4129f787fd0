package ssl_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/ssl"
)

// setup returns a self-signed service on a fresh $AEGIR_HOME whose clock
// the test moves, and its log.
func setup(t *testing.T) (*ssl.Service, *aegir.TaskLog, *time.Time) {
	t.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	log := aegir.NewTaskLog(nil)
	svc, err := ssl.New(aegir.Paths{Home: t.TempDir()}, aegir.SSLSelfSigned, log, ssl.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, log, &now
}

func request(site, name string, domains ...string) *aegir.CertificateRequest {
	return &aegir.CertificateRequest{Name: name, Site: site, Domains: append([]string{site}, domains...), Provider: aegir.SSLSelfSigned}
}

func obtain(t *testing.T, svc *ssl.Service, req *aegir.CertificateRequest) (*aegir.Certificate, aegir.Undo) {
	t.Helper()
	cert, undo, err := svc.Obtain(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return cert, undo
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSelfSignedCoversTheNamesAndVerifiesAsItsOwnRoot(t *testing.T) {
	t.Parallel()
	now := time.Now()
	certPEM, keyPEM, err := ssl.SelfSigned([]string{"a.test", "www.a.test"}, now, ssl.SelfSignedValidity)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	if !slices.Equal(leaf.DNSNames, []string{"a.test", "www.a.test"}) || leaf.Subject.CommonName != "a.test" {
		t.Fatalf("names %v, common name %q", leaf.DNSNames, leaf.Subject.CommonName)
	}
	if d := leaf.NotAfter.Sub(now); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Fatalf("valid for %s", d)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"a.test", "www.a.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "b.test", Roots: roots}); err == nil {
		t.Error("the certificate verified for a name it does not cover")
	}
}

func TestObtainWritesAKeyOnlyItsOwnerReads(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	cert, _ := obtain(t, svc, request("a.test", "a.test", "www.a.test"))
	if !slices.Equal(cert.Domains, []string{"a.test", "www.a.test"}) || !slices.Equal(cert.Sites, []string{"a.test"}) {
		t.Fatalf("certificate %+v", cert)
	}
	for path, want := range map[string]os.FileMode{cert.KeyFile: 0o600, cert.CertFile: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", path, fi.Mode().Perm(), want)
		}
	}
	if _, err := tls.LoadX509KeyPair(cert.CertFile, cert.KeyFile); err != nil {
		t.Fatalf("the key does not match the certificate: %v", err)
	}
	// The paths stay the same across renewals: vhosts name them.
	if !strings.Contains(cert.CertFile, filepath.Join("ssl.d", "a.test", "live")) {
		t.Errorf("certificate file %s is not under ssl.d/a.test/live", cert.CertFile)
	}
}

func TestObtainReusesAGoodCertificateAndRenewsOnRequest(t *testing.T) {
	t.Parallel()
	svc, _, now := setup(t)
	first, _ := obtain(t, svc, request("a.test", "a.test"))
	again, _ := obtain(t, svc, request("a.test", "a.test"))
	if again.Serial != first.Serial {
		t.Fatal("a good certificate was replaced")
	}
	req := request("a.test", "a.test")
	req.Renew = true
	renewed, _ := obtain(t, svc, req)
	if renewed.Serial == first.Serial || renewed.CertFile != first.CertFile {
		t.Fatalf("renewal: serial %s (was %s), file %s (was %s)", renewed.Serial, first.Serial, renewed.CertFile, first.CertFile)
	}
	// An alias the certificate does not cover makes a new one.
	widened, _ := obtain(t, svc, request("a.test", "a.test", "www.a.test"))
	if widened.Serial == renewed.Serial || !slices.Contains(widened.Domains, "www.a.test") {
		t.Fatalf("adding an alias: %+v", widened)
	}
	// Past its end, a certificate is replaced.
	*now = widened.NotAfter.Add(time.Hour)
	expired, _ := obtain(t, svc, request("a.test", "a.test", "www.a.test"))
	if expired.Serial == widened.Serial {
		t.Fatal("an expired certificate was kept")
	}
}

func TestOneCertificateIsSharedAndRemovedWithItsLastSite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, _ := setup(t)
	obtain(t, svc, request("a.test", "shared", "www.a.test"))
	cert, _ := obtain(t, svc, request("b.test", "shared"))
	if !slices.Equal(cert.Sites, []string{"a.test", "b.test"}) {
		t.Fatalf("sites %v", cert.Sites)
	}
	for _, name := range []string{"a.test", "www.a.test", "b.test"} {
		if !slices.Contains(cert.Domains, name) {
			t.Errorf("the shared certificate does not cover %s: %v", name, cert.Domains)
		}
	}
	dir := filepath.Dir(filepath.Dir(cert.CertFile))

	// Releasing the kept certificate changes nothing.
	if undo, err := svc.Release(ctx, "a.test", "shared"); err != nil || undo != nil {
		t.Fatalf("release keeping it: undo %v, %v", undo != nil, err)
	}
	if _, err := svc.Release(ctx, "a.test", ""); err != nil {
		t.Fatal(err)
	}
	list, err := svc.List(ctx)
	if err != nil || len(list) != 1 || !slices.Equal(list[0].Sites, []string{"b.test"}) {
		t.Fatalf("after a.test left: %+v, %v", list, err)
	}
	undo, err := svc.Release(ctx, "b.test", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the certificate outlived its last site: %v", err)
	}
	// The undo puts it back as it was.
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if list, err := svc.List(ctx); err != nil || len(list) != 1 || list[0].Serial != cert.Serial || !slices.Equal(list[0].Sites, []string{"b.test"}) {
		t.Fatalf("after the undo: %+v, %v", list, err)
	}
	if fi, err := os.Stat(cert.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key after the undo: %v %v", fi, err)
	}
}

func TestUndoOfObtainRemovesTheCertificateItCreated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, _ := setup(t)
	cert, undo := obtain(t, svc, request("a.test", "a.test"))
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(filepath.Dir(cert.CertFile))); !os.IsNotExist(err) {
		t.Fatalf("the undo left the certificate: %v", err)
	}

	// The undo of a renewal puts the previous certificate back.
	first, _ := obtain(t, svc, request("a.test", "a.test"))
	before := readFile(t, first.CertFile)
	req := request("a.test", "a.test")
	req.Renew = true
	_, undo = obtain(t, svc, req)
	if bytes.Equal(before, readFile(t, first.CertFile)) {
		t.Fatal("the renewal did not replace the certificate")
	}
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, readFile(t, first.CertFile)) {
		t.Fatal("the undo did not put the previous certificate back")
	}

	// The undo of joining a shared certificate only takes the site off.
	_, undo = obtain(t, svc, request("b.test", "a.test"))
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := svc.List(ctx)
	if len(list) != 1 || !slices.Equal(list[0].Sites, []string{"a.test"}) || !bytes.Equal(before, readFile(t, first.CertFile)) {
		t.Fatalf("after undoing b.test's join: %+v", list)
	}
}

func TestSitesSharingACertificateMustShareTheProvider(t *testing.T) {
	t.Parallel()
	paths := aegir.Paths{Home: t.TempDir()}
	svc, err := ssl.New(paths, aegir.SSLSelfSigned, nil, ssl.Config{})
	if err != nil {
		t.Fatal(err)
	}
	obtain(t, svc, request("a.test", "shared"))
	acme, err := ssl.New(paths, aegir.SSLACME, nil, ssl.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = acme.Obtain(context.Background(), &aegir.CertificateRequest{Name: "shared", Site: "b.test", Domains: []string{"b.test"}, Provider: aegir.SSLACME, ChallengeDir: t.TempDir()})
	if e, ok := err.(*aegir.Error); !ok || e.Field != "ssl_provider" || !strings.Contains(err.Error(), "a.test") {
		t.Fatalf("got %v, want an ssl_provider error naming a.test", err)
	}
}

func TestObtainRefusesNamesThatAreNotPaths(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	for _, req := range []*aegir.CertificateRequest{
		request("a.test", "../etc"),
		request("a.test", "_acme"),
		request("a.test", "a.test", "bad name"),
		request("A.test", "a.test"),
	} {
		if _, _, err := svc.Obtain(context.Background(), req); aegir.ErrorCode(err) != aegir.EINVALID {
			t.Errorf("%+v: got %v, want EINVALID", req, err)
		}
	}
}
