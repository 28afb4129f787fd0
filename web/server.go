package web

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
	"github.com/alexedwards/scs/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Server serves the web UI, the REST API and the metrics. Set its fields,
// then call Handler; Close ends the live log streams (call it when the
// HTTP server shuts down, e.g. from http.Server.RegisterOnShutdown).
type Server struct {
	Service *hosting.Service
	Store   aegir.Store
	Logger  *slog.Logger
	// LogPollInterval is how often a live task log looks for new lines;
	// 250 ms when zero.
	LogPollInterval time.Duration
	// SecureCookies marks the session cookie Secure on every answer, for
	// a front end behind a proxy that ends TLS. Requests that come over
	// TLS get a Secure cookie anyway.
	SecureCookies bool
	// TrustedProxies are the addresses of the proxies in front (the
	// front end's own vhost on the master's web server, aegir setup
	// --frontend_uri): a request from one of them with X-Forwarded-Proto
	// https came over TLS and gets a Secure cookie. From any other peer
	// the header is ignored: a client could set it.
	TrustedProxies []string
	// SendMail, when set, sends password reset links by mail; without it
	// the UI shows the link to the administrator who asked for it, and
	// `aegir user login-link` prints one.
	SendMail func(ctx context.Context, to, subject, body string) error
	// LoginLimit bounds failed logins per client address and per user
	// name; DefaultLoginLimit when zero.
	LoginLimit LoginLimit
	// LeaseTTL is the dispatchers' lease TTL, after which the dispatchers
	// page shows a silent one's lease lapsed; aegir.DefaultLeaseTTL when
	// zero, as for the dispatchers.
	LeaseTTL time.Duration
	// Offsite opens the off-site target whose snapshots a site's backups
	// list; nil, or returning nil, when there is none.
	Offsite func() (aegir.Offsite, error)
	// Projects are the back end's projects (projects.go); nil: none.
	Projects aegir.ProjectStore

	once      sync.Once
	registry  *prometheus.Registry
	durations *prometheus.HistogramVec
	// offsiteFailures and offsiteLast are the off-site uploads' metrics.
	offsiteFailures *prometheus.CounterVec
	offsiteLast     *prometheus.GaugeVec
	closing         chan struct{}
	closeOnce       sync.Once
	sessions        *scs.SessionManager
	limiter         *loginLimiter
	pages           map[string]*template.Template
}

// eForbidden is the code of a request that is refused although its
// credentials are good: a cross-origin request, or an action the user's
// role does not allow.
const eForbidden = hosting.EFORBIDDEN

// eMethod is the HTTP layer's code for a method a path does not take.
const eMethod = "method_not_allowed"

// statusOf is the one table from error codes to HTTP statuses. Input that
// names a missing object in its body (a platform that does not exist) is
// EINVALID, 400, naming the field; 404 is only for the object in the URL.
var statusOf = map[string]int{
	aegir.EINVALID:      http.StatusBadRequest,
	aegir.ENOTFOUND:     http.StatusNotFound,
	aegir.ECONFLICT:     http.StatusConflict,
	aegir.EUNAUTHORIZED: http.StatusUnauthorized,
	aegir.EINTERNAL:     http.StatusInternalServerError,
	eForbidden:          http.StatusForbidden,
	eMethod:             http.StatusMethodNotAllowed,
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		if s.LogPollInterval <= 0 {
			s.LogPollInterval = 250 * time.Millisecond
		}
		s.closing = make(chan struct{})
		s.initMetrics()
		s.initSessions()
		s.limiter = newLoginLimiter(s.LoginLimit)
		s.pages = mustParsePages()
	})
}

// Close ends the live log streams, so that a graceful shutdown does not
// wait for them. The Handler still serves everything else.
func (s *Server) Close() {
	s.init()
	s.closeOnce.Do(func() { close(s.closing) })
}

// route is one registered pattern.
type route struct {
	method, path string
	// public routes need no token.
	public  bool
	handler handlerFunc
}

// handlerFunc handles an API request for an authenticated user (nil on a
// public route); an error it returns becomes the JSON error answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request, u *aegir.User) error

// kinds are the object collections of the API.
var kinds = []string{"servers", "platforms", "sites", "clients"}

// routes lists every route of the Handler; the OpenAPI test walks them.
func (s *Server) routes() []route {
	rs := []route{
		{method: "GET", path: "/api/openapi.json", public: true, handler: s.openAPI},
		{method: "GET", path: "/metrics", public: true},
		{method: "GET", path: "/api/tasks", handler: s.listTasks},
		{method: "GET", path: "/api/tasks/{id}", handler: s.getTask},
		{method: "GET", path: "/api/tasks/{id}/log", handler: s.streamLog},
		{method: "POST", path: "/api/tasks/{id}/cancel", handler: s.cancelTask},
		{method: "POST", path: "/api/tasks/{id}/retry", handler: s.retryTask},
		{method: "GET", path: "/api/me", handler: s.me},
		{method: "GET", path: "/api/me/alerts", handler: s.getAlerts},
		{method: "PUT", path: "/api/me/alerts", handler: s.putAlerts},
		{method: "GET", path: "/api/notifications", handler: s.listNotifications},
		{method: "GET", path: "/api/users", handler: s.listUsers},
		{method: "POST", path: "/api/users", handler: s.createUser},
		{method: "GET", path: "/api/users/{name}", handler: s.getUser},
		{method: "PATCH", path: "/api/users/{name}", handler: s.updateUser},
		{method: "DELETE", path: "/api/users/{name}", handler: s.deleteUser},
		{method: "POST", path: "/api/users/{name}/login-link", handler: s.createLoginLink},
		{method: "GET", path: "/api/users/{name}/tokens", handler: s.listTokens},
		{method: "POST", path: "/api/users/{name}/tokens", handler: s.createToken},
		{method: "DELETE", path: "/api/users/{name}/tokens/{id}", handler: s.revokeToken},
		{method: "GET", path: "/api/sites/{name}/backups", handler: s.listBackups},
		{method: "GET", path: "/api/sites/{name}/offsite-snapshots", handler: s.listSnapshots},
		{method: "GET", path: "/api/audit", handler: s.listAudit},
		{method: "GET", path: "/api/dispatchers", handler: s.listDispatchers},
		{method: "GET", path: "/api/projects", handler: s.listProjects},
		{method: "POST", path: "/api/projects", handler: s.createProject},
		{method: "GET", path: "/api/projects/{name}", handler: s.getProject},
		{method: "POST", path: "/api/projects/{name}/webhook", public: true, handler: s.projectWebhook},
	}
	for _, k := range kinds {
		o := objectKinds[k]
		rs = append(rs,
			route{method: "GET", path: "/api/" + k, handler: s.listObjects(o)},
			route{method: "POST", path: "/api/" + k, handler: s.createObject(o)},
			route{method: "GET", path: "/api/" + k + "/{name}", handler: s.getObject(o)},
			route{method: "PATCH", path: "/api/" + k + "/{name}", handler: s.updateObject(o)},
			route{method: "DELETE", path: "/api/" + k + "/{name}", handler: s.deleteObject(o)},
		)
		if o.ctxType != "" {
			rs = append(rs, route{method: "POST", path: "/api/" + k + "/{name}/tasks", handler: s.createTask(o)})
		}
	}
	return rs
}

// Handler returns the HTTP handler of the UI, the API and the metrics.
func (s *Server) Handler() http.Handler {
	s.init()
	mux := http.NewServeMux()
	for _, pr := range s.pageRoutes() {
		mux.Handle(pr.method+" "+pr.path, s.page(pr))
	}
	for _, rt := range s.routes() {
		var h http.Handler
		switch {
		case rt.path == "/metrics":
			h = s.metricsHandler()
		case rt.public:
			h = s.api(rt.handler, true)
		default:
			h = s.api(rt.handler, false)
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, aegir.Errorf(eForbidden, "cross-origin request refused"))
	}))
	return s.recoverPanics(securityHeaders(cop.Handler(s.withSession(s.unmatched(mux)))))
}

// api wraps a handlerFunc: it authenticates the request (unless public)
// by its bearer token or, for the UI's own calls (the live log), its
// session, and writes the error the handler returns.
func (s *Server) api(h handlerFunc, public bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u *aegir.User
		if !public {
			var err error
			if u, err = s.authenticate(r); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="aegir"`)
				s.writeError(w, r, err)
				return
			}
		}
		if err := h(w, r, u); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticate returns the user of the request's bearer token or, when
// it has none, of its session.
func (s *Server) authenticate(r *http.Request) (*aegir.User, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		if u, err := s.sessionUser(r); err != nil || u != nil {
			return u, err
		}
	}
	scheme, secret, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, aegir.Errorf(aegir.EUNAUTHORIZED, "an Authorization: Bearer <token> header is required")
	}
	return s.Service.Authenticate(r.Context(), strings.TrimSpace(secret))
}

// authorize decides whether user may do action ("list", "read",
// "create", "update", "delete", "task:TYPE", "cancel", "retry", "use",
// "grant") on object (a collection "sites", an object "site:example.com",
// "task:17", "role:client", or "audit"). Every permission decision of the
// API and the pages goes through here, to the one rule table of package
// hosting (see hosting.Service.Authorize): 403 when the role may not do
// the action on that kind of object, 404 when the object belongs to a
// client that is not the user's, so that its existence stays hidden.
func (s *Server) authorize(ctx context.Context, user *aegir.User, action, object string) error {
	return s.Service.Authorize(ctx, user, action, object)
}

// unmatched answers requests that match no route with a JSON 404 or 405
// instead of the ServeMux's plain text.
func (s *Server) unmatched(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			s.writeError(w, r, aegir.Errorf(eMethod, "%s is not allowed on %s", r.Method, r.URL.Path))
		case http.StatusNotFound:
			err := aegir.Errorf(aegir.ENOTFOUND, "no such path: %s", r.URL.Path)
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.writeError(w, r, err)
				return
			}
			u, _ := s.sessionUser(r)
			s.pageError(w, r, u, aegir.Errorf(aegir.ENOTFOUND, "There is no page at %s.", r.URL.Path))
		default: // a redirect to the canonical path
			mux.ServeHTTP(w, r)
		}
	})
}

// statusRecorder keeps the status and headers the ServeMux's own 404 and
// 405 handlers write, and drops their text.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(status int)      { r.status = status }

// recoverPanics turns a panic in a handler into a logged 500.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic in handler", "method", r.Method, "path", logPath(r), "panic", v)
				s.writeError(w, r, errors.New("panic"))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// writeError answers with the JSON of err and the status of its code. An
// internal error is logged and answered with a generic message: its text
// never reaches the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := aegir.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = aegir.EINTERNAL, http.StatusInternalServerError
	}
	body := errorBody{Error: code}
	var e *aegir.Error
	switch {
	case code == aegir.EINTERNAL:
		s.Logger.Error("internal error", "method", r.Method, "path", logPath(r), "err", err)
		body.Message = "internal error: the details are in the server's log"
	case errors.As(err, &e):
		body.Field, body.Message = e.Field, e.Message
		if err != error(e) { // wrapped: the wrapping says where it happened
			body.Message = err.Error()
		}
	default:
		body.Message = err.Error()
	}
	writeJSON(w, status, body)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// storeContext bounds store work done outside a request's own lifetime.
func storeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// logPath is the request's path as the log may hold it: a route that
// carries a secret in its path (a one-time login link) is logged by its
// pattern, so no secret reaches the log.
func logPath(r *http.Request) string {
	if strings.Contains(r.Pattern, "{secret}") {
		return r.Pattern
	}
	return r.URL.Path
}
