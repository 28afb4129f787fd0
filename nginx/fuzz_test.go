package nginx

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/httpservicetest"
)

// shape reads an nginx configuration as nginx's own tokenizer does
// (ngx_conf_read_token: quotes open only at the start of a word, a
// backslash escapes the next character anywhere, '#' starts a comment only
// at the start of a word, a word ends at white space, ';' or '{', and '}'
// closes a block only at the start of a word) and returns its structure:
// for each directive its depth, name, and for each argument whether it was
// quoted and whether it holds a variable; the opening and closing of
// blocks; and anything nginx would reject. Two files of the same shape
// differ only inside arguments: no directive, argument, block or comment
// of one is missing from the other.
func shape(conf []byte) []string {
	var out []string
	var args []string // the words of the directive being read, described
	var word strings.Builder
	depth := 0
	inWord, quote, escaped, needSpace, comment, variable := false, byte(0), false, false, false, false
	endWord := func() {
		kind := "word"
		if quote != 0 {
			kind = "quoted"
		}
		if variable {
			kind += "+var"
		}
		if len(args) == 0 {
			kind = word.String() // the directive's name, as written
		}
		args = append(args, kind)
		word.Reset()
		inWord, quote, variable = false, 0, false
	}
	emit := func(end string) {
		if len(args) == 0 {
			out = append(out, fmt.Sprintf("error: %q with no directive", end))
			return
		}
		out = append(out, fmt.Sprintf("%d %s %s", depth, strings.Join(args, " "), end))
		args = nil
	}
	for _, c := range conf {
		switch {
		case comment:
			if c == '\n' {
				comment = false
			}
		case escaped:
			escaped = false
			word.WriteByte(c)
		case quote != 0:
			switch c {
			case '\\':
				escaped = true
			case quote:
				endWord()
				needSpace = true
			case '$':
				variable = true
				word.WriteByte(c)
			default:
				word.WriteByte(c)
			}
		case needSpace && !strings.ContainsRune(" \t\r\n;{)", rune(c)):
			out = append(out, fmt.Sprintf("error: %q right after a closing quote", c))
			needSpace = false
		case inWord:
			switch c {
			case ' ', '\t', '\r', '\n':
				endWord()
			case ';':
				endWord()
				emit(";")
			case '{':
				if strings.HasSuffix(word.String(), "$") {
					word.WriteByte(c) // ${name}
					continue
				}
				endWord()
				emit("{")
				depth++
			case '\\':
				escaped = true
			case '$':
				variable = true
				word.WriteByte(c)
			default:
				word.WriteByte(c)
			}
		default: // between words
			needSpace = false
			switch c {
			case ' ', '\t', '\r', '\n':
			case ';':
				emit(";")
			case '{':
				emit("{")
				depth++
			case '}':
				if len(args) != 0 {
					out = append(out, "error: '}' inside a directive")
				}
				depth--
				out = append(out, fmt.Sprintf("%d }", depth))
			case '#':
				comment = true
			case '"', '\'':
				inWord, quote = true, c
			case '\\':
				inWord, escaped = true, true
			case '$':
				inWord, variable = true, true
				word.WriteByte(c)
			default:
				inWord = true
				word.WriteByte(c)
			}
		}
	}
	if inWord || quote != 0 || len(args) != 0 || depth != 0 {
		out = append(out, fmt.Sprintf("error: unterminated at the end (depth %d)", depth))
	}
	return out
}

// TestShapeSeesWhatAnInjectionAdds proves the oracle of the fuzz targets:
// each of these breaks out of its place in a vhost, and shape tells.
func TestShapeSeesWhatAnInjectionAdds(t *testing.T) {
	t.Parallel()
	base := "server {\n    # Site example.com\n    server_name example.com;\n    fastcgi_param A \"v\";\n}\n"
	for _, bad := range []string{
		"server {\n    # Site example.com\nroot /;\n    server_name example.com;\n    fastcgi_param A \"v\";\n}\n",
		"server {\n    # Site example.com\n    server_name example.com; root /;\n    fastcgi_param A \"v\";\n}\n",
		"server {\n    # Site example.com\n    server_name example.com x;\n    fastcgi_param A \"v\";\n}\n",
		"server {\n    # Site example.com\n    server_name example.com;\n    fastcgi_param A \"v\" \"\";\n}\n",
		"server {\n    # Site example.com\n    server_name example.com;\n    fastcgi_param A \"v$x\";\n}\n",
		"server {\n    # Site example.com\n    server_name example.com;\n    fastcgi_param A \"v\"x;\n}\n",
		"server {\n    # Site example.com\n    server_name example.com;\n    fastcgi_param A \"v\";\n}}\n",
		"server {\n    # Site example.com\n    server_name example.com #;\n    fastcgi_param A \"v\";\n}\n",
		"server {\n    # Site example.com\n    server_name example.com{}\n    fastcgi_param A \"v\";\n}\n",
	} {
		if slices.Equal(shape([]byte(bad)), shape([]byte(base))) && strings.Count(bad, "\n") == strings.Count(base, "\n") {
			t.Errorf("shape does not tell\n%s\nfrom\n%s", bad, base)
		}
	}
	if same := strings.ReplaceAll(base, "example.com", "other.example"); !slices.Equal(shape([]byte(same)), shape([]byte(base))) {
		t.Errorf("shape tells two names apart: %q, %q", shape([]byte(same)), shape([]byte(base)))
	}
}

// FuzzVhost: see httpservicetest.FuzzVhost.
func FuzzVhost(f *testing.F) {
	httpservicetest.FuzzVhost(f, func(httpPort, httpsPort int, v *aegir.Vhost) ([]byte, error) {
		server := &aegir.Server{HTTPPort: httpPort, HTTPSPort: httpsPort}
		server.Defaults()
		env := aegir.Env{Paths: aegir.Paths{Home: "/var/aegir"}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)}
		svc, err := New(server, aegir.MasterServer, env)
		if err != nil {
			return nil, err
		}
		return svc.(*Nginx).renderVhost(v)
	}, shape)
}

// FuzzServerFile: the server file, whatever the server's name, home,
// PHP-FPM socket and port, is refused or has the structure of a benign
// server's.
func FuzzServerFile(f *testing.F) {
	for _, s := range []struct {
		name, home, socket string
		port               uint16
	}{
		{"server_master", "/var/aegir", "/run/php/php8.2-fpm.sock", 80},
		{"server_web1.example.com", "/srv/aegir-home", "/run/php/php-fpm.sock", 8080},
		{"server_master;", "/var/aegir", "/run/php/php8.2-fpm.sock", 80},
		{"server_master\ninclude /etc", "/var/aegir", "/run/php/php8.2-fpm.sock", 80},
		{"server_master", "/var/aegir;\nroot /", "/run/php/php8.2-fpm.sock", 80},
		{"server_master", "/var/aegir", "/run/php.sock; }", 80},
		{"server_master", "/var/aegir", "/run/php.sock\n", 80},
		{"server_master", "/var/$aegir", "/run/php.sock", 80},
		{"server_master", "/var/aegir", "/run/php.sock", 0},
	} {
		f.Add(s.name, s.home, s.socket, s.port)
	}
	f.Fuzz(func(t *testing.T, name, home, socket string, port uint16) {
		render := func(name, home, socket string) ([]byte, error) {
			server := &aegir.Server{HTTPPort: int(port), PHPFPMSocket: socket}
			server.Defaults()
			env := aegir.Env{Paths: aegir.Paths{Home: home}, Runner: noRunner{}, Log: aegir.NewTaskLog(nil)}
			svc, err := New(server, name, env)
			if err != nil {
				return nil, err
			}
			return svc.(*Nginx).renderServer()
		}
		got, err := render(name, home, socket)
		if err != nil {
			return
		}
		want, err := render("server_master", "/var/aegir", "/run/php/php8.2-fpm.sock")
		if err != nil {
			t.Fatalf("the benign server file is refused: %v", err)
		}
		httpservicetest.SameShape(t, shape, "server file", got, want)
	})
}
