package phpfile

import (
	"fmt"
	"strings"
	"testing"
)

// show prints a value read from PHP compactly: arrays as [k:v ...], computed
// values as ?.
func show(v any) string {
	switch v := v.(type) {
	case *Array:
		var parts []string
		for _, k := range v.Keys() {
			parts = append(parts, k+":"+show(v.Get(k)))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case Computed:
		return "?"
	case string:
		return fmt.Sprintf("%q", v)
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func TestPHPAssignmentsReadOnlyLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"long array syntax", `<?php $databases = array('default' => array('default' => array('database' => 'db', 'port' => 3306)));`,
			`[default:[default:[database:"db" port:3306]]]`},
		{"short syntax and indexes", `<?php $databases['default']['default'] = ['host' => "h\t\$x", 'port' => '',];`,
			`[default:[default:[host:"h\t$x" port:""]]]`},
		{"later assignments win, keys merge", "<?php\n$databases = array();\n$databases['default']['default']['database'] = 'a';\n$databases['default']['default']['database'] = 'b';\n$databases['default']['default']['username'] = 'u';",
			`[default:[default:[database:"b" username:"u"]]]`},
		{"escapes of single quotes", `<?php $databases['x'] = 'it\'s a \\ and \n';`, `[x:"it's a \\ and \\n"]`},
		{"comments are not code", "<?php\n/* $databases['a'] = 'no'; */\n// $databases['b'] = 'no';\n# $databases['c'] = 'no';\n$databases['d'] = 'yes'; // $databases['e'] = 'no';",
			`[d:"yes"]`},
		{"inline HTML is not code", "$databases['a'] = 'no';\n<?php $databases['b'] = 'yes'; ?>\n$databases['c'] = 'no';", `[b:"yes"]`},
		{"function calls are computed", `<?php $databases['default']['default'] = array('password' => getenv('PW'), 'host' => 'h');`,
			`[default:[default:[password:? host:"h"]]]`},
		{"server parameters are computed", `<?php $databases['default']['default'] = array('database' => $_SERVER['db_name'], 'username' => urldecode($_SERVER['db_user']));`,
			`[default:[default:[database:? username:?]]]`},
		{"interpolation is computed", `<?php $databases['a'] = "$_SERVER[db_name]"; $databases['b'] = "{$x}"; $databases['c'] = "\$x";`,
			`[a:? b:? c:"$x"]`},
		{"concatenation is computed", `<?php $databases['a'] = 'x' . 'y'; $databases['b'] = array('k' => 'x' . PHP_EOL, 'l' => 1);`,
			`[a:? b:[k:? l:1]]`},
		{"ternaries are computed", `<?php $databases['a'] = isset($_SERVER['db_type']) ? $_SERVER['db_type'] : getenv('db_type');`, `[a:?]`},
		{"constants and numbers", `<?php $conf['a'] = TRUE; $conf['b'] = null; $conf['c'] = -5; $conf['d'] = 0x1F; $conf['e'] = 1.5; $conf['f'] = DRUPAL_ROOT;`,
			`[a:true b:null c:-5 d:31 e:1.5 f:?]`},
		{"list elements and appends", `<?php $conf['l'] = array('a', 'b', 5 => 'c', 'd'); $conf['l'][] = 'e';`,
			`[l:[0:"a" 1:"b" 5:"c" 6:"d" 7:"e"]]`},
		{"comparisons are no assignments", `<?php if ($conf['a'] == 'x') { $conf['b'] = 'y'; } $z = $conf['c'];`, `[b:"y"]`},
		{"variable index is skipped", `<?php $conf[$k] = 'x'; $conf['ok'] = 'y';`, `[ok:"y"]`},
		{"heredoc is computed", "<?php\n$conf['h'] = <<<EOT\n$databases['x'] = 'no';\nEOT;\n$conf['after'] = 'y';", `[h:? after:"y"]`},
		{"into a computed value", `<?php $conf = load(); $conf['a'] = 'x';`, `?`},
		{"other variables are ignored", `<?php $other = array('a' => 1); $conf['a'] = 'x';`, `[a:"x"]`},
	}
	for _, tt := range tests {
		vars := Assignments(nil, []byte(tt.src), "databases", "conf")
		got := show(vars["databases"])
		if vars["databases"] == nil {
			got = show(vars["conf"])
		}
		if got != tt.want {
			t.Errorf("%s:\n%s\ngot  %s\nwant %s", tt.name, tt.src, got, tt.want)
		}
	}
}

func TestLookupThroughComputed(t *testing.T) {
	t.Parallel()
	vars := Assignments(nil, []byte(`<?php $databases['default'] = get_them(); $databases['other']['x'] = 'y';`), "databases")
	if _, ok := Lookup(vars["databases"], "default", "default").(Computed); !ok {
		t.Errorf("lookup through a computed value = %v, want computed", show(Lookup(vars["databases"], "default", "default")))
	}
	if got := Lookup(vars["databases"], "other", "x"); got != "y" {
		t.Errorf("lookup other.x = %v", got)
	}
	if got := Lookup(vars["databases"], "missing", "x"); got != nil {
		t.Errorf("lookup of a missing key = %v", got)
	}
}
