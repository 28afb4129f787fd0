package nginx

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
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

// Names of the templates that are not include snippets.
const (
	serverTemplate = "server.conf.tmpl"
	vhostTemplate  = "vhost.conf.tmpl"
)

// maxValue is the longest parameter value accepted.
const maxValue = 1024

var (
	// pathPattern is what a path written unquoted into the configuration
	// may hold: no space, quote, ';', '$', '#' or brace that nginx would read
	// as syntax.
	pathPattern = regexp.MustCompile(`^/[A-Za-z0-9._/@+,=:~-]*$`)
	// paramNamePattern is what a FastCGI parameter name may be.
	paramNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	// valuePattern is what a value written inside double quotes may hold:
	// printable ASCII except quotes, backslash, '$' (nginx variables), ';',
	// braces and the backquote; no whitespace or control characters.
	valuePattern = regexp.MustCompile(`^[A-Za-z0-9!#%&()*+,\-./:<=>?@\[\]^_|~]*$`)
	// appPattern is what an app name may be: it names an include file.
	appPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
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

	// ChallengeRoot/ChallengeBase is the directory ACME http-01 tokens
	// are served from.
	ChallengeRoot string
	ChallengeBase string
	// HTTPS: the site listens on HTTPSPort with the certificate; when
	// HTTPSOnly (ssl_enabled 2) plain HTTP only redirects to https.
	HTTPS     bool
	HTTPSOnly bool
	HTTPSPort int
	CertFile  string
	KeyFile   string
	HSTS      bool
	// HTTPSTarget is where plain HTTP redirects to, after "https://":
	// the redirection (or $host) with the https port when it is not 443.
	HTTPSTarget string
	// HTTPSRedirectTo is host[:https port] the other names redirect to
	// over https.
	HTTPSRedirectTo string
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
			if err := checkURL("disabled_url", v.DisabledURL); err != nil {
				return nil, err
			}
			d.DisabledURL = v.DisabledURL
		}
		// Nothing else is served, so nothing else needs checking: a
		// disabled vhost is always writable.
		return d, nil
	}
	if !pathPattern.MatchString(v.Root) || strings.Contains(v.Root, "..") {
		return nil, aegir.FieldErrorf("root", "%q must be an absolute path of letters, digits and ._/@+,=:~- only", v.Root)
	}
	if !appPattern.MatchString(v.App) {
		return nil, aegir.FieldErrorf("app", "%q may hold only lowercase letters, digits, '_' and '-'", v.App)
	}
	for _, p := range v.Params {
		if err := checkParam(p); err != nil {
			return nil, err
		}
	}
	d.Root, d.App, d.Params = v.Root, v.App, v.Params
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
			d.HTTPSRedirectTo = v.Redirection + httpsPortSuffix(d.HTTPSPort)
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

// httpsPortSuffix is what follows a host name in an https URL: nothing on
// port 443.
func httpsPortSuffix(port int) string {
	if port == aegir.DefaultHTTPSPort {
		return ""
	}
	return fmt.Sprintf(":%d", port)
}

// httpsData checks the HTTPS fields of v and fills those of d.
func (n *Nginx) httpsData(d *vhostData, v *aegir.Vhost) error {
	switch v.SSL {
	case aegir.SSLOff:
		return nil
	case aegir.SSLOn, aegir.SSLRequired:
	default:
		return aegir.FieldErrorf("ssl_enabled", "%d is not one of 0, 1, 2", v.SSL)
	}
	for field, path := range map[string]string{"ssl_certificate": v.CertFile, "ssl_certificate_key": v.KeyFile} {
		if !pathPattern.MatchString(path) || strings.Contains(path, "..") {
			return aegir.FieldErrorf(field, "%q must be an absolute path of letters, digits and ._/@+,=:~- only", path)
		}
	}
	port := n.httpsPort()
	if port <= 0 || port > 65535 {
		return aegir.FieldErrorf("https_port", "%d is not a TCP port", port)
	}
	if port == n.server.HTTPPort {
		return aegir.FieldErrorf("https_port", "%d is also the http_port", port)
	}
	d.HTTPS, d.HTTPSOnly, d.HTTPSPort = true, v.SSL == aegir.SSLRequired && !v.Disabled, port
	d.CertFile, d.KeyFile, d.HSTS = v.CertFile, v.KeyFile, v.HSTS
	d.HTTPSTarget = "$host" + httpsPortSuffix(port)
	return nil
}

// checkParam reports a parameter whose name or value could break out of
// its fastcgi_param directive. The value is never quoted in the error: it
// may be a password.
func checkParam(p aegir.Param) error {
	if !paramNamePattern.MatchString(p.Name) {
		return aegir.FieldErrorf("params", "%q is not a valid parameter name (letters, digits and '_', not starting with a digit)", p.Name)
	}
	if len(p.Value) > maxValue || !valuePattern.MatchString(p.Value) {
		return aegir.FieldErrorf("params", "the value of %s may hold only printable ASCII characters other than quotes, backslash, '$', ';', '`', braces and spaces, at most 1024 of them", p.Name)
	}
	return nil
}

// checkURL reports a URL nginx cannot safely redirect to.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > maxValue || !valuePattern.MatchString(raw) {
		return aegir.FieldErrorf(field, "%q must be an http or https URL without quotes, spaces, '$', ';' or braces", raw)
	}
	return nil
}

// checkServer reports a server property the server file cannot hold.
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
		return aegir.FieldErrorf("aegir_home", "%q must be an absolute path of letters, digits and ._/@+,=:~- only, since nginx includes files under it", paths.Home)
	}
	return nil
}
