package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/alert"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/dispatch"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/schedule"
	"github.com/aegir-hosting/aegir/ssl"
	"github.com/aegir-hosting/aegir/web"

	// The front end's store drivers register themselves.
	_ "github.com/aegir-hosting/aegir/postgres"
	_ "github.com/aegir-hosting/aegir/sqlite"
)

// defaultListen is where aegir serve listens unless --listen says.
const defaultListen = "127.0.0.1:8080"

// shutdownTimeout bounds the graceful shutdown of the HTTP server.
const shutdownTimeout = 15 * time.Second

// addDatabaseOption adds --database to the commands that open the front
// end's store.
func addDatabaseOption(flags *pflag.FlagSet) *option {
	return addOption(flags, "database", "URL", "the front end's database: postgres://... or a SQLite file (default $AEGIR_HOME/hosting.db)")
}

// databaseURL returns the front end's database from --database, or the
// SQLite file $AEGIR_HOME/hosting.db.
func databaseURL(database *option, paths aegir.Paths) string {
	if database.value != "" {
		return database.value
	}
	return filepath.Join(paths.Home, "hosting.db")
}

// serveCommand runs the front end: the REST API and metrics over HTTP, and
// the task dispatcher, until SIGINT or SIGTERM, then shuts down gracefully.
// On the first start it makes the admin user (and prints no secret).
func (m *Main) serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run the front end: web UI, REST API, metrics, task dispatcher",
		Long: `Serve runs the front end: the web UI, the REST API and metrics over HTTP, and the task
dispatcher and schedulers, until SIGINT or SIGTERM, then shuts down gracefully. On its
first start it makes the admin user, and prints no secret: make a token with
aegir token create admin, or a login link with aegir user login-link admin.`,
		GroupID:           groupHosting,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	flags := cmd.Flags()
	listen := addOption(flags, "listen", "ADDR", "where to listen (default "+defaultListen+")")
	database := addDatabaseOption(flags)
	workers := addOption(flags, "workers", "N", "tasks run at once (default eight per CPU)")
	worker := addOption(flags, "worker", "NAME", "this dispatcher's name among those sharing a queue (default the host name)")
	healthEvery := addOption(flags, "health-interval", "DURATION", "time between two health checks of every enabled site (default 5m)")
	smtpFile := addOption(flags, "smtp", "FILE", "SMTP settings of e-mail alerts, a file only its owner may read (default $AEGIR_HOME/smtp.yml, if it exists)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("usage: aegir serve [--listen ADDR] [--database URL] [--workers N] [--worker NAME] [--health-interval DURATION] [--smtp FILE] [--home DIR]")
		}
		paths := m.paths(homeOption(cmd))
		cfg := serveConfig{paths: paths, dbURL: databaseURL(database, paths), listen: listen.value, worker: worker.value,
			workers: dispatch.DefaultWorkers()}
		if cfg.listen == "" {
			cfg.listen = defaultListen
		}
		if workers.given {
			n, err := strconv.Atoi(workers.value)
			if err != nil || n < 1 {
				return usageErrorf("--workers takes a number of at least 1, not %q", workers.value)
			}
			cfg.workers = n
		}
		if cfg.worker == "" {
			cfg.worker, _ = os.Hostname()
		}
		if healthEvery.given {
			d, err := time.ParseDuration(healthEvery.value)
			if err != nil || d < time.Second {
				return usageErrorf("--health-interval takes a duration of at least 1s, such as 5m, not %q", healthEvery.value)
			}
			cfg.healthEvery = d
		}
		cfg.smtpFile = smtpFile.value
		if cfg.smtpFile == "" {
			cfg.smtpFile = filepath.Join(paths.Home, "smtp.yml")
		}
		return m.serve(cmd.Context(), cfg)
	}
	return cmd
}

// serveConfig is what serve's command line says.
type serveConfig struct {
	paths         aegir.Paths
	dbURL, listen string
	workers       int
	worker        string
	healthEvery   time.Duration
	smtpFile      string
}

// serve runs aegir serve.
func (m *Main) serve(ctx context.Context, cfg serveConfig) error {
	// The dispatcher runs the back end, which must not run as root; and a
	// store file made by root would be root's.
	if err := m.refuseRoot(); err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(m.Stderr, nil))
	store, err := aegir.OpenStore(ctx, cfg.dbURL)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := &hosting.Service{Store: store}
	// What serve prints usually ends in a log file, so it prints no secret:
	// the operator asks for a token or a login link, which go to them alone.
	created, err := svc.EnsureAdmin(ctx)
	if err != nil {
		return fmt.Errorf("making the admin user: %w", err)
	}
	if created {
		fmt.Fprintf(m.Stdout, "created user %s (administrator): make its API token with `aegir token create %s`, log in to the web UI with a one-time link from `aegir user login-link %s`\n", hosting.AdminUser, hosting.AdminUser, hosting.AdminUser)
	}
	smtp, err := alert.LoadSMTP(cfg.smtpFile)
	if err != nil {
		return err
	}
	notifier := &alert.Notifier{Store: store, SMTP: smtp}
	api := &web.Server{Service: svc, Store: store, Logger: logger, Offsite: m.backend(cfg.paths).Offsite, Projects: contextfile.NewProjects(cfg.paths)}
	// Behind the front end's own vhost (aegir setup --frontend_uri), the
	// master's web server on this machine says which requests came over
	// HTTPS; no one else may.
	if f, err := readFrontend(cfg.paths); err != nil {
		return err
	} else if f != nil {
		api.TrustedProxies = loopbackProxies
		// HTTPS required: every answer reaches the user over TLS.
		api.SecureCookies = f.SSL == aegir.SSLRequired
	}
	sslConfig, err := ssl.ConfigFromEnv()
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	certs, err := ssl.New(cfg.paths, aegir.SSLSelfSigned, nil, sslConfig)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	api.WatchCertificates(certs)

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // live log streams lift it for themselves
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(api.Close)

	dctx, stopDispatcher := context.WithCancel(ctx)
	defer stopDispatcher()
	// A second signal (or the shutdown timeout) ends the running tasks.
	hardStop, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()
	waitDispatcher, err := startDispatcher(dctx, dispatcherDeps{
		Backend: m.backend(cfg.paths), Store: store, API: api, Workers: cfg.workers, Worker: cfg.worker, Logger: logger, HardStop: hardStop,
		Certificates: certs, Notifier: notifier, HealthEvery: cfg.healthEvery,
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("starting the dispatcher: %w", err)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(m.Stdout, "serving http://%s/ (API under /api/, metrics at /metrics) with %d workers\n", ln.Addr(), cfg.workers)
	logger.Info("serving", "addr", ln.Addr().String(), "database", redactDB(cfg.dbURL), "workers", cfg.workers)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	stopDispatcher()
	waited := make(chan struct{})
	go func() { waitDispatcher(); close(waited) }()
	select {
	case <-waited:
	case <-sctx.Done():
		logger.Warn("running tasks did not finish in time: stopping them (they roll back)")
		hardCancel()
		<-waited
	}
	return err
}

// redactDB hides the password of a database URL for the log.
func redactDB(dbURL string) string {
	if u, err := url.Parse(dbURL); err == nil {
		return u.Redacted()
	}
	return "(unparsable database url)"
}

// dispatcherDeps is what the dispatcher gets from serve.
type dispatcherDeps struct {
	Backend *provision.Backend
	Store   aegir.Store
	// API takes the duration of each finished task for its metrics.
	API     *web.Server
	Workers int
	Worker  string
	Logger  *slog.Logger
	// HardStop ends running tasks (they roll back); the dispatcher's own
	// context only stops it claiming new ones.
	HardStop context.Context
	// Certificates are watched for renewal.
	Certificates schedule.CertificateLister
	// Notifier is told of finished tasks and of sites' health.
	Notifier *alert.Notifier
	// HealthEvery is the time between health checks (zero: the default).
	HealthEvery time.Duration
}

// startDispatcher starts the task dispatcher and the schedulers, which run
// until ctx ends; wait blocks until they have stopped, running tasks
// included.
func startDispatcher(ctx context.Context, d dispatcherDeps) (wait func(), err error) {
	dispatcher := &dispatch.Dispatcher{
		Store: d.Store, Backend: d.Backend, Workers: d.Workers, Worker: d.Worker, Logger: d.Logger,
		HardStop: d.HardStop,
		OnFinish: func(t *aegir.Task, status string, elapsed time.Duration) {
			done := *t
			done.Status = status
			if t.StartedAt != nil {
				end := t.StartedAt.Add(elapsed)
				done.FinishedAt = &end
			}
			d.API.ObserveTask(&done)
			// Deliveries may take seconds; the worker does not wait for them.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := d.Notifier.TaskFinished(ctx, &done, status); err != nil {
					d.Logger.Error("alert", "task", done.ID, "err", err)
				}
			}()
		},
	}
	runners := []interface{ Run(context.Context) error }{
		dispatcher,
		&schedule.Cron{Store: d.Store, Logger: d.Logger},
		&schedule.Backups{Store: d.Store, Logger: d.Logger},
		&schedule.Verifies{Store: d.Store, Logger: d.Logger},
		&schedule.Stats{Store: d.Store, DB: aegir.NewDBService,
			Env: aegir.Env{Paths: d.Backend.Paths, Runner: d.Backend.Runner}, Logger: d.Logger},
		&schedule.Prune{Store: d.Store, Logger: d.Logger},
		&schedule.Renewals{Store: d.Store, Certificates: d.Certificates, Logger: d.Logger},
		&schedule.Health{Store: d.Store, Alerter: d.Notifier, Interval: d.HealthEvery, Logger: d.Logger},
		&adopter{Paths: d.Backend.Paths, Store: d.Store, Logger: d.Logger},
	}
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				d.Logger.Error("background job stopped", "job", fmt.Sprintf("%T", r), "err", err)
			}
		}()
	}
	return wg.Wait, nil
}
