package web

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/prometheus/client_golang/prometheus"
)

type certificates []*aegir.Certificate

func (c certificates) List(context.Context) ([]*aegir.Certificate, error) { return c, nil }

// TestCertificateGaugesShowDaysToExpiryAndFailures scrapes the
// certificate collector: one series per certificate, the days to its
// expiry, and 1 for the one whose renewal failed.
func TestCertificateGaugesShowDaysToExpiryAndFailures(t *testing.T) {
	t.Parallel()
	s := &Server{}
	s.init()
	now := time.Now()
	// A registry of its own: the store collector of s.registry needs a
	// store.
	registry := prometheus.NewRegistry()
	registry.MustRegister(newCertificateCollector(s, certificates{
		{Name: "a.example", Provider: aegir.SSLACME, NotAfter: now.Add(20*24*time.Hour + time.Minute), LastError: "acme: error: 400"},
		{Name: "b.example", Provider: aegir.SSLSelfSigned, NotAfter: now.Add(-24 * time.Hour)},
	}))
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "aegir_ssl_") {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[f.GetName()+"/"+labels["certificate"]+"/"+labels["provider"]] = m.GetGauge().GetValue()
		}
	}
	for key, want := range map[string]float64{
		metricCertificateDays + "/a.example/acme":          20,
		metricCertificateDays + "/b.example/self-signed":   -1,
		metricCertificateFailed + "/a.example/acme":        1,
		metricCertificateFailed + "/b.example/self-signed": 0,
	} {
		if v, ok := got[key]; !ok || math.Abs(v-want) > 0.01 {
			t.Errorf("%s = %v (present %v), want %v; all: %v", key, v, ok, want, got)
		}
	}
}

// TestWatchCertificatesRegistersOnce guards the wiring: the collector
// joins the Server's registry.
func TestWatchCertificatesRegistersOnce(t *testing.T) {
	t.Parallel()
	s := &Server{}
	s.WatchCertificates(certificates{})
	if err := s.registry.Register(newCertificateCollector(s, certificates{})); err == nil {
		t.Fatal("a second certificate collector was accepted: WatchCertificates did not register one")
	}
}
