package provision

import (
	"context"
	"time"

	"github.com/aegir-hosting/aegir"
)

// certificates returns the certificate service for the site's provider.
// Release works on every certificate, so a site with SSL off gets the
// default provider's.
func (t *run) certificates(s *siteEnv) (aegir.CertificateService, error) {
	return aegir.NewCertificateService(s.site.SSLProvider, t.env())
}

// certificateStep obtains the site's certificate, or reuses the one in
// place, before its vhost is written; with SSL off it does nothing. A
// task with the argument renew=1 asks the provider for a new certificate
// even when the one in place is good (the renewal scheduler's verify).
// Its undo puts back the certificate as it was: none, or the previous one.
func (t *run) certificateStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "certificate", Do: func(ctx context.Context) (aegir.Undo, error) {
		s.cert = nil
		if s.site.SSLEnabled == aegir.SSLOff {
			return nil, nil
		}
		svc, err := t.certificates(s)
		if err != nil {
			return nil, err
		}
		cert, undo, err := svc.Obtain(ctx, &aegir.CertificateRequest{
			Name: s.site.CertificateName(), Site: s.site.URI, Domains: s.site.Names(),
			Provider: s.site.SSLProvider, ChallengeDir: t.b.Paths.ChallengeDir(s.webName),
			Renew: isTrue(t.opts.Args["renew"]),
		})
		if err != nil {
			return nil, err
		}
		s.cert = cert
		report(t, func(f *aegir.CertificateUsed) {
			f.Certificate = &aegir.CertificateFacts{Name: cert.Name, Provider: cert.Provider, Domains: cert.Domains,
				Serial: cert.Serial, NotAfter: cert.NotAfter.UTC().Format(time.RFC3339)}
		})
		return undo, nil
	}}
}

// releaseStep takes the site off the certificates it no longer uses (all
// of them when SSL is off, or the one it used before its ssl_key
// changed), removing those no other site uses. It comes after the vhost,
// so no configuration names a removed certificate; its undo puts them
// back.
func (t *run) releaseStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "release certificates", Do: func(ctx context.Context) (aegir.Undo, error) {
		return t.release(ctx, s, s.site.URI, s.cert)
	}}
}

// release takes site off every certificate but keep (nil for none). A
// program built without certificate providers has none to release.
func (t *run) release(ctx context.Context, s *siteEnv, site string, keep *aegir.Certificate) (aegir.Undo, error) {
	svc, err := t.certificates(s)
	if err != nil && keep == nil && s.site.SSLEnabled == aegir.SSLOff {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	name := ""
	if keep != nil {
		name = keep.Name
	}
	return svc.Release(ctx, site, name)
}

// isTrue reads a boolean task argument.
func isTrue(v string) bool {
	return v == "1" || v == "true" || v == "yes"
}
