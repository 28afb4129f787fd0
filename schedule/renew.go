package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Defaults of the renewal scheduler.
const (
	DefaultRenewInterval = time.Hour
	DefaultRenewRetry    = 12 * time.Hour
)

// ArgRenew is the argument of the verify task that renews a site's
// certificate even when it is still good.
const ArgRenew = "renew"

// CertificateLister lists the certificates of the machine; the ssl
// package's Service is one.
type CertificateLister interface {
	List(ctx context.Context) ([]*aegir.Certificate, error)
}

// Renewals queues the renewal of every certificate that expires within
// Before: a verify task with renew=1 on one of the installed sites that
// use it, which gets a new certificate before it rewrites the site's
// vhost. A failed renewal is that task failing, with the provider's error
// in its log; the certificate records the error, and the scheduler tries
// again Retry after the failed attempt. A certificate whose site already
// has a verify queued or processing is left to that task.
type Renewals struct {
	Store        aegir.Store
	Certificates CertificateLister
	// Before is how long before expiry a certificate is renewed; zero is
	// aegir.RenewBefore (30 days).
	Before time.Duration
	// Interval is the time between passes; zero is an hour.
	Interval time.Duration
	// Retry is how long after a failed attempt the next one is queued;
	// zero is 12 hours.
	Retry  time.Duration
	Clock  Clock
	Logger *slog.Logger
}

func (r *Renewals) before() time.Duration {
	if r.Before > 0 {
		return r.Before
	}
	return aegir.RenewBefore
}

func (r *Renewals) retry() time.Duration {
	if r.Retry > 0 {
		return r.Retry
	}
	return DefaultRenewRetry
}

// Run queues renewals at start and every Interval until ctx ends; it
// returns nil.
func (r *Renewals) Run(ctx context.Context) error {
	log := loggerOr(r.Logger).With("scheduler", "renewals")
	every := r.Interval
	if every <= 0 {
		every = DefaultRenewInterval
	}
	return loop(ctx, clockOr(r.Clock), every, log, true, func(ctx context.Context, now time.Time) error {
		n, err := r.Enqueue(ctx, now)
		if n > 0 {
			log.Info("queued certificate renewals", "tasks", n)
		}
		return err
	})
}

// Enqueue queues the renewal of each certificate due at now, and returns
// how many it queued.
func (r *Renewals) Enqueue(ctx context.Context, now time.Time) (int, error) {
	certs, err := r.Certificates.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list certificates: %w", err)
	}
	log := loggerOr(r.Logger)
	n := 0
	for _, c := range certs {
		if c.NotAfter.Sub(now) >= r.before() {
			continue
		}
		if c.LastError != "" && now.Sub(c.LastAttempt) < r.retry() {
			continue
		}
		site, err := r.siteOf(ctx, c)
		if err != nil {
			return n, err
		}
		if site == nil {
			log.Warn("certificate due for renewal has no installed site to renew it", "certificate", c.Name, "sites", c.Sites, "not_after", c.NotAfter)
			continue
		}
		if busy, err := pending(ctx, r.Store, site.Name, aegir.TaskVerify); err != nil {
			return n, err
		} else if busy {
			continue
		}
		if err := r.Store.EnqueueTask(ctx, siteTask(aegir.TaskVerify, site, map[string]string{ArgRenew: "1"})); err != nil {
			return n, fmt.Errorf("queue the renewal of certificate %s on @%s: %w", c.Name, site.Name, err)
		}
		n++
	}
	return n, nil
}

// siteOf returns the first installed site (enabled or disabled) that uses
// the certificate, or nil.
func (r *Renewals) siteOf(ctx context.Context, c *aegir.Certificate) (*aegir.SiteRecord, error) {
	for _, name := range c.Sites {
		rec, err := r.Store.GetSite(ctx, name)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if rec.Status == aegir.SiteEnabled || rec.Status == aegir.SiteDisabled {
			return rec, nil
		}
	}
	return nil, nil
}
