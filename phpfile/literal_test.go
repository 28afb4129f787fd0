package phpfile

import (
	"strings"
	"testing"
)

func TestStringValueReadsOnlyLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, want string
		ok         bool
	}{
		{`'plain'`, "plain", true},
		{`''`, "", true},
		{`'it\'s a \\ and \n'`, `it's a \ and \n`, true},
		{`"tab\there \"quoted\" \$x\\"`, "tab\there \"quoted\" $x\\", true},
		{`"line\n"`, "line\n", true},
		{`"$interpolated"`, "", false},
		{`"a {$b}"`, "", false},
		{`getenv('DB_NAME')`, "", false},
		{`$_SERVER['db_name']`, "", false},
		{`'a' . 'b'`, "", false},
		{`DB_NAME`, "", false},
		{`'unterminated`, "", false},
	}
	for _, tt := range tests {
		got, ok := StringValue(tt.expr)
		if got != tt.want || ok != tt.ok {
			t.Errorf("StringValue(%s) = %q, %v; want %q, %v", tt.expr, got, ok, tt.want, tt.ok)
		}
	}
}

func TestQuoteIsReadBackByStringValue(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `it's`, `back\slash`, `\'`, "two\nlines", `$x`, `"`} {
		q := Quote(s)
		if !strings.HasPrefix(q, "'") || !strings.HasSuffix(q, "'") {
			t.Errorf("Quote(%q) = %s, not single-quoted", s, q)
		}
		if got, ok := StringValue(q); !ok || got != s {
			t.Errorf("StringValue(Quote(%q) = %s) = %q, %v", s, q, got, ok)
		}
	}
}

func TestStripCommentsKeepsStringsAndLines(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"line comments", "a; // x\nb; # y\nc;", "a; \nb; \nc;"},
		{"block comment keeps its newlines", "a; /* x\ny\n*/ b;", "a; \n\n b;"},
		{"comment markers in strings", `$a = '// no'; $b = "# no /* no */";`, `$a = '// no'; $b = "# no /* no */";`},
		{"escaped quotes", `$a = 'it\'s // x'; // gone`, `$a = 'it\'s // x'; `},
		{"unterminated block comment", "a; /* x", "a; "},
		{"comment at the end", "a; // x", "a; "},
	}
	for _, tt := range tests {
		if got := string(StripComments([]byte(tt.src))); got != tt.want {
			t.Errorf("%s: StripComments(%q) = %q, want %q", tt.name, tt.src, got, tt.want)
		}
	}
}
