package apache

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/aegir-hosting/aegir"
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

// maxValue is the longest parameter value accepted.
const maxValue = 1024

var (
	// pathPattern is what a path written into the configuration may hold:
	// no space, quote, backslash, '$' (Apache variables), '%', '#', braces
	// or angle brackets. Of what it allows, only '.' and '+' mean
	// something in a regular expression, and rootRegex escapes them.
	pathPattern = regexp.MustCompile(`^/[A-Za-z0-9._/@+,=:~-]*$`)
	// paramNamePattern is what an environment variable name may be.
	paramNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	// valuePattern is what a value written inside double quotes may hold:
	// printable ASCII except quotes, backslash, '$' (Apache substitutes
	// ${VAR} in every line), ';', braces (%{VAR} in expressions) and the
	// backquote; no whitespace or control characters. It is the nginx
	// driver's rule, so a site's values suit both web servers.
	valuePattern = regexp.MustCompile(`^[A-Za-z0-9!#%&()*+,\-./:<=>?@\[\]^_|~]*$`)
	// appPattern is what an app name may be: it names a template.
	appPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// hasApp reports whether there are platform rules for app.
func hasApp(app string) bool {
	return appPattern.MatchString(app) && templates.Lookup(platformTemplate(app)) != nil
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
// literally. root matches pathPattern, so '.' and '+' are the only
// characters to escape; they go in brackets, since a backslash in a quoted
// Apache argument is an escape of its own.
func rootRegex(root string) string {
	return strings.NewReplacer(".", "[.]", "+", "[+]").Replace(root)
}

// checkRoot reports a codebase root that cannot be written into the
// configuration: it must be a clean absolute path other than "/", whose
// <Directory> block would grant the whole file system.
func checkRoot(root string) error {
	if !pathPattern.MatchString(root) || filepath.Clean(root) != root || root == "/" {
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

	// AllName and AllAliases are every name of the site.
	AllName    string
	AllAliases []string
	// ChallengeDir is where the ACME http-01 tokens of the server are.
	ChallengeDir string
	// HTTPS: the site has a virtual host on HTTPSPort with the
	// certificate; when HTTPSOnly (ssl_enabled 2), plain HTTP only
	// redirects to https.
	HTTPS     bool
	HTTPSOnly bool
	HTTPSPort int
	CertFile  string
	KeyFile   string
	HSTS      bool
	// HTTPSTarget is where plain HTTP redirects to, after "https://": the
	// redirection, or the requested name, with the https port when it is
	// not 443.
	HTTPSTarget string
	// HTTPSRedirectTo is host[:https port] the other names redirect to
	// over https.
	HTTPSRedirectTo string
}

// vhostData validates v and returns the template data of its vhost. Every
// string that reaches the file is checked here, so no site property can
// break out of the directive it is written in.
func (a *Apache) vhostData(v *aegir.Vhost) (*vhostData, error) {
	if err := aegir.ValidateURI("uri", v.URI); err != nil {
		return nil, err
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
			if err := checkURL("disabled_url", v.DisabledURL); err != nil {
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
	if !appPattern.MatchString(v.App) {
		return nil, aegir.FieldErrorf("app", "%q may hold only lowercase letters, digits, '_' and '-'", v.App)
	}
	for _, p := range v.Params {
		if err := checkParam(p); err != nil {
			return nil, err
		}
	}
	d.Root, d.Define, d.Params = v.Root, rootDefine(v.Root), v.Params
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
			d.HTTPSRedirectTo = v.Redirection + httpsPortSuffix(d.HTTPSPort)
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

// httpsPortSuffix is what follows a host name in an https URL: nothing on
// port 443.
func httpsPortSuffix(port int) string {
	if port == aegir.DefaultHTTPSPort {
		return ""
	}
	return fmt.Sprintf(":%d", port)
}

// httpsData checks the HTTPS fields of v and fills those of d.
func (a *Apache) httpsData(d *vhostData, v *aegir.Vhost) error {
	switch v.SSL {
	case aegir.SSLOff:
		return nil
	case aegir.SSLOn, aegir.SSLRequired:
	default:
		return aegir.FieldErrorf("ssl_enabled", "%d is not one of 0, 1, 2", v.SSL)
	}
	for _, f := range []struct{ field, path string }{{"ssl_certificate", v.CertFile}, {"ssl_certificate_key", v.KeyFile}} {
		if !pathPattern.MatchString(f.path) || filepath.Clean(f.path) != f.path {
			return aegir.FieldErrorf(f.field, "%q must be a clean absolute path of letters, digits and ._/@+,=:~- only", f.path)
		}
	}
	port := a.httpsPort()
	if port <= 0 || port > 65535 {
		return aegir.FieldErrorf("https_port", "%d is not a TCP port", port)
	}
	if port == a.server.HTTPPort {
		return aegir.FieldErrorf("https_port", "%d is also the http_port", port)
	}
	d.HTTPS, d.HTTPSOnly, d.HTTPSPort = true, v.SSL == aegir.SSLRequired && !v.Disabled, port
	d.CertFile, d.KeyFile, d.HSTS = v.CertFile, v.KeyFile, v.HSTS
	// With UseCanonicalName Off (the default), SERVER_NAME is the name the
	// request asked for, without its port.
	d.HTTPSTarget = "%{SERVER_NAME}" + httpsPortSuffix(port)
	return nil
}

// checkParam reports a parameter whose name or value could break out of
// its SetEnv directive. The value is never quoted in the error: it may be
// a password.
func checkParam(p aegir.Param) error {
	if !paramNamePattern.MatchString(p.Name) {
		return aegir.FieldErrorf("params", "%q is not a valid parameter name (letters, digits and '_', not starting with a digit)", p.Name)
	}
	if len(p.Value) > maxValue || !valuePattern.MatchString(p.Value) {
		return aegir.FieldErrorf("params", "the value of %s may hold only printable ASCII characters other than quotes, backslash, '$', ';', '`', braces and spaces, at most 1024 of them", p.Name)
	}
	return nil
}

// checkURL reports a URL Apache cannot safely redirect to.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > maxValue || !valuePattern.MatchString(raw) {
		return aegir.FieldErrorf(field, "%q must be an http or https URL without quotes, spaces, '$', ';' or braces", raw)
	}
	return nil
}

// checkServer reports a server property the configuration cannot hold.
func checkServer(s *aegir.Server, serverName string, paths aegir.Paths) error {
	if err := aegir.ValidateName("server", serverName); err != nil {
		return err
	}
	if s.HTTPPort <= 0 || s.HTTPPort > 65535 {
		return aegir.FieldErrorf("http_port", "%d is not a TCP port", s.HTTPPort)
	}
	if !pathPattern.MatchString(s.PHPFPMSocket) {
		return aegir.FieldErrorf("php_fpm_socket", "%q must be an absolute path of letters, digits and ._/@+,=:~- only", s.PHPFPMSocket)
	}
	if !pathPattern.MatchString(s.HTTPConfLink) {
		return aegir.FieldErrorf("http_conf_link", "%q must be an absolute path of letters, digits and ._/@+,=:~- only", s.HTTPConfLink)
	}
	if len(s.HTTPTestCmd) == 0 {
		return aegir.FieldErrorf("http_test_cmd", "must not be empty")
	}
	if len(s.HTTPRestartCmd) == 0 {
		return aegir.FieldErrorf("http_restart_cmd", "must not be empty")
	}
	if !pathPattern.MatchString(paths.Home) {
		return aegir.FieldErrorf("aegir_home", "%q must be an absolute path of letters, digits and ._/@+,=:~- only, since Apache includes files under it", paths.Home)
	}
	return nil
}
