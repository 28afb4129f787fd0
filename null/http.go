package null

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

func init() { aegir.RegisterHTTP(aegir.ServiceNull, NewHTTP) }

// HTTP is the http service of a server without a web server: it writes no
// configuration and reloads nothing.
type HTTP struct {
	server string
	log    *aegir.TaskLog
}

// NewHTTP returns the null http service of the named server.
func NewHTTP(_ *aegir.Server, serverName string, env aegir.Env) (aegir.HTTPService, error) {
	log := env.Log
	if log == nil {
		log = aegir.NewTaskLog(nil)
	}
	return &HTTP{server: serverName, log: log}, nil
}

// VerifyServer logs that the server has no web service.
func (h *HTTP) VerifyServer(context.Context) error {
	h.log.Infof("server @%s has no web service (http_service_type is null): nothing to configure", h.server)
	return nil
}

// WritePlatform writes nothing.
func (h *HTTP) WritePlatform(context.Context, string, string, string) (aegir.Undo, error) {
	return nil, nil
}

// WriteSite writes nothing and reloads nothing.
func (h *HTTP) WriteSite(_ context.Context, v *aegir.Vhost) (aegir.Undo, error) {
	h.log.Infof("server @%s has no web service: no vhost written for %s", h.server, v.URI)
	return nil, nil
}

// DeleteSite removes nothing.
func (h *HTTP) DeleteSite(context.Context, string) (aegir.Undo, error) { return nil, nil }

var _ aegir.HTTPService = (*HTTP)(nil)
