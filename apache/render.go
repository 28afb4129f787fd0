package apache

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
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

// Names of the templates that are not platform files.
const (
	serverTemplate     = "server.conf.tmpl"
	vhostTemplate      = "vhost.conf.tmpl"
	generationTemplate = "generation.conf.tmpl"
)

// platformTemplate is the name of the template of an app's platform file.
func platformTemplate(app string) string { return "platform_" + app + ".conf.tmpl" }

// hasApp reports whether there are platform rules for app.
func hasApp(app string) bool {
	return webconf.IsApp(app) && templates.Lookup(platformTemplate(app)) != nil
}

// apps lists the apps that have platform rules.
func apps() []string {
	var names []string
	for _, t := range templates.Templates() {
		n := t.Name()
		if app, ok := strings.CutPrefix(n, "platform_"); ok && strings.HasSuffix(app, ".conf.tmpl") {
			names = append(names, strings.TrimSuffix(app, ".conf.tmpl"))
		}
	}
	slices.Sort(names)
	return names
}

func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// rootDefine is the name a platform file defines for its root, and the
// vhosts of the root's sites test.
func rootDefine(root string) string {
	sum := sha256.Sum256([]byte(root))
	return "aegir_root_" + hex.EncodeToString(sum[:8])
}

// rootRegex returns root as a regular expression that matches it
// literally. root passed webconf.IsPath, so '.' and '+' are the only
// characters to escape; they go in brackets, since a backslash in a quoted
// Apache argument is an escape of its own.
func rootRegex(root string) string {
	return strings.NewReplacer(".", "[.]", "+", "[+]").Replace(root)
}

// checkRoot reports a codebase root that cannot be written into the
// configuration: it must be a clean absolute path other than "/", whose
// <Directory> block would grant the whole file system.
func checkRoot(root string) error {
	if !webconf.IsPath(root) || filepath.Clean(root) != root || root == "/" {
		return aegir.FieldErrorf("root", "%q must be a clean absolute path other than / of letters, digits and ._/@+,=:~- only", root)
	}
	return nil
}

// serverData is what the server file template is given.
type serverData struct {
	Server       string
	Dir          string // config/<server>/apache
	ChallengeDir string
	Port         int
	Listen       bool
	HTTPSPort    int // 0 is 443
}

// ListenHTTPS reports whether the server file must listen on the https
// port itself: the system Apache listens on 443 (ports.conf, with
// mod_ssl), and aegir on any other port.
func (d serverData) ListenHTTPS() bool {
	return d.HTTPSPort != 0 && d.HTTPSPort != aegir.DefaultHTTPSPort && d.HTTPSPort != 80 && d.HTTPSPort != d.Port
}

// generationData is what the generation file template is given.
type generationData struct {
	Dir   string
	Token string
}

// platformData is what a platform file template is given.
type platformData struct {
	Name      string
	App       string
	Root      string
	RootRegex string
	Define    string
	Socket    string
}

// platformData validates a platform and returns the template data of its
// file.
func (a *Apache) platformData(name, root, app string) (*platformData, error) {
	if err := aegir.ValidateName("platform", name); err != nil {
		return nil, err
	}
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	if !hasApp(app) {
		return nil, aegir.FieldErrorf("app", "apache has no rules for app %q (have %v)", app, apps())
	}
	return &platformData{
		Name: name, App: app, Root: root, RootRegex: rootRegex(root), Define: rootDefine(root),
		Socket: a.server.PHPFPMSocket,
	}, nil
}

// vhostData is what the vhost template is given.
type vhostData struct {
	URI          string
	Port         int
	Name         string   // ServerName of the main virtual host
	Aliases      []string // its ServerAlias
	Root         string
	Define       string
	Params       []aegir.Param
	Redirection  string
	RedirectTo   string   // host[:port] the other names redirect to
	OtherName    string   // ServerName of the redirecting virtual host
	OtherAliases []string // its ServerAlias
	Disabled     bool
	DisabledURL  string
	PHPSocket    string // the site's own pool's, or "" for the platform file's handler
	// Snippets are the include patterns of the vhost snippets of the
	// user's own (webconf.Snippets).
	Snippets       []string
	SnippetsDigest string

	// AllName and AllAliases are every name of the site.
	AllName    string
	AllAliases []string
	// ChallengeDir is where the ACME http-01 tokens of the server are.
	ChallengeDir string
	webconf.TLS
}

// vhostData validates v and returns the template data of its vhost. Every
// string that reaches the file is checked here, so no site property can
// break out of the directive it is written in.
func (a *Apache) vhostData(v *aegir.Vhost) (*vhostData, error) {
	if err := aegir.ValidateURI("uri", v.URI); err != nil {
		return nil, err
	}
	if v.ProxyTo != "" {
		return nil, aegir.FieldErrorf("frontend_uri", "the front end's own vhost is written for nginx only yet")
	}
	names := []string{v.URI}
	for _, alias := range v.Aliases {
		if err := aegir.ValidateURI("aliases", alias); err != nil {
			return nil, err
		}
		if !slices.Contains(names, alias) {
			names = append(names, alias)
		}
	}
	d := &vhostData{URI: v.URI, Port: a.server.HTTPPort, Disabled: v.Disabled, ChallengeDir: a.env.Paths.ChallengeDir(a.name)}
	d.Name, d.Aliases = names[0], names[1:]
	d.AllName, d.AllAliases = names[0], names[1:]
	if err := a.httpsData(d, v); err != nil {
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
	if err := checkRoot(v.Root); err != nil {
		return nil, err
	}
	// The app's rules are in the platform file; the name is still checked,
	// as the nginx driver does, so a site is valid for both servers.
	if !webconf.IsApp(v.App) {
		return nil, aegir.FieldErrorf("app", "%q may hold only lowercase letters, digits, '_' and '-'", v.App)
	}
	for _, p := range v.Params {
		if err := webconf.CheckParam(p); err != nil {
			return nil, err
		}
	}
	snippets, digest, err := webconf.Snippets(filepath.Join(a.confDir(), webconf.SnippetsDir), v.Platform, v.URI)
	if err != nil {
		return nil, err
	}
	d.Snippets, d.SnippetsDigest = snippets, digest
	d.Root, d.Define, d.Params = v.Root, rootDefine(v.Root), v.Params
	if v.PHPSocket != "" {
		if !webconf.IsPath(v.PHPSocket) || strings.ContainsAny(v.PHPSocket, "|\"") || strings.Contains(v.PHPSocket, "..") {
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
		if a.server.HTTPPort != 80 {
			d.RedirectTo = fmt.Sprintf("%s:%d", v.Redirection, a.server.HTTPPort)
		}
		var others []string
		for _, name := range names {
			if name != v.Redirection {
				others = append(others, name)
			}
		}
		d.Name, d.Aliases = v.Redirection, nil
		if len(others) > 0 {
			d.OtherName, d.OtherAliases = others[0], others[1:]
		}
		if d.HTTPS {
			d.HTTPSRedirectTo = v.Redirection + webconf.HTTPSPortSuffix(d.HTTPSPort)
			d.HTTPSTarget = d.HTTPSRedirectTo
		}
	}
	return d, nil
}

// httpsPort is the server's https_port, 443 when unset.
func (a *Apache) httpsPort() int {
	if a.server.HTTPSPort == 0 {
		return aegir.DefaultHTTPSPort
	}
	return a.server.HTTPSPort
}

// httpsData checks the HTTPS fields of v and fills those of d.
func (a *Apache) httpsData(d *vhostData, v *aegir.Vhost) error {
	port := a.httpsPort()
	tls, err := webconf.CheckHTTPS(v, port, a.server.HTTPPort)
	if err != nil || !tls.HTTPS {
		return err
	}
	for _, f := range []struct{ field, path string }{{"ssl_certificate", v.CertFile}, {"ssl_certificate_key", v.KeyFile}} {
		if !webconf.IsPath(f.path) || filepath.Clean(f.path) != f.path {
			return aegir.FieldErrorf(f.field, "%q must be a clean absolute path of letters, digits and ._/@+,=:~- only", f.path)
		}
	}
	d.TLS = tls
	// With UseCanonicalName Off (the default), SERVER_NAME is the name the
	// request asked for, without its port.
	d.HTTPSTarget = "%{SERVER_NAME}" + webconf.HTTPSPortSuffix(port)
	return nil
}
