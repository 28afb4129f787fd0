package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/internal/webconf"
	"github.com/aegir-hosting/aegir/local"
)

// frontendFile is where aegir setup --frontend_uri records the front
// end's vhost, in $AEGIR_HOME/config, for aegir serve to read.
const frontendFile = "frontend.json"

// frontend is the front end served by the master's web server: its
// vhost's name and the address of aegir serve it proxies to.
type frontend struct {
	URI    string `json:"uri"`
	Listen string `json:"listen"`
	// SSL is as a site's ssl_enabled: 0 off, 1 on, 2 required; the
	// certificate comes from SSLProvider (self-signed or acme).
	SSL         int    `json:"ssl_enabled,omitempty"`
	SSLProvider string `json:"ssl_provider,omitempty"`
}

// loopbackProxies are the peers aegir serve trusts as its proxy: the
// master's web server, on this machine.
var loopbackProxies = []string{"127.0.0.1", "::1"}

// frontendOption takes --frontend_uri and --frontend_listen from o and
// checks them before setup changes anything; nil when no URI is given.
func frontendOption(o *options) (*frontend, error) {
	uri, ok := o.take("frontend_uri")
	listen, hasListen := o.take("frontend_listen")
	if !ok {
		if hasListen {
			return nil, aegir.FieldErrorf("frontend_listen", "needs --frontend_uri")
		}
		return nil, nil
	}
	if !hasListen {
		listen = defaultListen
	}
	if err := aegir.ValidateURI("frontend_uri", uri); err != nil {
		return nil, err
	}
	if err := webconf.CheckProxyTo(listen); err != nil {
		return nil, err
	}
	f := &frontend{URI: uri, Listen: listen}
	// The front end's HTTPS is a site's: the same fields, checked alike.
	site := &aegir.Site{URI: uri, Platform: "@none", SSLProvider: aegir.SSLSelfSigned}
	if v, ok := o.take("frontend_ssl_enabled"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, aegir.FieldErrorf("frontend_ssl_enabled", "%q is not 0, 1 or 2", v)
		}
		site.SSLEnabled = n
	}
	if v, ok := o.take("frontend_ssl_provider"); ok {
		site.SSLProvider = v
	}
	if err := site.Validate(); err != nil {
		var e *aegir.Error
		if errors.As(err, &e) && strings.HasPrefix(e.Field, "ssl_") {
			e.Field = "frontend_" + e.Field
		}
		return nil, err
	}
	f.SSL, f.SSLProvider = site.SSLEnabled, site.SSLProvider
	return f, nil
}

// writeFrontend writes the front end's vhost on @server_master's web
// server, proxying to aegir serve's listen address, tests and reloads it,
// and records both for aegir serve. The files go to the aegir user, whose
// verifies rewrite their directories.
func (m *Main) writeFrontend(ctx context.Context, paths aegir.Paths, f frontend, aegirUser string) error {
	c, err := contextfile.New(paths).Get(ctx, aegir.MasterServer)
	if err != nil {
		return err
	}
	server := c.WithDefaults().Server
	log := aegir.NewTaskLog(nil)
	http, err := aegir.NewHTTPService(server, aegir.MasterServer, aegir.Env{Paths: paths, Runner: &local.Runner{}, Log: log})
	if err != nil {
		return err
	}
	v := &aegir.Vhost{URI: f.URI, ProxyTo: f.Listen}
	if f.SSL != aegir.SSLOff {
		certs, err := aegir.NewCertificateService(f.SSLProvider, aegir.Env{Paths: paths, Runner: &local.Runner{}, Log: log})
		if err != nil {
			return err
		}
		cert, _, err := certs.Obtain(ctx, &aegir.CertificateRequest{Name: f.URI, Site: f.URI, Domains: []string{f.URI},
			Provider: f.SSLProvider, ChallengeDir: paths.ChallengeDir(aegir.MasterServer)})
		if err != nil {
			return fmt.Errorf("the front end's certificate: %w", err)
		}
		v.SSL, v.CertFile, v.KeyFile, v.CertSerial = f.SSL, cert.CertFile, cert.KeyFile, cert.Serial
	}
	if _, err := http.WriteSite(ctx, v); err != nil {
		return fmt.Errorf("the front end's vhost: %w", err)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(paths.Config(), frontendFile)
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if aegirUser != "" {
		for _, p := range []string{path, filepath.Join(paths.ServerConfig(aegir.MasterServer), server.HTTPServiceType, "vhost.d", f.URI+".conf")} {
			if err := chownToUser(p, aegirUser); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	scheme := "http"
	if f.SSL == aegir.SSLRequired {
		scheme = "https"
	}
	fmt.Fprintf(m.Stdout, "the front end is served at %s://%s/ by @%s's %s, proxying to %s: run aegir serve --listen %s\n",
		scheme, f.URI, aegir.MasterServer, server.HTTPServiceType, f.Listen, f.Listen)
	return nil
}

// readFrontend returns what setup recorded of the front end's vhost, or
// nil when the front end has none.
func readFrontend(paths aegir.Paths) (*frontend, error) {
	data, err := os.ReadFile(filepath.Join(paths.Config(), frontendFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var f frontend
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", frontendFile, err)
	}
	return &f, nil
}
