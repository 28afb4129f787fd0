package ssl

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

func init() {
	for _, provider := range []string{aegir.SSLSelfSigned, aegir.SSLACME} {
		aegir.RegisterCertificateProvider(provider, func(env aegir.Env) (aegir.CertificateService, error) {
			cfg, err := ConfigFromEnv()
			if err != nil {
				return nil, err
			}
			return New(env.Paths, provider, env.Log, cfg)
		})
	}
}

// LetsEncrypt is the directory of Let's Encrypt's production ACME server,
// the default.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// Environment variables ConfigFromEnv reads.
const (
	EnvACMEDirectory = "AEGIR_ACME_DIRECTORY"
	EnvACMEEmail     = "AEGIR_ACME_EMAIL"
	EnvACMECACerts   = "AEGIR_ACME_CA_CERTIFICATES"
)

// Config is how the service reaches its ACME certificate authority.
type Config struct {
	// Directory is the URL of the ACME directory; empty is LetsEncrypt.
	Directory string
	// Email is the contact of the ACME account, if any.
	Email string
	// CACertificates are PEM certificates trusted, beside the system's,
	// for the TLS of the ACME server (a test CA such as Pebble's).
	CACertificates []byte
	// Now tells the time; nil is time.Now.
	Now func() time.Time
}

// ConfigFromEnv reads the ACME settings from the environment:
// AEGIR_ACME_DIRECTORY (default Let's Encrypt's production directory),
// AEGIR_ACME_EMAIL, and AEGIR_ACME_CA_CERTIFICATES, the path of a PEM file
// of extra CA certificates to trust for the ACME server.
func ConfigFromEnv() (Config, error) {
	cfg := Config{Directory: os.Getenv(EnvACMEDirectory), Email: os.Getenv(EnvACMEEmail)}
	if path := os.Getenv(EnvACMECACerts); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", EnvACMECACerts, err)
		}
		cfg.CACertificates = data
	}
	return cfg, nil
}

// issuer gets new certificates from a provider.
type issuer interface {
	// name identifies where certificates come from: "self-signed" or the
	// ACME directory.
	name() string
	// issue returns a new certificate chain covering domains, and its key,
	// PEM-encoded.
	issue(ctx context.Context, domains []string, challengeDir string) (chain, key []byte, err error)
}

// Service is the certificate service of one provider. Release and List
// work on every certificate in the store, whichever provider issued it.
type Service struct {
	paths    aegir.Paths
	provider string
	log      *aegir.TaskLog
	cfg      Config
	issuer   issuer
}

// New returns the service that issues certificates from provider
// (self-signed or acme) into the store under paths. log may be nil when
// the service only lists certificates.
func New(paths aegir.Paths, provider string, log *aegir.TaskLog, cfg Config) (*Service, error) {
	if paths.Home == "" {
		return nil, aegir.Errorf(aegir.EINTERNAL, "ssl: no $AEGIR_HOME")
	}
	if cfg.Directory == "" {
		cfg.Directory = LetsEncrypt
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{paths: paths, provider: provider, log: log, cfg: cfg}
	switch provider {
	case aegir.SSLSelfSigned:
		s.issuer = selfSigner{now: cfg.Now}
	case aegir.SSLACME:
		s.issuer = &acmeIssuer{s: s}
	default:
		return nil, aegir.FieldErrorf("ssl_provider", "%q is not one of %s, %s", provider, aegir.SSLSelfSigned, aegir.SSLACME)
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Now() }

func (s *Service) infof(format string, args ...any) {
	if s.log != nil {
		s.log.Infof(format, args...)
	}
}

func (s *Service) warnf(format string, args ...any) {
	if s.log != nil {
		s.log.Warnf(format, args...)
	}
}

// selfSigner issues self-signed certificates.
type selfSigner struct{ now func() time.Time }

func (selfSigner) name() string { return aegir.SSLSelfSigned }

func (g selfSigner) issue(_ context.Context, domains []string, _ string) ([]byte, []byte, error) {
	return SelfSigned(domains, g.now(), SelfSignedValidity)
}

// checkRequest reports a request whose names cannot be used as paths and
// certificate names.
func (s *Service) checkRequest(req *aegir.CertificateRequest) error {
	if err := aegir.ValidateName("ssl_key", req.Name); err != nil {
		return err
	}
	if err := aegir.ValidateURI("uri", req.Site); err != nil {
		return err
	}
	if len(req.Domains) == 0 {
		return aegir.FieldErrorf("uri", "a certificate needs at least one name")
	}
	for _, d := range req.Domains {
		if err := aegir.ValidateURI("aliases", d); err != nil {
			return err
		}
	}
	if req.Provider != s.provider {
		return aegir.Errorf(aegir.EINTERNAL, "ssl: a %s service asked for a %s certificate", s.provider, req.Provider)
	}
	return nil
}

// Obtain returns the certificate req.Name for req.Site; see
// aegir.CertificateService.
func (s *Service) Obtain(ctx context.Context, req *aegir.CertificateRequest) (*aegir.Certificate, aegir.Undo, error) {
	if err := s.checkRequest(req); err != nil {
		return nil, nil, err
	}
	name := req.Name
	unlock, err := s.lock(name)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	before, err := s.readMeta(name)
	if err != nil {
		return nil, nil, err
	}
	cur, err := s.readLive(name)
	if err != nil {
		return nil, nil, err
	}
	if before == nil {
		cur = nil // files without meta are not a certificate aegir knows
	}
	m := &meta{Sites: map[string]siteUse{}}
	if before != nil {
		m = before.clone()
	}
	for _, other := range m.sites() {
		if use := m.Sites[other]; other != req.Site && use.Provider != req.Provider {
			return nil, nil, aegir.FieldErrorf("ssl_provider", "certificate %s is shared with site %s, which gets it from %s, not %s: sites that share a certificate need the same ssl_provider", name, other, use.Provider, req.Provider)
		}
	}
	prevUse, hadSite := m.Sites[req.Site]
	m.Sites[req.Site] = siteUse{Domains: slices.Clone(req.Domains), Provider: req.Provider}
	domains := m.domains(req.Site)
	indexBefore, err := s.readIndex(req.Site)
	if err != nil {
		return nil, nil, err
	}
	// undoUse puts back the site's use of the certificate as it was.
	undoUse := func(m *meta) {
		if hadSite {
			m.Sites[req.Site] = prevUse
		} else {
			delete(m.Sites, req.Site)
		}
	}

	now := s.now()
	reason, soft := s.renewal(cur, before, domains, req, now)
	if reason == "" {
		if err := s.keep(name, req.Site, m, indexBefore); err != nil {
			return nil, nil, err
		}
		s.infof("certificate %s covers %s and is valid until %s", name, strings.Join(domains, ", "), cur.cert.NotAfter.UTC().Format(time.DateOnly))
		return s.certificate(name, m, cur.cert), s.undoKeep(name, req.Site, undoUse, indexBefore), nil
	}

	s.infof("asking %s for certificate %s covering %s: %s", s.issuer.name(), name, strings.Join(domains, ", "), reason)
	chain, key, leaf, err := s.issue(ctx, domains, req.ChallengeDir)
	if err != nil {
		err = fmt.Errorf("certificate %s for %s from %s: %w", name, strings.Join(domains, ", "), s.issuer.name(), err)
		if before != nil {
			// Record the failure on the certificate in place, whose users
			// are unchanged.
			failed := before.clone()
			failed.LastAttempt, failed.LastError = now, err.Error()
			if werr := s.writeMeta(name, failed); werr != nil {
				err = errors.Join(err, werr)
			}
		}
		if !soft {
			if cur != nil {
				err = fmt.Errorf("%w (the certificate in place, valid until %s, was kept)", err, cur.cert.NotAfter.UTC().Format(time.DateOnly))
			}
			return nil, nil, err
		}
		// A good certificate due for renewal stays in use: the site keeps
		// serving, and the scheduler tries again.
		s.warnf("%v; the certificate in place is kept until %s", err, cur.cert.NotAfter.UTC().Format(time.DateOnly))
		m.LastAttempt, m.LastError = now, err.Error()
		if err := s.keep(name, req.Site, m, indexBefore); err != nil {
			return nil, nil, err
		}
		return s.certificate(name, m, cur.cert), s.undoKeep(name, req.Site, undoUse, indexBefore), nil
	}

	version, err := s.install(name, chain, key, leaf)
	if err != nil {
		return nil, nil, err
	}
	m.Provider, m.Issuer = req.Provider, s.issuer.name()
	m.LastAttempt, m.LastError = now, ""
	if err := s.writeMeta(name, m); err != nil {
		return nil, nil, err
	}
	if err := s.writeIndex(req.Site, append(slices.Clone(indexBefore), name)); err != nil {
		return nil, nil, err
	}
	previous := ""
	if cur != nil {
		previous = cur.version
	}
	if err := s.prune(name, version, previous); err != nil {
		s.warnf("remove old versions of certificate %s: %v", name, err)
	}
	s.infof("installed certificate %s (serial %x) for %s, valid until %s", name, leaf.SerialNumber, strings.Join(leaf.DNSNames, ", "), leaf.NotAfter.UTC().Format(time.DateOnly))
	undo := func(ctx context.Context) error {
		unlock, err := s.lock(name)
		if err != nil {
			return err
		}
		defer unlock()
		return s.undoIssue(name, version, previous, before, undoUse, req.Site, indexBefore)
	}
	return s.certificate(name, m, leaf), undo, nil
}

// renewal says why a new certificate is needed (empty when the one in
// place will do), and whether the one in place may stay when the new one
// cannot be had.
func (s *Service) renewal(cur *live, before *meta, domains []string, req *aegir.CertificateRequest, now time.Time) (reason string, soft bool) {
	switch {
	case cur == nil:
		return "there is none yet", false
	case len(missing(cur.cert, domains)) > 0:
		return "it does not cover " + strings.Join(missing(cur.cert, domains), ", "), false
	case before.Provider != req.Provider:
		return fmt.Sprintf("it is %s and the site asks for %s", before.Provider, req.Provider), false
	case before.Issuer != s.issuer.name():
		return fmt.Sprintf("it came from %s", before.Issuer), false
	case req.Renew:
		return "a renewal was asked for", false
	case !now.Before(cur.cert.NotAfter):
		return "it expired on " + cur.cert.NotAfter.UTC().Format(time.DateOnly), false
	case cur.cert.NotAfter.Sub(now) < aegir.RenewBefore:
		return "it expires on " + cur.cert.NotAfter.UTC().Format(time.DateOnly), true
	}
	return "", false
}

// missing lists the domains cert does not cover.
func missing(cert *x509.Certificate, domains []string) []string {
	var out []string
	for _, d := range domains {
		if !slices.Contains(cert.DNSNames, d) {
			out = append(out, d)
		}
	}
	return out
}

// issue asks the issuer for a certificate and checks what it returned.
func (s *Service) issue(ctx context.Context, domains []string, challengeDir string) (chain, key []byte, leaf *x509.Certificate, err error) {
	chain, key, err = s.issuer.issue(ctx, domains, challengeDir)
	if err != nil {
		return nil, nil, nil, err
	}
	if leaf, err = parseLeaf(chain); err != nil {
		return nil, nil, nil, fmt.Errorf("the provider returned no certificate: %w", err)
	}
	if m := missing(leaf, domains); len(m) > 0 {
		return nil, nil, nil, fmt.Errorf("the certificate returned does not cover %s", strings.Join(m, ", "))
	}
	return chain, key, leaf, nil
}

// keep records the site's use of the certificate in place.
func (s *Service) keep(name, site string, m *meta, index []string) error {
	if err := s.writeMeta(name, m); err != nil {
		return err
	}
	if slices.Contains(index, name) {
		return nil
	}
	return s.writeIndex(site, append(slices.Clone(index), name))
}

// undoKeep returns the Undo of keep: the site's use as it was.
func (s *Service) undoKeep(name, site string, undoUse func(*meta), index []string) aegir.Undo {
	return func(ctx context.Context) error {
		unlock, err := s.lock(name)
		if err != nil {
			return err
		}
		defer unlock()
		m, err := s.readMeta(name)
		if err != nil || m == nil {
			return err
		}
		undoUse(m)
		if err := s.writeMeta(name, m); err != nil {
			return err
		}
		return s.writeIndex(site, index)
	}
}

// undoIssue puts back what was there before a new certificate was
// installed: the previous version, or no certificate at all. Sites that
// joined the new certificate meanwhile keep it.
func (s *Service) undoIssue(name, version, previous string, before *meta, undoUse func(*meta), site string, index []string) error {
	if err := s.writeIndex(site, index); err != nil {
		return err
	}
	m, err := s.readMeta(name)
	if err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	undoUse(m)
	live, err := os.Readlink(filepath.Join(s.certDir(name), liveLink))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if live == version {
		switch {
		case previous != "":
			if err := symlink(previous, filepath.Join(s.certDir(name), liveLink)); err != nil {
				return err
			}
			if err := os.RemoveAll(filepath.Join(s.certDir(name), version)); err != nil {
				return err
			}
			m.Provider, m.Issuer = before.Provider, before.Issuer
			s.infof("put back the previous certificate %s", name)
		case len(m.Sites) == 0:
			if err := os.RemoveAll(s.certDir(name)); err != nil {
				return err
			}
			s.infof("removed certificate %s", name)
			return nil
		}
	}
	return s.writeMeta(name, m)
}

// certificate describes the certificate name whose leaf is cert.
func (s *Service) certificate(name string, m *meta, cert *x509.Certificate) *aegir.Certificate {
	dir := filepath.Join(s.certDir(name), liveLink)
	return &aegir.Certificate{
		Name: name, Provider: m.Provider, Domains: slices.Clone(cert.DNSNames), Sites: m.sites(),
		CertFile: filepath.Join(dir, chainFile), KeyFile: filepath.Join(dir, keyFile),
		Serial: fmt.Sprintf("%x", cert.SerialNumber), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		LastAttempt: m.LastAttempt, LastError: m.LastError,
	}
}

// Release takes site off every certificate but keep; see
// aegir.CertificateService.
func (s *Service) Release(ctx context.Context, site, keep string) (aegir.Undo, error) {
	if err := aegir.ValidateURI("uri", site); err != nil {
		return nil, err
	}
	index, err := s.readIndex(site)
	if err != nil {
		return nil, err
	}
	var undos []func() error
	undoAll := func() error {
		var errs []error
		for i := len(undos) - 1; i >= 0; i-- {
			errs = append(errs, undos[i]())
		}
		return errors.Join(errs...)
	}
	var kept []string
	for _, name := range index {
		if name == keep {
			kept = append(kept, name)
			continue
		}
		if aegir.ValidateName("ssl_key", name) != nil {
			continue
		}
		undo, err := s.release(name, site)
		if err != nil {
			return nil, errors.Join(err, undoAll())
		}
		if undo != nil {
			undos = append(undos, undo)
		}
	}
	if len(kept) != len(index) {
		if err := s.writeIndex(site, kept); err != nil {
			return nil, errors.Join(err, undoAll())
		}
		undos = append([]func() error{func() error { return s.writeIndex(site, index) }}, undos...)
	}
	if len(undos) == 0 {
		return nil, nil
	}
	return func(context.Context) error { return undoAll() }, nil
}

// release takes site off the certificate name, removing the certificate
// when no site is left; it returns how to put it back.
func (s *Service) release(name, site string) (func() error, error) {
	unlock, err := s.lock(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, err := s.readMeta(name)
	if err != nil || m == nil {
		return nil, err
	}
	use, ok := m.Sites[site]
	if !ok {
		return nil, nil
	}
	delete(m.Sites, site)
	relock := func(fn func() error) func() error {
		return func() error {
			unlock, err := s.lock(name)
			if err != nil {
				return err
			}
			defer unlock()
			return fn()
		}
	}
	if len(m.Sites) > 0 {
		if err := s.writeMeta(name, m); err != nil {
			return nil, err
		}
		s.infof("site %s no longer uses certificate %s, which %s still use", site, name, strings.Join(m.sites(), ", "))
		return relock(func() error {
			m, err := s.readMeta(name)
			if err != nil || m == nil {
				return err
			}
			m.Sites[site] = use
			return s.writeMeta(name, m)
		}), nil
	}
	dir := s.certDir(name)
	saved, err := readTree(dir)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	s.infof("removed certificate %s: site %s was the last to use it", name, site)
	return relock(func() error {
		if err := saved.write(dir); err != nil {
			return err
		}
		s.infof("put back certificate %s", name)
		return nil
	}), nil
}

// List returns every certificate in the store, by name. A certificate
// whose files cannot be read is left out, with a warning.
func (s *Service) List(ctx context.Context) ([]*aegir.Certificate, error) {
	entries, err := os.ReadDir(s.paths.SSL())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []*aegir.Certificate
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := e.Name()
		if !e.IsDir() || hidden(name) || aegir.ValidateName("ssl_key", name) != nil {
			continue
		}
		m, err := s.readMeta(name)
		if err != nil {
			s.warnf("certificate %s: %v", name, err)
			continue
		}
		cur, err := s.readLive(name)
		if err != nil {
			s.warnf("certificate %s: %v", name, err)
			continue
		}
		if m == nil || cur == nil {
			continue
		}
		out = append(out, s.certificate(name, m, cur.cert))
	}
	return out, nil
}

var _ aegir.CertificateService = (*Service)(nil)
