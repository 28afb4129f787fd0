package phpfile

import (
	"bytes"
	"regexp"
	"strings"
)

// Quote quotes s as a PHP single-quoted string literal.
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// stringLiteral is a PHP string literal, single or double quoted, alone.
var stringLiteral = regexp.MustCompile(`^(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\$]|\\.)*)")$`)

// StringValue returns the value of expr when it is a PHP string literal;
// ok is false for anything else (a function call, a variable, a
// concatenation, a double-quoted string with a $ in it).
func StringValue(expr string) (value string, ok bool) {
	m := stringLiteral.FindStringSubmatch(expr)
	if m == nil {
		return "", false
	}
	if strings.HasPrefix(expr, "'") {
		return strings.NewReplacer(`\\`, `\`, `\'`, `'`).Replace(m[1]), true
	}
	return strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\$`, `$`, `\n`, "\n", `\t`, "\t").Replace(m[2]), true
}

// StripComments blanks the /* */ and # or // line comments of PHP code
// outside string literals, keeping their newlines so line starts stay line
// starts, so a commented-out setting is not read.
func StripComments(src []byte) []byte {
	out := make([]byte, 0, len(src))
	var quote byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case quote != 0:
			out = append(out, c)
			if c == '\\' && i+1 < len(src) {
				i++
				out = append(out, src[i])
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
			out = append(out, c)
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return out
			}
			out = append(out, bytes.Repeat([]byte("\n"), bytes.Count(src[i:i+2+end+2], []byte("\n")))...)
			i += 2 + end + 1
		case c == '#' || (c == '/' && i+1 < len(src) && src[i+1] == '/'):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			if i < len(src) {
				out = append(out, '\n')
			}
		default:
			out = append(out, c)
		}
	}
	return out
}
