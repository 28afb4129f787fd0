package webconf

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"

	"github.com/aegir-hosting/aegir"
)

// maxValue is the longest parameter value accepted.
const maxValue = 1024

var (
	// pathPattern is what a path written into a configuration may hold: no
	// space, quote, backslash, ';', '$' (variables of both web servers),
	// '%', '#', braces or angle brackets that either would read as syntax.
	// Of what it allows, only '.' and '+' mean something in a regular
	// expression.
	pathPattern = regexp.MustCompile(`^/[A-Za-z0-9._/@+,=:~-]*$`)
	// paramNamePattern is what a parameter name (a FastCGI parameter, an
	// environment variable) may be.
	paramNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	// valuePattern is what a value written inside double quotes may hold:
	// printable ASCII except quotes, backslash, '$' (nginx variables,
	// Apache's ${VAR}), ';', braces (Apache's %{VAR}) and the backquote;
	// no whitespace or control characters. Both drivers use it, so a
	// site's values suit both web servers.
	valuePattern = regexp.MustCompile(`^[A-Za-z0-9!#%&()*+,\-./:<=>?@\[\]^_|~]*$`)
	// appPattern is what an app name may be: it names an include file or a
	// template.
	appPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	// serialPattern is a certificate serial number in hex (at most 64
	// digits), or none.
	serialPattern = regexp.MustCompile(`^[0-9A-Fa-f]{0,64}$`)
)

// IsPath reports whether p is an absolute path of letters, digits and
// ._/@+,=:~- only, which a configuration can hold unquoted.
func IsPath(p string) bool { return pathPattern.MatchString(p) }

// TLS is what a vhost's template needs of its HTTPS, the same for both
// web servers; a driver embeds it in its template data.
type TLS struct {
	// HTTPS: the site listens on HTTPSPort with the certificate; when
	// HTTPSOnly (ssl_enabled 2) plain HTTP only redirects to https.
	HTTPS      bool
	HTTPSOnly  bool
	HTTPSPort  int
	CertFile   string
	CertSerial string
	KeyFile    string
	HSTS       bool
	// HTTPSTarget is where plain HTTP redirects to, after "https://": the
	// redirection, or the requested name, with the https port when it is
	// not 443; the driver sets it, in its server's words.
	HTTPSTarget string
	// HTTPSRedirectTo is host[:https port] the other names redirect to
	// over https.
	HTTPSRedirectTo string
}

// CheckHTTPS returns the TLS of v, HTTPS off when v.SSL is, after checking
// what both web servers need when it is on: ssl_enabled 0, 1 or 2, an
// https_port that is a TCP port other than the http_port, and a
// certificate serial in hex. The certificate paths are the driver's to
// check.
func CheckHTTPS(v *aegir.Vhost, httpsPort, httpPort int) (TLS, error) {
	switch v.SSL {
	case aegir.SSLOff:
		return TLS{}, nil
	case aegir.SSLOn, aegir.SSLRequired:
	default:
		return TLS{}, aegir.FieldErrorf("ssl_enabled", "%d is not one of 0, 1, 2", v.SSL)
	}
	if httpsPort <= 0 || httpsPort > 65535 {
		return TLS{}, aegir.FieldErrorf("https_port", "%d is not a TCP port", httpsPort)
	}
	if httpsPort == httpPort {
		return TLS{}, aegir.FieldErrorf("https_port", "%d is also the http_port", httpsPort)
	}
	if !serialPattern.MatchString(v.CertSerial) {
		return TLS{}, aegir.FieldErrorf("ssl_serial", "%q is not a hexadecimal serial number", v.CertSerial)
	}
	return TLS{HTTPS: true, HTTPSOnly: v.SSL == aegir.SSLRequired && !v.Disabled, HTTPSPort: httpsPort,
		CertFile: v.CertFile, CertSerial: v.CertSerial, KeyFile: v.KeyFile, HSTS: v.HSTS}, nil
}

// IsApp reports whether app is a valid app name: lowercase letters,
// digits, '_' and '-'.
func IsApp(app string) bool { return appPattern.MatchString(app) }

// CheckParam reports a parameter whose name or value could break out of
// the directive it is written in (fastcgi_param, SetEnv). The value is
// never quoted in the error: it may be a password.
func CheckParam(p aegir.Param) error {
	if !paramNamePattern.MatchString(p.Name) {
		return aegir.FieldErrorf("params", "%q is not a valid parameter name (letters, digits and '_', not starting with a digit)", p.Name)
	}
	if len(p.Value) > maxValue || !valuePattern.MatchString(p.Value) {
		return aegir.FieldErrorf("params", "the value of %s may hold only printable ASCII characters other than quotes, backslash, '$', ';', '`', braces and spaces, at most 1024 of them", p.Name)
	}
	return nil
}

// proxyHostPattern is what the host of a proxied address may be: an IP
// address or a host name, which a configuration holds unquoted.
var proxyHostPattern = regexp.MustCompile(`^[A-Za-z0-9.:-]{1,253}$`)

// CheckProxyTo reports an address a vhost cannot proxy to: it must be
// host:port, the host an IP address or a name, the port a TCP port.
func CheckProxyTo(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n <= 0 || n > 65535 || !proxyHostPattern.MatchString(host) {
		return aegir.FieldErrorf("frontend_listen", "%q must be host:port (an IP address or a host name, and a TCP port)", addr)
	}
	return nil
}

// CheckURL reports a URL a web server cannot safely redirect to.
func CheckURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > maxValue || !valuePattern.MatchString(raw) {
		return aegir.FieldErrorf(field, "%q must be an http or https URL without quotes, spaces, '$', ';' or braces", raw)
	}
	return nil
}

// CheckServer reports a server property the configuration of the web
// server named software ("nginx", "Apache") cannot hold.
func CheckServer(s *aegir.Server, serverName string, paths aegir.Paths, software string) error {
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
		return aegir.FieldErrorf("aegir_home", "%q must be an absolute path of letters, digits and ._/@+,=:~- only, since %s includes files under it", paths.Home, software)
	}
	return nil
}

// HTTPSPortSuffix is what follows a host name in an https URL: nothing on
// port 443.
func HTTPSPortSuffix(port int) string {
	if port == aegir.DefaultHTTPSPort {
		return ""
	}
	return fmt.Sprintf(":%d", port)
}
