package httpservicetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// Render renders the vhost of v on a server with those ports, as the
// driver writes it, or returns the driver's refusal.
type Render func(httpPort, httpsPort int, v *aegir.Vhost) ([]byte, error)

// Shape reads a configuration file as its web server does and describes
// its structure (directives, their names and number of arguments, which
// arguments are quoted or hold a variable, blocks or sections, and what
// the server would reject), leaving out what is inside the arguments.
type Shape func(conf []byte) []string

// SameShape fails unless got, rendered from fuzzed input, has the shape
// and the number of lines of want, rendered from a benign input of the
// same shape: no directive, argument, block, comment or line of one is
// missing from the other.
func SameShape(t *testing.T, shape Shape, what string, got, want []byte) {
	t.Helper()
	if g, w := shape(got), shape(want); !slices.Equal(g, w) {
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("%s: a fuzzed input changed the file's structure at item %d: %q, benign %q\n--- fuzzed ---\n%s\n--- benign ---\n%s", what, i, g[i], w[i], got, want)
			}
		}
		t.Fatalf("%s: a fuzzed input made %d items, benign %d\n--- fuzzed ---\n%s\n--- benign ---\n%s", what, len(g), len(w), got, want)
	}
	if g, w := strings.Count(string(got), "\n"), strings.Count(string(want), "\n"); g != w {
		t.Fatalf("%s: a fuzzed input made %d lines, benign %d\n--- fuzzed ---\n%s", what, g, w, got)
	}
}

// benignVhost returns a vhost of v's shape whose every string is a plain
// one: as many distinct names in the same places (the uri, aliases that
// repeat it or each other, the redirection), as many parameters, and the
// same options.
func benignVhost(v *aegir.Vhost) *aegir.Vhost {
	names := map[string]string{v.URI: "example.com"}
	for _, a := range v.Aliases {
		if _, ok := names[a]; !ok {
			names[a] = fmt.Sprintf("n%d.example.com", len(names))
		}
	}
	b := &aegir.Vhost{URI: names[v.URI], Root: "/srv/www/platform", App: "php", SSL: v.SSL, HSTS: v.HSTS, Disabled: v.Disabled}
	if v.Platform != "" {
		b.Platform = "platform_wp"
	}
	for _, a := range v.Aliases {
		b.Aliases = append(b.Aliases, names[a])
	}
	if v.Redirection != "" {
		b.Redirection = names[v.Redirection]
	}
	for i := range v.Params {
		b.Params = append(b.Params, aegir.Param{Name: fmt.Sprintf("P%d", i), Value: "v"})
	}
	if v.CertFile != "" {
		b.CertFile, b.KeyFile = "/var/aegir/config/ssl.d/example.com/cert.pem", "/var/aegir/config/ssl.d/example.com/key.pem"
	}
	if v.CertSerial != "" {
		b.CertSerial = "0a1b"
	}
	if v.DisabledURL != "" {
		b.DisabledURL = "https://hosting.example.net/disabled"
	}
	return b
}

// vhostSeed is one seed of FuzzVhost: a site's properties as they reach
// the driver, and the server's ports.
type vhostSeed struct {
	uri, aliases, redirection, root, app, paramName, paramValue string
	ssl                                                         int8
	cert, key, serial                                           string
	hsts, disabled                                              bool
	disabledURL                                                 string
	httpPort, httpsPort                                         uint16
	platform                                                    string
}

// vhostSeeds are valid sites of each kind (plain, redirecting with HTTPS
// required, disabled with a redirect) and the known ways out of each
// value: a ';', a newline, a quote, a brace, a space, a '#', a variable of
// either server, a backslash, a '..'.
var vhostSeeds = []vhostSeed{
	{"example.com", "www.example.com,example.org", "", "/var/aegir/platforms/wp", "wordpress", "AEGIR_SITE", "example.com", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "www.example.com,example.com", "www.example.com", "/srv/www", "drupal", "db_passwd", "p4ss!#%&()*+,-./:<=>?@[]^_|~", 2, "/etc/ssl/c.pem", "/etc/ssl/k.pem", "0aF9", true, false, "", 8080, 8443, "platform_wp"},
	{"example.com", "www.example.com", "", "/srv/www", "static", "X", "", 1, "/etc/ssl/c.pem", "/etc/ssl/k.pem", "", false, true, "https://hosting.example.net/x?a=b&c", 80, 443, "platform_wp"},
	{"example.com", "www.example.com", "", "/srv/www", "static", "X", "", 1, "/etc/ssl/c.pem", "/etc/ssl/k.pem", "", false, true, "", 80, 443, "platform_wp"},
	{"example.com;root /", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "a.example.com b", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www;\ninclude /etc/passwd", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www\">\n<Directory />", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php;", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A B", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "v\";\nroot /;#", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "$document_root", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "${HOME}", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "%{ENV:X}", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", `\"`, 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "v\\", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 1, "/etc/ssl/c.pem;", "/etc/ssl/k.pem", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 1, "/etc/ssl/c.pem", "/etc/ssl/k.pem {", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 1, "/etc/ssl/c.pem", "/etc/ssl/k.pem", "0a\n", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, true, "https://x.example/\";return 200 \"", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, true, "https://x.example/$host", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, true, "https://x.example/ x", 80, 443, "platform_wp"},
	{"example.com", "", "example.com}", "/srv/www", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com\n}", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"~^(.*)$", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www/../..", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "platform_wp"},
	{"example.com", "", "", "/srv/www", "php", "AEGIR_CUSTOM_CHEESY", "cheddar", 0, "", "", "", false, false, "", 80, 443, ""},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "wp;\ninclude /etc/*"},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "../../etc"},
	{"example.com", "", "", "/srv/www", "php", "A", "v", 0, "", "", "", false, false, "", 80, 443, "wp\"]"},
}

// FuzzVhost is the vhost fuzz target of a web server driver: a site's
// vhost, whatever the site's properties, is refused by render or has the
// shape of a benign site's vhost of the same shape, so no value adds a
// directive, an argument, a block, a line or a variable, or ends a quoted
// string or a comment. The fuzzed site has the cloaked database
// parameters and one parameter more.
func FuzzVhost(f *testing.F, render Render, shape Shape) {
	for _, s := range vhostSeeds {
		f.Add(s.uri, s.aliases, s.redirection, s.root, s.app, s.paramName, s.paramValue, s.ssl, s.cert, s.key, s.serial, s.hsts, s.disabled, s.disabledURL, s.httpPort, s.httpsPort, s.platform)
	}
	creds := &aegir.DBCredentials{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "examplecom", User: "examplecom", Password: "Xk7pQ2mZ9aBc"}
	f.Fuzz(func(t *testing.T, uri, aliases, redirection, root, app, paramName, paramValue string, ssl int8,
		cert, key, serial string, hsts, disabled bool, disabledURL string, httpPort, httpsPort uint16, platform string) {
		v := &aegir.Vhost{
			URI: uri, Redirection: redirection, Root: root, Platform: platform, App: app,
			Params: append(creds.Params(), aegir.Param{Name: paramName, Value: paramValue}),
			SSL:    int(ssl), CertFile: cert, KeyFile: key, CertSerial: serial, HSTS: hsts,
			Disabled: disabled, DisabledURL: disabledURL,
		}
		if aliases != "" {
			v.Aliases = strings.Split(aliases, ",")
		}
		got, err := render(int(httpPort), int(httpsPort), v)
		if err != nil {
			return
		}
		want, err := render(int(httpPort), int(httpsPort), benignVhost(v))
		if err != nil {
			t.Fatalf("the benign counterpart of an accepted vhost is refused: %v", err)
		}
		SameShape(t, shape, "vhost", got, want)
	})
}
