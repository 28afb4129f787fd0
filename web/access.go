package web

import (
	"context"
	"net"
	"net/http"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// This file holds the checks of what a request names besides its object:
// the platform and client of a site, the clients of a platform, the
// target platform of a task. They go through authorize's rules (the "use"
// action), and a refusal reads as invalid input naming the field, worded
// as if the object did not exist. The API and the pages share them.

// propValue returns a property of props in any spelling (dashes or
// underscores).
func propValue(props map[string]string, name string) (string, bool) {
	for k, v := range props {
		if aegir.PropertyName(k) == name {
			return v, true
		}
	}
	return "", false
}

// checkSiteInput checks the platform and client a user gives a site (old
// is the site before an update, nil on create). A client user's site
// belongs to one of their clients: the only one when they have one, else
// the one they name; and they do not choose database servers.
func (s *Server) checkSiteInput(ctx context.Context, u *aegir.User, in *hosting.SiteInput, old *aegir.SiteRecord) error {
	if u.Role == aegir.RoleClient {
		switch {
		case in.Client == nil && old == nil && len(u.Clients) == 1:
			c := u.Clients[0]
			in.Client = &c
		case in.Client == nil && old == nil, in.Client != nil && *in.Client == "":
			return aegir.FieldErrorf("client", "is required: the site must belong to one of your clients")
		}
		if v, ok := propValue(in.Props, "db_server"); ok && (old == nil || aegir.ContextName(v) != aegir.ContextName(old.Site.DBServer)) {
			return aegir.FieldErrorf("db_server", "is chosen by the administrators")
		}
	}
	if in.Client != nil {
		if err := s.Service.CheckUse(ctx, u, hosting.KindClient, *in.Client, "client"); err != nil {
			return err
		}
	}
	if v, ok := propValue(in.Props, "platform"); ok && (old == nil || aegir.ContextName(v) != aegir.ContextName(old.Site.Platform)) {
		if err := s.Service.CheckUse(ctx, u, hosting.KindPlatform, aegir.ContextName(v), "platform"); err != nil {
			return err
		}
	}
	return nil
}

// checkPlatformInput checks the clients a platform is limited to.
func (s *Server) checkPlatformInput(ctx context.Context, u *aegir.User, in hosting.PlatformInput) error {
	if in.Clients == nil {
		return nil
	}
	for _, c := range *in.Clients {
		if err := s.Service.CheckUse(ctx, u, hosting.KindClient, c, "clients"); err != nil {
			return err
		}
	}
	return nil
}

// checkTaskArgs checks the target platform of a migrate, clone or batch
// migrate.
func (s *Server) checkTaskArgs(ctx context.Context, u *aegir.User, args map[string]string) error {
	if p := args["platform"]; p != "" {
		return s.Service.CheckUse(ctx, u, hosting.KindPlatform, aegir.ContextName(p), "args.platform")
	}
	return nil
}

// clientAddress is the address of the request's client, as the audit log
// and the login limit see it: the peer's IP (a proxy in front must be
// trusted to limit by itself).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
