package teststack

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message a MailSink received.
type Mail struct {
	From string
	To   []string
	Data string
	// TLS tells whether the message came after STARTTLS; User is the
	// login it came with ("" without AUTH).
	TLS  bool
	User string
}

// MailSink is a real SMTP server (github.com/emersion/go-smtp) on a free
// loopback port that keeps what it receives. It offers STARTTLS with a
// certificate for 127.0.0.1 (its PEM is at CAFile) and AUTH PLAIN, only
// after STARTTLS, for User and Password.
type MailSink struct {
	Host, User, Password string
	Port                 int
	CAFile               string

	mu       sync.Mutex
	mail     []Mail
	received chan struct{}
}

// StartMailSink starts a MailSink, stopped when the test ends.
func StartMailSink(t testing.TB) *MailSink {
	t.Helper()
	cert, certPEM := loopbackCert(t)
	m := &MailSink{Host: "127.0.0.1", User: "aegir", Password: RandomHex(t, 8), CAFile: filepath.Join(t.TempDir(), "ca.pem"),
		received: make(chan struct{}, 100)}
	if err := os.WriteFile(m.CAFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: m, conn: c}, nil }))
	s.Domain = "sink.test"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.Port = ln.Addr().(*net.TCPAddr).Port
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return m
}

// Mail returns what the sink received so far.
func (m *MailSink) Mail() []Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Mail(nil), m.mail...)
}

// Wait waits until the sink holds n messages, or fails the test after
// timeout.
func (m *MailSink) Wait(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := m.Mail(); len(got) >= n {
			return got
		}
		select {
		case <-m.received:
		case <-deadline:
			t.Fatalf("the mail sink received %d messages, want %d: %+v", len(m.Mail()), n, m.Mail())
		}
	}
}

type sinkSession struct {
	sink *MailSink
	conn *smtp.Conn
	user string
	cur  Mail
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if _, ok := s.conn.TLSConnectionState(); !ok {
			return errors.New("AUTH before STARTTLS")
		}
		if user != s.sink.User || password != s.sink.Password {
			return errors.New("bad login")
		}
		s.user = user
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur = Mail{From: from, User: s.user}
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	_, s.cur.TLS = s.conn.TLSConnectionState()
	s.cur.Data = b.String()
	s.sink.mu.Lock()
	s.sink.mail = append(s.sink.mail, s.cur)
	s.sink.mu.Unlock()
	select {
	case s.sink.received <- struct{}{}:
	default:
	}
	return nil
}

func (s *sinkSession) Reset()        { s.cur = Mail{} }
func (s *sinkSession) Logout() error { return nil }

// loopbackCert makes a self-signed certificate for 127.0.0.1, and its PEM
// to trust it by.
func loopbackCert(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}
