package drupal

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

// singleQuoted is a PHP single-quoted string literal.
var singleQuoted = regexp.MustCompile(`'(?:[^'\\]|\\.)*'`)

// skeleton is the code of a settings file without its comments and with
// every single-quoted literal emptied: what is left is what the template
// wrote around the values.
func skeleton(b []byte) string {
	return singleQuoted.ReplaceAllString(string(phpfile.StripComments(b)), "''")
}

// FuzzRenderSettings: the settings of a site, whatever its uri, aliases
// and the hash salt of the settings file it replaces, are refused or have
// the code of a benign site's settings (as many hosts), and each value
// reads back, as PHP assigns it, as what was meant: no value closes its
// literal or the doc comment it is named in.
func FuzzRenderSettings(f *testing.F) {
	for _, s := range []struct {
		uri, aliases, salt string
		d7                 bool
	}{
		{"example.com", "www.example.com", "", false},
		{"example.com", "www.example.com,example.org", "Xk7pQ2mZ9aBcXk7pQ2mZ9aBc", true},
		{"example.com", "", "salt' . system('id') . '", false},
		{"example.com", "", "salt\n*/ $x = 1; /*", false},
		{"example.com", "", "?><?php system('id');", true},
		{"example.com */ system('id'); /*", "", "", false},
		{"example.com", "www.example.com'] = 'x", "", false},
		{"example.com", "", `s\`, false},
	} {
		f.Add(s.uri, s.aliases, s.salt, s.d7)
	}
	f.Fuzz(func(t *testing.T, uri, aliases, salt string, d7 bool) {
		s := &aegir.AppSite{URI: uri, Root: "/srv/drupal"}
		if aliases != "" {
			s.Aliases = strings.Split(aliases, ",")
		}
		if checkSite(s) != nil {
			return
		}
		major := 10
		if d7 {
			major = 7
		}
		// The file it replaces, as a site's salt would be found there.
		old := fmt.Sprintf("<?php\n$drupal_hash_salt = '%s';\n$settings['hash_salt'] = '%s';\n", salt, salt)
		got, err := renderSettings(s, major, []byte(old))
		if err != nil {
			t.Fatal(err)
		}
		benign := &aegir.AppSite{URI: "example.com", Root: "/srv/drupal"}
		seen := map[string]bool{uri: true}
		for _, a := range s.Aliases {
			if !seen[a] {
				seen[a] = true
				benign.Aliases = append(benign.Aliases, fmt.Sprintf("n%d.example.com", len(seen)))
			}
		}
		want, err := renderSettings(benign, major, []byte("<?php\n$drupal_hash_salt = 'benign';\n$settings['hash_salt'] = 'benign';\n"))
		if err != nil {
			t.Fatal(err)
		}
		if g, w := skeleton(got), skeleton(want); g != w {
			t.Fatalf("the settings of %q (aliases %q, salt %q) differ from a benign site's outside their literals:\n--- fuzzed ---\n%s\n--- benign ---\n%s", uri, aliases, salt, got, want)
		}
		vars := phpfile.Assignments(nil, got, "settings", "conf", "drupal_hash_salt")
		wantSalt := existingSalt([]byte(old))
		check := func(what string, v any, want string) {
			t.Helper()
			if s, ok := v.(string); !ok || (want != "" && s != want) {
				t.Fatalf("%s reads back as %#v, want %q\n%s", what, v, want, got)
			}
		}
		if d7 {
			check("$drupal_hash_salt", vars["drupal_hash_salt"], wantSalt)
			check("file_public_path", phpfile.Lookup(vars["conf"], "file_public_path"), "sites/"+uri+"/files")
			return
		}
		check("hash_salt", phpfile.Lookup(vars["settings"], "hash_salt"), wantSalt)
		check("file_public_path", phpfile.Lookup(vars["settings"], "file_public_path"), "sites/"+uri+"/files")
		hosts, _ := phpfile.Lookup(vars["settings"], "trusted_host_patterns").(*phpfile.Array)
		names := []string{uri}
		for _, a := range s.Aliases {
			if !slices.Contains(names, a) {
				names = append(names, a)
			}
		}
		for i, n := range names {
			check("trusted host pattern", hosts.Get(fmt.Sprint(i)), hostPattern(n))
		}
		if len(hosts.Keys()) != len(names) {
			t.Fatalf("%d trusted host patterns, want %d\n%s", len(hosts.Keys()), len(names), got)
		}
	})
}
