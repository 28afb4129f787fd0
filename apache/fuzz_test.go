package apache

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/httpservicetest"
)

// shape reads an Apache configuration as Apache does (lines joined where
// one ends in a backslash; a '#' starts a comment only at the start of a
// line; a line starting with '<' opens or closes a section; arguments are
// read by ap_getword_conf: a word starting with a quote runs to the
// matching quote, a backslash escaping that quote or a backslash, any
// other word to the next white space) and returns its structure: for each
// directive and section its depth, name and, for each argument, whether
// it was quoted and whether it holds an expansion ("${VAR}", which Apache
// substitutes while reading, or "%{VAR}" of mod_rewrite and expressions);
// the closing of sections; and lines Apache would reject.
func shape(conf []byte) []string {
	var out []string
	depth := 0
	lines := strings.Split(string(conf), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + lines[i]
		}
		line = strings.TrimLeft(line, " \t\r\f\v")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "</"):
			name, rest, _ := strings.Cut(strings.TrimPrefix(line, "</"), ">")
			if strings.TrimSpace(rest) != "" || strings.ContainsAny(name, " \t") {
				out = append(out, fmt.Sprintf("error: %q after a section's end", rest))
			}
			depth--
			out = append(out, fmt.Sprintf("%d </%s>", depth, name))
		case strings.HasPrefix(line, "<"):
			body := strings.TrimRight(line[1:], " \t\r")
			if !strings.HasSuffix(body, ">") {
				out = append(out, "error: a section without its '>'")
			}
			body = strings.TrimSuffix(body, ">")
			name, args := cutSpace(body)
			out = append(out, fmt.Sprintf("%d <%s%s>", depth, name, describeArgs(args)))
			depth++
		default:
			name, args := cutSpace(line)
			out = append(out, fmt.Sprintf("%d %s%s", depth, name, describeArgs(args)))
		}
	}
	if depth != 0 {
		out = append(out, fmt.Sprintf("error: %d sections left open", depth))
	}
	return out
}

// cutSpace cuts s at its first white space.
func cutSpace(s string) (string, string) {
	if i := strings.IndexAny(s, " \t\r\f\v"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// describeArgs reads args as ap_getword_conf does and describes each.
func describeArgs(args string) string {
	var b strings.Builder
	s := strings.TrimLeft(args, " \t\r\f\v")
	for s != "" {
		var word string
		kind := " word"
		if q := s[0]; q == '"' || q == '\'' {
			kind = " quoted"
			end := 1
			for end < len(s) && s[end] != q {
				if s[end] == '\\' && end+1 < len(s) && (s[end+1] == q || s[end+1] == '\\') {
					end++
				}
				end++
			}
			word = s[1:min(end, len(s))]
			if end >= len(s) {
				kind = " unterminated"
			}
			s = s[min(end+1, len(s)):]
		} else {
			end := strings.IndexAny(s, " \t\r\f\v")
			if end < 0 {
				end = len(s)
			}
			word, s = s[:end], s[end:]
		}
		if strings.Contains(word, "${") {
			kind += "+env"
		}
		if strings.Contains(word, "%{") {
			kind += "+var"
		}
		b.WriteString(kind)
		s = strings.TrimLeft(s, " \t\r\f\v")
	}
	return b.String()
}

// TestShapeSeesWhatAnInjectionAdds proves the oracle of the fuzz targets:
// each of these breaks out of its place in a vhost, and shape tells.
func TestShapeSeesWhatAnInjectionAdds(t *testing.T) {
	t.Parallel()
	base := "<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com\n    SetEnv A \"v\"\n</VirtualHost>\n"
	for _, bad := range []string{
		"<VirtualHost *:80>\n    # Site example.com\nDocumentRoot /\n    ServerName example.com\n    SetEnv A \"v\"\n</VirtualHost>\n",
		"<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com x\n    SetEnv A \"v\"\n</VirtualHost>\n",
		"<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com\n    SetEnv A \"v\" x\"\n</VirtualHost>\n",
		"<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com\n    SetEnv A \"v${HOME}\"\n</VirtualHost>\n",
		"<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com\n    SetEnv A \"v\\\\\" x\"\n</VirtualHost>\n",
		"<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com\n    SetEnv A \"v\n</VirtualHost>\n",
		"<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com\\\n    SetEnv A \"v\"\n</VirtualHost>\n",
		"<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com\n    SetEnv A \"v\"\n</VirtualHost>\n</VirtualHost>\n",
		"<VirtualHost *:80>\n    # Site example.com\n    ServerName example.com\n    SetEnv A \"%{HTTP_HOST}\"\n</VirtualHost>\n",
	} {
		if slices.Equal(shape([]byte(bad)), shape([]byte(base))) && strings.Count(bad, "\n") == strings.Count(base, "\n") {
			t.Errorf("shape does not tell\n%s\nfrom\n%s", bad, base)
		}
	}
	if same := strings.ReplaceAll(base, "example.com", "other.example"); !slices.Equal(shape([]byte(same)), shape([]byte(base))) {
		t.Errorf("shape tells two names apart: %q, %q", shape([]byte(same)), shape([]byte(base)))
	}
}

// fuzzService returns the Apache service of a server with those ports and
// PHP-FPM socket, named name, under home.
func fuzzService(name, home, socket string, httpPort, httpsPort int) (*Apache, error) {
	server := &aegir.Server{HTTPServiceType: aegir.ServiceApache, HTTPPort: httpPort, HTTPSPort: httpsPort, PHPFPMSocket: socket}
	server.Defaults()
	env := aegir.Env{Paths: aegir.Paths{Home: home}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)}
	svc, err := New(server, name, env)
	if err != nil {
		return nil, err
	}
	return svc.(*Apache), nil
}

// FuzzVhost: see httpservicetest.FuzzVhost.
func FuzzVhost(f *testing.F) {
	httpservicetest.FuzzVhost(f, func(httpPort, httpsPort int, v *aegir.Vhost) ([]byte, error) {
		a, err := fuzzService(aegir.MasterServer, "/var/aegir", "", httpPort, httpsPort)
		if err != nil {
			return nil, err
		}
		return a.renderVhost(v)
	}, shape)
}

// FuzzPlatformFile: a platform's file, whatever the platform's name, root
// and app and the server's PHP-FPM socket, is refused or has the shape of
// a benign platform's file of the same app.
func FuzzPlatformFile(f *testing.F) {
	for _, s := range []struct{ name, root, app, socket string }{
		{"platform_wp", "/var/aegir/platforms/wordpress-6.5", "wordpress", "/run/php/php8.2-fpm.sock"},
		{"platform_d10", "/srv/www/drupal+10.2~x=y,z@w:v", "drupal", "/run/php/php-fpm.sock"},
		{"platform_mw", "/srv/mw", "mediawiki", "/run/php.sock"},
		{"platform_php", "/srv/php", "php", "/run/php.sock"},
		{"platform_static", "/srv/static", "static", "/run/php.sock"},
		{"platform_x\n<Directory />", "/srv/x", "php", "/run/php.sock"},
		{"platform_x", "/srv/x\">\n<Directory \"/", "php", "/run/php.sock"},
		{"platform_x", "/srv/x$", "php", "/run/php.sock"},
		{"platform_x", "/srv/(.*)", "php", "/run/php.sock"},
		{"platform_x", "/", "php", "/run/php.sock"},
		{"platform_x", "/srv/x/..", "php", "/run/php.sock"},
		{"platform_x", "/srv/x", "php", "/run/php.sock|fcgi://evil/\" x"},
		{"platform_x", "/srv/x", "php", "/run/php.sock\nSetHandler none"},
		{"platform_x", "/srv/x", "../php", "/run/php.sock"},
	} {
		f.Add(s.name, s.root, s.app, s.socket)
	}
	f.Fuzz(func(t *testing.T, name, root, app, socket string) {
		a, err := fuzzService(aegir.MasterServer, "/var/aegir", socket, 80, 443)
		if err != nil {
			return
		}
		got, err := a.renderPlatform(name, root, app)
		if err != nil {
			return
		}
		b, err := fuzzService(aegir.MasterServer, "/var/aegir", "/run/php/php8.2-fpm.sock", 80, 443)
		if err != nil {
			t.Fatal(err)
		}
		want, err := b.renderPlatform("platform_x", "/srv/www/platform", app)
		if err != nil {
			t.Fatalf("the benign platform of app %q is refused: %v", app, err)
		}
		httpservicetest.SameShape(t, shape, "platform file", got, want)
	})
}

// FuzzServerFile: the server file, whatever the server's name, home and
// ports, is refused or has the shape of a benign server's with the same
// ports (which decide what it listens on).
func FuzzServerFile(f *testing.F) {
	for _, s := range []struct {
		name, home      string
		port, httpsPort uint16
	}{
		{"server_master", "/var/aegir", 80, 443},
		{"server_web1.example.com", "/srv/aegir-home", 8080, 8443},
		{"server_master\nListen 1", "/var/aegir", 80, 443},
		{"server_master", "/var/aegir\"\nInclude \"/etc", 80, 443},
		{"server_master", "/var/${HOME}", 80, 443},
		{"server_master", "/var/aegir dir", 80, 443},
		{"server_master", "/var/aegir", 0, 443},
		{"server_master", "/var/aegir", 443, 443},
	} {
		f.Add(s.name, s.home, s.port, s.httpsPort)
	}
	f.Fuzz(func(t *testing.T, name, home string, port, httpsPort uint16) {
		a, err := fuzzService(name, home, "", int(port), int(httpsPort))
		if err != nil {
			return
		}
		got, err := a.renderServer()
		if err != nil {
			return
		}
		b, err := fuzzService(aegir.MasterServer, "/var/aegir", "", int(port), int(httpsPort))
		if err != nil {
			t.Fatalf("the benign server is refused: %v", err)
		}
		want, err := b.renderServer()
		if err != nil {
			t.Fatal(err)
		}
		httpservicetest.SameShape(t, shape, "server file", got, want)
	})
}
