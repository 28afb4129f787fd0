package ssl

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-acme/lego/v4/acme"
	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/certificate"
	"github.com/go-acme/lego/v4/lego"
	"github.com/go-acme/lego/v4/registration"
)

// Files of an ACME account, in _acme/<directory>/.
const (
	accountKeyFile = "account.key"
	accountFile    = "account.json"
)

// acmeIssuer gets certificates from the ACME directory of its service's
// Config, answering http-01 challenges.
type acmeIssuer struct{ s *Service }

func (a *acmeIssuer) name() string { return a.s.cfg.Directory }

// accountDir is where the account with the directory is kept: its host,
// port and path, made a file name.
func (a *acmeIssuer) accountDir() string {
	return filepath.Join(a.s.paths.SSL(), accountsDir, directoryKey(a.s.cfg.Directory))
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9.-]+`)

// directoryKey turns a directory URL into a directory name.
func directoryKey(dir string) string {
	u, err := url.Parse(dir)
	key := dir
	if err == nil && u.Host != "" {
		key = u.Host + u.Path
	}
	key = strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(key), "_"), "_.")
	if key == "" {
		key = "default"
	}
	return key
}

// account is the ACME account aegir uses with one directory.
type account struct {
	Email        string                 `json:"email,omitempty"`
	Registration *registration.Resource `json:"registration,omitempty"`
	key          crypto.PrivateKey
}

// GetEmail returns the account's contact.
func (u *account) GetEmail() string { return u.Email }

// GetRegistration returns the account's registration, nil before it is
// registered.
func (u *account) GetRegistration() *registration.Resource { return u.Registration }

// GetPrivateKey returns the account key.
func (u *account) GetPrivateKey() crypto.PrivateKey { return u.key }

// loadAccount reads the account, or makes a new key for one that is not
// registered yet.
func (a *acmeIssuer) loadAccount() (*account, error) {
	dir := a.accountDir()
	if err := makeStore(a.s.paths.SSL(), filepath.Join(a.s.paths.SSL(), accountsDir), dir); err != nil {
		return nil, err
	}
	acct := &account{Email: a.s.cfg.Email}
	keyPEM, err := os.ReadFile(filepath.Join(dir, accountKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		key, err := certcrypto.GeneratePrivateKey(certcrypto.EC256)
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(dir, accountKeyFile), certcrypto.PEMEncode(key), keyMode); err != nil {
			return nil, err
		}
		acct.key = key
		return acct, nil
	} else if err != nil {
		return nil, err
	}
	if acct.key, err = certcrypto.ParsePEMPrivateKey(keyPEM); err != nil {
		return nil, fmt.Errorf("account key %s: %w", filepath.Join(dir, accountKeyFile), err)
	}
	data, err := os.ReadFile(filepath.Join(dir, accountFile))
	if errors.Is(err, fs.ErrNotExist) {
		return acct, nil
	} else if err != nil {
		return nil, err
	}
	var saved account
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, fmt.Errorf("account %s: %w", filepath.Join(dir, accountFile), err)
	}
	// A new contact means a new registration.
	if saved.Email == acct.Email {
		acct.Registration = saved.Registration
	}
	return acct, nil
}

// register registers the account and stores its registration.
func (a *acmeIssuer) register(client *lego.Client, acct *account) error {
	reg, err := client.Registration.Register(registration.RegisterOptions{TermsOfServiceAgreed: true})
	if err != nil {
		return fmt.Errorf("register an ACME account: %w", err)
	}
	acct.Registration = reg
	data, err := json.MarshalIndent(acct, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(a.accountDir(), accountFile), append(data, '\n'), metaMode); err != nil {
		return err
	}
	a.s.infof("registered ACME account %s with %s", reg.URI, a.s.cfg.Directory)
	return nil
}

// httpClient trusts the system's CAs and the Config's.
func (a *acmeIssuer) httpClient() (*http.Client, error) {
	if len(a.s.cfg.CACertificates) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(a.s.cfg.CACertificates) {
		return nil, fmt.Errorf("no PEM certificate in the extra CA certificates (%s)", EnvACMECACerts)
	}
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSHandshakeTimeout: 15 * time.Second,
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}, nil
}

// issue gets a certificate for domains. The account is locked meanwhile,
// so two tasks never register it twice.
func (a *acmeIssuer) issue(ctx context.Context, domains []string, challengeDir string) ([]byte, []byte, error) {
	if challengeDir == "" || !filepath.IsAbs(challengeDir) {
		return nil, nil, fmt.Errorf("no challenge directory for http-01")
	}
	unlock, err := a.s.lock("_acme_" + directoryKey(a.s.cfg.Directory))
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	acct, err := a.loadAccount()
	if err != nil {
		return nil, nil, err
	}
	cfg := lego.NewConfig(acct)
	cfg.CADirURL = a.s.cfg.Directory
	cfg.UserAgent = "aegir"
	cfg.Certificate.KeyType = certcrypto.EC256
	if client, err := a.httpClient(); err != nil {
		return nil, nil, err
	} else if client != nil {
		cfg.HTTPClient = client
	}
	client, err := lego.NewClient(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("reach the ACME directory: %w", err)
	}
	if err := client.Challenge.SetHTTP01Provider(webroot(challengeDir)); err != nil {
		return nil, nil, err
	}
	if acct.Registration == nil {
		if err := a.register(client, acct); err != nil {
			return nil, nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	res, err := client.Certificate.Obtain(certificate.ObtainRequest{Domains: domains, Bundle: true})
	if accountGone(err) {
		// The CA forgot the account (a test CA restarted, or it was
		// deactivated): register the key again, once.
		a.s.warnf("the ACME server does not know account %s: registering again", acct.Registration.URI)
		if err := a.register(client, acct); err != nil {
			return nil, nil, err
		}
		res, err = client.Certificate.Obtain(certificate.ObtainRequest{Domains: domains, Bundle: true})
	}
	if err != nil {
		return nil, nil, err
	}
	return res.Certificate, res.PrivateKey, nil
}

// accountGone reports an error saying the account does not exist.
func accountGone(err error) bool {
	var problem *acme.ProblemDetails
	return errors.As(err, &problem) && strings.HasSuffix(problem.Type, ":accountDoesNotExist")
}

// webroot answers http-01 challenges with files in a directory the web
// server serves /.well-known/acme-challenge/ from.
type webroot string

// tokenPattern is what an ACME token may be (base64url); anything else
// never becomes a file name.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// Present writes the key authorization of token, readable by the web
// server's workers.
func (w webroot) Present(domain, token, keyAuth string) error {
	if !tokenPattern.MatchString(token) {
		return fmt.Errorf("refusing ACME token %q for %s", token, domain)
	}
	if err := os.MkdirAll(string(w), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(string(w), 0o755); err != nil {
		return err
	}
	return writeFile(filepath.Join(string(w), token), []byte(keyAuth), 0o644)
}

// CleanUp removes the token's file.
func (w webroot) CleanUp(domain, token, keyAuth string) error {
	if !tokenPattern.MatchString(token) {
		return nil
	}
	if err := os.Remove(filepath.Join(string(w), token)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
