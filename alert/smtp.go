package alert

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/aegir-hosting/aegir"
)

// SMTP is how e-mail alerts leave: the mail server, its login and the
// sender. The file that holds it must be private to its owner (it holds a
// password); the password is never logged.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
	// CAFile is a PEM file of the CAs that sign the server's certificate
	// for STARTTLS, when they are not the system's.
	CAFile string `yaml:"ca_file"`
}

// String hides the password, so that printing the settings leaks nothing.
func (c *SMTP) String() string {
	return fmt.Sprintf("smtp://%s@%s:%d (from %s)", c.Username, c.Host, c.Port, c.From)
}

// LoadSMTP reads the SMTP settings of path; a missing file is no settings
// (nil) and no error. A file that others than its owner may read is
// refused, as is a setting that is not valid.
func LoadSMTP(path string) (*SMTP, error) {
	info, err := os.Stat(path)
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, aegir.FieldErrorf("smtp", "%s holds a password and may be read by others (mode %v): chmod 600 it", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c SMTP
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, aegir.FieldErrorf("smtp", "%s: %v", path, err)
	}
	return &c, c.Validate()
}

// Validate reports the first invalid setting.
func (c *SMTP) Validate() error {
	if err := aegir.ValidateURI("host", c.Host); err != nil && net.ParseIP(c.Host) == nil {
		return aegir.FieldErrorf("host", "%q is not a host name or address", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		return aegir.FieldErrorf("port", "%d is not a TCP port", c.Port)
	}
	if !emailAddress(c.From) {
		return aegir.FieldErrorf("from", "%q is not an email address", c.From)
	}
	if strings.ContainsAny(c.Username+c.Password, "\r\n") {
		return aegir.FieldErrorf("username", "holds a line break")
	}
	return nil
}

// emailAddress is a strict check of an address that goes into a header
// and an SMTP command: no spaces, line breaks or angle brackets.
func emailAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && len(s) <= 254 && !strings.ContainsAny(s, " \t\r\n<>,;\"")
}

// send mails subject and body to one address. STARTTLS is used when the
// server offers it (and required before a password is sent: net/smtp's
// PlainAuth refuses to send it in clear to any host but localhost).
func (c *SMTP) send(to, subject, body string, timeout time.Duration) error {
	if !emailAddress(to) {
		return aegir.FieldErrorf("email", "%q is not an email address", to)
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	client, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer client.Close()
	if err := client.Hello("aegir"); err != nil {
		return err
	}
	if ok, _ := client.Extension("STARTTLS"); ok {
		cfg := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return err
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return aegir.FieldErrorf("ca_file", "%s holds no PEM certificate", c.CAFile)
			}
		}
		if err := client.StartTLS(cfg); err != nil {
			return err
		}
	}
	if c.Username != "" {
		if err := client.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return err
		}
	}
	if err := client.Mail(c.From); err != nil {
		return err
	}
	if err := client.Rcpt(to); err != nil {
		return err
	}
	w, err := client.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(message(c.From, to, subject, body)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return client.Quit()
}

// message is the RFC 5322 text of a plain-text mail. The subject loses
// its line breaks, so that no input adds a header.
func message(from, to, subject, body string) []byte {
	subject = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, subject)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		from, to, subject, time.Now().Format(time.RFC1123Z))
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.Bytes()
}
