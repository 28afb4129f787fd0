package schedule_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/schedule"
)

// certList is a CertificateLister over a list the test sets.
type certList struct {
	mu    sync.Mutex
	certs []*aegir.Certificate
}

func (l *certList) List(context.Context) ([]*aegir.Certificate, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*aegir.Certificate(nil), l.certs...), nil
}

func (l *certList) set(certs ...*aegir.Certificate) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.certs = certs
}

// TestRenewalsQueueAVerifyOfCertificatesDueWithin30Days drives the renewal
// scheduler with a fake clock: a certificate 29 days from its end gets a
// verify with renew=1 on a site of its own, one 31 days from it does not,
// until the clock reaches its 30 days; a site with a verify queued is not
// given a second; a certificate whose renewal just failed waits for the
// retry.
func TestRenewalsQueueAVerifyOfCertificatesDueWithin30Days(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		seed(t, s, t.TempDir())
		addSite(t, s, "soon.example", aegir.SiteEnabled)
		addSite(t, s, "later.example", aegir.SiteEnabled)
		addSite(t, s, "gone.example", aegir.SiteDeleted)
		addSite(t, s, "shared.example", aegir.SiteDisabled)
		addSite(t, s, "failed.example", aegir.SiteEnabled)

		start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		day := 24 * time.Hour
		certs := &certList{}
		certs.set(
			&aegir.Certificate{Name: "soon.example", Sites: []string{"soon.example"}, NotAfter: start.Add(29 * day)},
			&aegir.Certificate{Name: "later.example", Sites: []string{"later.example"}, NotAfter: start.Add(31 * day)},
			// The first site is deleted: the renewal goes to the next.
			&aegir.Certificate{Name: "shared", Sites: []string{"gone.example", "shared.example"}, NotAfter: start.Add(10 * day)},
			&aegir.Certificate{Name: "failed.example", Sites: []string{"failed.example"}, NotAfter: start.Add(20 * day),
				LastAttempt: start.Add(-time.Hour), LastError: "acme: error: 400 :: urn:ietf:params:acme:error:connection"},
		)
		clock := newFakeClock(start)
		run(t, &schedule.Renewals{Store: s, Certificates: certs, Interval: time.Hour, Clock: clock, Logger: discard()})

		check := func(when string, want ...string) {
			t.Helper()
			got := queued(t, s, aegir.TaskVerify)
			for _, name := range want {
				tasks := got[name]
				if len(tasks) != 1 {
					t.Fatalf("%s: %s has %d verify tasks, want 1 (all: %v)", when, name, len(tasks), got)
				}
				if task := tasks[0]; task.Args[schedule.ArgRenew] != "1" || task.Creator != schedule.Creator || task.Platform != "p" {
					t.Fatalf("%s: task %+v", when, task)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%s: verify tasks on %v, want on %v only", when, got, want)
			}
		}
		clock.advance(0) // the first pass, at start, is done
		check("at start", "soon.example", "shared.example")

		// Passes go on; the queued renewals are not queued twice. (A tick
		// is taken once the pass before is done: advance(0) waits for
		// the pass of the tick before it.)
		clock.advance(time.Hour)
		clock.advance(0)
		check("an hour later", "soon.example", "shared.example")

		// Once later.example is within 30 days of its end, it is due too,
		// and failed.example's retry time has come.
		clock.advance(day + time.Hour)
		clock.advance(0)
		check("a day later", "soon.example", "shared.example", "later.example", "failed.example")
	})
}

// TestARenewalIsDueAt29DaysNotAt31 checks the boundary in one pass: due at
// 29 days, not at 31.
func TestARenewalIsDueAt29DaysNotAt31(t *testing.T) {
	forEachStore(t, func(t *testing.T, s aegir.Store) {
		seed(t, s, t.TempDir())
		addSite(t, s, "a.example", aegir.SiteEnabled)
		now := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
		certs := &certList{}
		r := &schedule.Renewals{Store: s, Certificates: certs, Logger: discard()}
		for _, tt := range []struct {
			days int
			want int
		}{{31, 0}, {29, 1}} {
			certs.set(&aegir.Certificate{Name: "a.example", Sites: []string{"a.example"}, NotAfter: now.Add(time.Duration(tt.days) * 24 * time.Hour)})
			n, err := r.Enqueue(context.Background(), now)
			must(t, err)
			if n != tt.want {
				t.Fatalf("%d days from expiry: queued %d renewals, want %d", tt.days, n, tt.want)
			}
		}
	})
}
