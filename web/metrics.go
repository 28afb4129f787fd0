package web

import (
	"context"
	"net/http"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names.
const (
	metricTasks        = "aegir_tasks"
	metricQueueDepth   = "aegir_task_queue_depth"
	metricSites        = "aegir_sites"
	metricTaskDuration = "aegir_task_duration_seconds"
	metricOffsiteFail  = "aegir_offsite_failures_total"
	metricOffsiteLast  = "aegir_offsite_last_upload_timestamp_seconds"
)

// initMetrics makes the Server's own registry: the store collector, the
// task duration histogram, and the Go and process collectors.
func (s *Server) initMetrics() {
	s.registry = prometheus.NewRegistry()
	s.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    metricTaskDuration,
		Help:    "How long finished tasks ran, from claim to finish, by type and final status (observed by this process's dispatcher).",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
	}, []string{"type", "status"})
	s.offsiteFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricOffsiteFail,
		Help: "Tasks whose off-site upload or retention failed (the task failed, its local backup kept), by task type and target (observed by this process's dispatcher).",
	}, []string{"type", "target"})
	s.offsiteLast = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: metricOffsiteLast,
		Help: "When the last off-site upload to the target succeeded, in Unix seconds (observed by this process's dispatcher).",
	}, []string{"target"})
	s.registry.MustRegister(
		s.durations, s.offsiteFailures, s.offsiteLast,
		&storeCollector{s: s,
			tasks: prometheus.NewDesc(metricTasks, "Tasks in the store by type and status.", []string{"type", "status"}, nil),
			queue: prometheus.NewDesc(metricQueueDepth, "Tasks queued and not yet claimed.", nil, nil),
			sites: prometheus.NewDesc(metricSites, "Sites by status (\"\" is not installed).", []string{"status"}, nil),
		},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// metricsHandler serves the registry in the Prometheus formats.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog:      promLogger{s},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// ObserveTask records the duration of a finished task in the
// aegir_task_duration_seconds histogram. The dispatcher calls it after
// FinishTask with the finished task (or with the claimed task and its
// final status set); a task that never started is ignored, a missing
// finish time is now.
func (s *Server) ObserveTask(t *aegir.Task) {
	s.init()
	if t == nil || t.StartedAt == nil || !finished(t.Status) {
		return
	}
	end := time.Now()
	if t.FinishedAt != nil {
		end = *t.FinishedAt
	}
	s.durations.WithLabelValues(t.Type, t.Status).Observe(max(end.Sub(*t.StartedAt).Seconds(), 0))
	target, _ := t.Data["offsite_target"].(string)
	if failed, _ := t.Data["offsite_error"].(string); failed != "" {
		s.offsiteFailures.WithLabelValues(t.Type, target).Inc()
	} else if snap, _ := t.Data["offsite_snapshot"].(string); snap != "" && t.Status == "success" {
		s.offsiteLast.WithLabelValues(target).Set(float64(end.Unix()))
	}
}

// storeCollector reads the gauges from the store on each scrape, with a
// bounded number of count queries (see hosting.Service.TaskCounts).
type storeCollector struct {
	s                   *Server
	tasks, queue, sites *prometheus.Desc
}

// Describe sends the descriptions of the store gauges.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tasks
	ch <- c.queue
	ch <- c.sites
}

// Collect counts tasks and sites in the store. A failing count shows as
// an invalid metric (the scrape reports it) and is logged.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := storeContext()
	defer cancel()
	fail := func(desc *prometheus.Desc, err error) {
		c.s.Logger.Error("metrics: counting in the store", "err", err)
		ch <- prometheus.NewInvalidMetric(desc, err)
	}
	if counts, err := c.s.Service.TaskCounts(ctx); err != nil {
		fail(c.tasks, err)
	} else {
		// Every status of a type that has tasks, zeros included, so that
		// a series drops to 0 instead of vanishing.
		for typ, byStatus := range counts {
			for _, status := range hosting.TaskStatuses {
				ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(byStatus[status]), typ, status)
			}
		}
	}
	if n, err := c.s.Service.QueueDepth(ctx); err != nil {
		fail(c.queue, err)
	} else {
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n))
	}
	if counts, err := c.s.Service.SiteCounts(ctx); err != nil {
		fail(c.sites, err)
	} else {
		for _, status := range hosting.SiteStatuses {
			ch <- prometheus.MustNewConstMetric(c.sites, prometheus.GaugeValue, float64(counts[status]), status)
		}
	}
}

// promLogger sends promhttp's errors to the Server's logger.
type promLogger struct{ s *Server }

func (l promLogger) Println(v ...any) {
	l.s.Logger.Error("metrics", "err", v)
}

// Metric names of the certificate collector.
const (
	metricCertificateDays   = "aegir_ssl_certificate_days_to_expiry"
	metricCertificateFailed = "aegir_ssl_certificate_renewal_failed"
)

// CertificateLister lists the certificates of the machine; the ssl
// package's Service is one.
type CertificateLister interface {
	List(ctx context.Context) ([]*aegir.Certificate, error)
}

// WatchCertificates adds the certificates of l to the metrics, read on
// each scrape: aegir_ssl_certificate_days_to_expiry, the days left until
// each expires (negative once expired), and
// aegir_ssl_certificate_renewal_failed, 1 when its last issue or renewal
// failed. Call it once, before serving.
func (s *Server) WatchCertificates(l CertificateLister) {
	s.init()
	s.registry.MustRegister(newCertificateCollector(s, l))
}

func newCertificateCollector(s *Server, l CertificateLister) *certificateCollector {
	return &certificateCollector{s: s, list: l,
		days:   prometheus.NewDesc(metricCertificateDays, "Days until each certificate expires; negative once expired.", []string{"certificate", "provider"}, nil),
		failed: prometheus.NewDesc(metricCertificateFailed, "1 when the last issue or renewal of the certificate failed (the task log has the error), else 0.", []string{"certificate", "provider"}, nil),
	}
}

// certificateCollector reads the certificates on each scrape.
type certificateCollector struct {
	s            *Server
	list         CertificateLister
	days, failed *prometheus.Desc
}

// Describe sends the descriptions of the certificate gauges.
func (c *certificateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.days
	ch <- c.failed
}

// Collect lists the certificates. A failing list shows as an invalid
// metric and is logged.
func (c *certificateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := storeContext()
	defer cancel()
	certs, err := c.list.List(ctx)
	if err != nil {
		c.s.Logger.Error("metrics: listing certificates", "err", err)
		ch <- prometheus.NewInvalidMetric(c.days, err)
		return
	}
	now := time.Now()
	for _, cert := range certs {
		failed := 0.0
		if cert.LastError != "" {
			failed = 1
		}
		ch <- prometheus.MustNewConstMetric(c.days, prometheus.GaugeValue, cert.DaysLeft(now), cert.Name, cert.Provider)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, failed, cert.Name, cert.Provider)
	}
}
