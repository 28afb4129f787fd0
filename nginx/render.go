package nginx

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/webconf"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"join": func(s []string) string { return strings.Join(s, " ") },
}).ParseFS(templateFS, "templates/*.tmpl"))

// Names of the templates that are not include snippets.
const (
	serverTemplate = "server.conf.tmpl"
	vhostTemplate  = "vhost.conf.tmpl"
)

// includeNames lists the include snippets, by file name, that VerifyServer
// writes: every embedded template but the server file and the vhost.
func includeNames() []string {
	var names []string
	for _, t := range templates.Templates() {
		n := t.Name()
		// Templates the vhost defines for itself have no file name.
		if n == serverTemplate || n == vhostTemplate || !strings.HasSuffix(n, ".conf.tmpl") {
			continue
		}
		names = append(names, strings.TrimSuffix(n, ".tmpl"))
	}
	slices.Sort(names)
	return names
}

// hasAppInclude reports whether there is an include snippet for app.
func hasAppInclude(app string) bool {
	_, err := fs.Stat(templateFS, "templates/nginx_"+app+".conf.tmpl")
	return err == nil
}

func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// serverData is what the server file template is given.
type serverData struct {
	Server       string
	Dir          string // config/<server>/nginx
	Port         int
	PHPFPMSocket string
}

// ChallengeRoot is the parent of the server's ACME challenge directory,
// aegir.Paths.ChallengeDir: config/<server>, the parent of Dir.
func (d serverData) ChallengeRoot() string { return filepath.Dir(d.Dir) }

// ChallengeBase is the name of the server's ACME challenge directory.
func (d serverData) ChallengeBase() string {
	return filepath.Base(aegir.Paths{}.ChallengeDir(d.Server))
}

// vhostData is what the vhost template is given.
type vhostData struct {
	URI         string
	Port        int
	Includes    string
	Root        string
	App         string
	Params      []aegir.Param
	AllNames    []string // every name of the site
	Names       []string // every name, the main block's when not redirecting
	Redirection string
	RedirectTo  string   // host[:port] the other names redirect to
	OtherNames  []string // names that redirect
	Disabled    bool
	DisabledURL string
	PHPSocket   string // the site's own pool's, or "" for the shared one
	// Snippets are the include patterns of the vhost snippets of the
	// user's own (webconf.Snippets).
	Snippets       []string
	SnippetsDigest string
	// ProxyTo is where the vhost proxies every request (aegir.Vhost).
	ProxyTo string

	// ChallengeRoot/ChallengeBase is the directory ACME http-01 tokens
	// are served from.
	ChallengeRoot string
	ChallengeBase string
	webconf.TLS
}

// vhostData validates v and returns the template data of its vhost. Every
// string that reaches the file is checked here, so no site property can
// break out of the directive it is written in.
func (n *Nginx) vhostData(v *aegir.Vhost) (*vhostData, error) {
	if err := aegir.ValidateURI("uri", v.URI); err != nil {
		return nil, err
	}
	names := []string{v.URI}
	for _, a := range v.Aliases {
		if err := aegir.ValidateURI("aliases", a); err != nil {
			return nil, err
		}
		if !slices.Contains(names, a) {
			names = append(names, a)
		}
	}
	challenge := n.env.Paths.ChallengeDir(n.name)
	d := &vhostData{
		URI: v.URI, Port: n.server.HTTPPort, Includes: n.env.Paths.Includes(),
		AllNames: names, Names: names, Disabled: v.Disabled,
		ChallengeRoot: filepath.Dir(challenge), ChallengeBase: filepath.Base(challenge),
	}
	if err := n.httpsData(d, v); err != nil {
		return nil, err
	}
	if v.Disabled {
		if v.DisabledURL != "" {
			if err := webconf.CheckURL("disabled_url", v.DisabledURL); err != nil {
				return nil, err
			}
			d.DisabledURL = v.DisabledURL
		}
		// Nothing else is served, so nothing else needs checking: a
		// disabled vhost is always writable.
		return d, nil
	}
	if v.ProxyTo != "" {
		// The front end's vhost: no root, app or parameters of a site.
		if err := webconf.CheckProxyTo(v.ProxyTo); err != nil {
			return nil, err
		}
		d.ProxyTo = v.ProxyTo
		return d, nil
	}
	if !webconf.IsPath(v.Root) || strings.Contains(v.Root, "..") {
		return nil, aegir.FieldErrorf("root", "%q must be an absolute path of letters, digits and ._/@+,=:~- only", v.Root)
	}
	if !webconf.IsApp(v.App) {
		return nil, aegir.FieldErrorf("app", "%q may hold only lowercase letters, digits, '_' and '-'", v.App)
	}
	for _, p := range v.Params {
		if err := webconf.CheckParam(p); err != nil {
			return nil, err
		}
	}
	snippets, digest, err := webconf.Snippets(filepath.Join(n.confDir(), webconf.SnippetsDir), v.Platform, v.URI)
	if err != nil {
		return nil, err
	}
	d.Snippets, d.SnippetsDigest = snippets, digest
	d.Root, d.App, d.Params = v.Root, v.App, v.Params
	if v.PHPSocket != "" {
		if !webconf.IsPath(v.PHPSocket) || strings.Contains(v.PHPSocket, "..") {
			return nil, aegir.FieldErrorf("php_fpm_socket", "%q must be an absolute path of letters, digits and ._/@+,=:~- only", v.PHPSocket)
		}
		d.PHPSocket = v.PHPSocket
	}
	if v.Redirection != "" {
		if !slices.Contains(names, v.Redirection) {
			return nil, aegir.FieldErrorf("redirection", "%q is neither the uri nor one of the aliases", v.Redirection)
		}
		d.Redirection = v.Redirection
		d.RedirectTo = v.Redirection
		if n.server.HTTPPort != 80 {
			d.RedirectTo = fmt.Sprintf("%s:%d", v.Redirection, n.server.HTTPPort)
		}
		for _, name := range names {
			if name != v.Redirection {
				d.OtherNames = append(d.OtherNames, name)
			}
		}
		d.Names = []string{v.Redirection}
		if d.HTTPS {
			d.HTTPSRedirectTo = v.Redirection + webconf.HTTPSPortSuffix(d.HTTPSPort)
			d.HTTPSTarget = d.HTTPSRedirectTo
		}
	}
	return d, nil
}

// httpsPort is the server's https_port, 443 when unset.
func (n *Nginx) httpsPort() int {
	if n.server.HTTPSPort == 0 {
		return aegir.DefaultHTTPSPort
	}
	return n.server.HTTPSPort
}

// httpsData checks the HTTPS fields of v and fills those of d.
func (n *Nginx) httpsData(d *vhostData, v *aegir.Vhost) error {
	port := n.httpsPort()
	tls, err := webconf.CheckHTTPS(v, port, n.server.HTTPPort)
	if err != nil || !tls.HTTPS {
		return err
	}
	for field, path := range map[string]string{"ssl_certificate": v.CertFile, "ssl_certificate_key": v.KeyFile} {
		if !webconf.IsPath(path) || strings.Contains(path, "..") {
			return aegir.FieldErrorf(field, "%q must be an absolute path of letters, digits and ._/@+,=:~- only", path)
		}
	}
	d.TLS = tls
	d.HTTPSTarget = "$host" + webconf.HTTPSPortSuffix(port)
	return nil
}
