package phpfile

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// hostileStrings are values that would end a PHP string literal, a
// comment or the PHP block if quoted badly, or that PHP would interpolate.
var hostileStrings = []string{
	"", "plain", "it's", `\`, `\\`, `\'`, `'`, `''`, `\\'`, `'\`, "a'; system('id'); //", "?>", "<?php", "?><?php echo 1; ?>",
	`$x`, `{$x}`, `${x}`, `"`, "\n", "\r\n", "\x00", "\\\x00", "*/", "/*", "//", "#", "\xff\xfe", "é", "`id`",
	"<<<EOT\nx\nEOT;", "'.'", "\\n", strings.Repeat(`\`, 7) + "'",
}

// FuzzQuote: whatever the value, Quote makes one PHP string literal that
// reads back as the value: in an assignment, the statement after it is
// still a statement of its own (nothing in the value closed the literal,
// opened a comment or left PHP), and comment stripping leaves it whole.
func FuzzQuote(f *testing.F) {
	for _, s := range hostileStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if got, ok := StringValue(q); !ok || got != s {
			t.Fatalf("StringValue(Quote(%q) = %s) = %q, %v", s, q, got, ok)
		}
		code := "<?php\n$x = " + q + ";\n$y = 1; // end\n"
		toks := lexPHP([]byte(code))
		want := []token{{tVariable, "x"}, {tPunct, "="}, {tString, s}, {tPunct, ";"}, {tVariable, "y"}, {tPunct, "="}, {tNumber, "1"}, {tPunct, ";"}}
		if fmt.Sprint(toks) != fmt.Sprint(want) {
			t.Fatalf("Quote(%q) = %s: the code reads as %v, want %v", s, q, toks, want)
		}
		vars := Assignments(nil, []byte(code), "x", "y")
		if vars["x"] != s || vars["y"] != int64(1) {
			t.Fatalf("Quote(%q) = %s: assignments read %v", s, q, vars)
		}
		if stripped := string(StripComments([]byte(code))); stripped != strings.TrimSuffix(code, " // end\n")+" \n" {
			t.Fatalf("Quote(%q) = %s: StripComments changed the literal: %q", s, q, stripped)
		}
	})
}

// TestQuoteIsOneLiteralForPHP has PHP itself read the hostile strings,
// each quoted by Quote, and print them back in hex: each must come back
// as it was, and the file must run whole.
func TestQuoteIsOneLiteralForPHP(t *testing.T) {
	t.Parallel()
	php, err := exec.LookPath("php")
	if err != nil {
		teststack.Missing(t, "no php CLI: %v", err)
	}
	var src strings.Builder
	src.WriteString("<?php\n$v = [];\n")
	for _, s := range hostileStrings {
		fmt.Fprintf(&src, "$v[] = %s;\n", Quote(s))
	}
	src.WriteString("foreach ($v as $s) { echo bin2hex($s), \"\\n\"; }\necho \"end\\n\";\n")
	path := filepath.Join(t.TempDir(), "quoted.php")
	if err := os.WriteFile(path, []byte(src.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(php, "-l", path).CombinedOutput(); err != nil {
		t.Fatalf("php -l: %v\n%s", err, out)
	}
	out, err := exec.Command(php, "-n", path).Output()
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(hostileStrings)+1 || lines[len(lines)-1] != "end" {
		t.Fatalf("php printed %d lines, want %d and end:\n%s", len(lines), len(hostileStrings)+1, out)
	}
	for i, s := range hostileStrings {
		if got, want := lines[i], hex.EncodeToString([]byte(s)); got != want {
			t.Errorf("PHP read Quote(%q) as %s, want %s", s, got, want)
		}
	}
}
