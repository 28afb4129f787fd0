package aegir

import (
	"bytes"
	"reflect"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// fuzzContext returns a valid context of the type picked by typ, which
// one fuzzed property then changes.
func fuzzContext(typ uint8) *Context {
	switch typ % 3 {
	case 0:
		return &Context{Name: MasterServer, Type: ServerContext, Server: &Server{}}
	case 1:
		return &Context{Name: "platform_x", Type: PlatformContext, Platform: &Platform{Root: "/srv/www/x", WebServer: "@" + MasterServer}}
	}
	return &Context{Name: "example.com", Type: SiteContext, Site: &Site{URI: "example.com", Platform: "@platform_x"}}
}

// sameProps reports whether two property structs hold the same values,
// an empty list being no list (both mean the default).
func sameProps(a, b any) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Kind() == reflect.Slice && fa.Len() == 0 && fb.Len() == 0 {
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			return false
		}
	}
	return true
}

// FuzzSetProperty: a value save accepts for any property (SetProperty,
// then the context's Validate) is one its consumers can take: a reference
// names a valid context, a path is clean and absolute, a command passes
// ValidateCommand, a site name or certificate name is a valid name; none
// of the strings that reach a path, a command line or a configuration
// file holds a control character; and the context reads back the same
// from its YAML context file and from its JSON form, so no value adds or
// changes a key.
func FuzzSetProperty(f *testing.F) {
	for typ := range uint8(3) {
		for i := range Properties(fuzzContext(typ).Type) {
			for _, v := range []string{"", "null", "x", "@server_master", "/srv/www", "/srv/www/../x", "/srv/a\nb", "nginx -t",
				`["sudo","-n","nginx","-t"]`, "a.example.com,b.example.com", "1", "true", "80", "mysql://root:pw@127.0.0.1:3306",
				"mysql://root:p%0Aw@db:3306", "a@example.com", "a\x01@example.com", "x: y\nz: w", "'\"", "\xff"} {
				f.Add(typ, uint8(i), v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, typ, prop uint8, value string) {
		c := fuzzContext(typ)
		props := Properties(c.Type)
		p := props[int(prop)%len(props)]
		if c.SetProperty(p.Name, value) != nil || c.Validate() != nil {
			return
		}
		switch c.Type {
		case ServerContext:
			s := c.Server
			for _, path := range []string{s.HTTPConfLink, s.PHPFPMSocket} {
				if path != "" && (!isAbs(path) || hasControl(path)) {
					t.Fatalf("%s=%q accepted: %q is not a clean absolute path", p.Name, value, path)
				}
			}
			for _, cmd := range [][]string{s.HTTPTestCmd, s.HTTPRestartCmd} {
				if ValidateCommand(p.Name, cmd) != nil {
					t.Fatalf("%s=%q accepted: %q is not a valid command", p.Name, value, cmd)
				}
			}
			if s.WebGroup != "" && ValidateName("web_group", s.WebGroup) != nil {
				t.Fatalf("%s=%q accepted: web group %q", p.Name, value, s.WebGroup)
			}
			for _, m := range s.ClusterWebServers {
				if ValidateName("cluster_web_servers", ContextName(m)) != nil {
					t.Fatalf("%s=%q accepted: cluster member %q", p.Name, value, m)
				}
			}
		case PlatformContext:
			if !isAbs(c.Platform.Root) || hasControl(c.Platform.Root) {
				t.Fatalf("%s=%q accepted: root %q is not a clean absolute path", p.Name, value, c.Platform.Root)
			}
			if c.Platform.WebServer != "" && ValidateName("web_server", ContextName(c.Platform.WebServer)) != nil {
				t.Fatalf("%s=%q accepted: web_server %q", p.Name, value, c.Platform.WebServer)
			}
		case SiteContext:
			s := c.Site
			for _, ref := range []string{s.Platform, s.DBServer} {
				if ref != "" && ValidateName(p.Name, ContextName(ref)) != nil {
					t.Fatalf("%s=%q accepted: reference %q", p.Name, value, ref)
				}
			}
			for _, name := range append(s.Names(), s.Redirection) {
				if name != "" && ValidateURI(p.Name, name) != nil {
					t.Fatalf("%s=%q accepted: name %q", p.Name, value, name)
				}
			}
			if s.SSLKey != "" && ValidateName("ssl_key", s.SSLKey) != nil {
				t.Fatalf("%s=%q accepted: ssl_key %q", p.Name, value, s.SSLKey)
			}
			if hasControl(s.ClientEmail) || hasControl(s.Profile) || hasControl(s.Language) {
				t.Fatalf("%s=%q accepted a control character", p.Name, value)
			}
		}
		if !utf8.ValidString(value) {
			return // JSON carries invalid UTF-8 as U+FFFD: a value changed, no key added
		}
		// The YAML of the context file (contextfile.Store.Put writes the
		// properties the same way), read back as contextfile.decode does.
		body, err := yaml.Marshal(c.Props())
		if err != nil {
			t.Fatal(err)
		}
		fromYAML, _ := NewContext(c.Name, c.Type)
		dec := yaml.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(fromYAML.Props()); err != nil {
			t.Fatalf("%s=%q: the context file does not read back: %v\n%s", p.Name, value, err, body)
		}
		if !sameProps(fromYAML.Props(), c.Props()) {
			t.Fatalf("%s=%q: the context file reads back as %+v, want %+v\n%s", p.Name, value, fromYAML.Props(), c.Props(), body)
		}
		data, err := MarshalProps(c.Props())
		if err != nil {
			t.Fatal(err)
		}
		fromJSON, _ := NewContext(c.Name, c.Type)
		if err := UnmarshalProps(data, fromJSON.Props()); err != nil {
			t.Fatalf("%s=%q: the JSON does not read back: %v\n%s", p.Name, value, err, data)
		}
		if !sameProps(fromJSON.Props(), c.Props()) {
			t.Fatalf("%s=%q: the JSON reads back as %+v, want %+v\n%s", p.Name, value, fromJSON.Props(), c.Props(), data)
		}
	})
}
