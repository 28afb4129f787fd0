package phpfile

import (
	"strconv"
	"strings"
)

// This file reads the literal values a settings file assigns, without
// running it: an imported site's settings are foreign code, and aegir only
// needs the few variables written as plain literals ($databases, $db_url,
// $conf, $settings of Drupal). Whatever PHP would have to compute (a
// function call, a constant, a concatenation, another variable, an
// interpolated string) is read as Computed, never guessed.
//
// The values read are string, int64, float64, bool, nil (PHP's null),
// *Array and Computed.

// Computed stands for a value the reader cannot know without running PHP.
type Computed struct{}

// Array is a PHP array read from a literal: ordered keys (integer keys in
// decimal) and their values.
type Array struct {
	keys []string
	vals map[string]any
	next int64
}

func newArray() *Array { return &Array{vals: map[string]any{}} }

// set sets key (the next integer key when appendKey) to v.
func (a *Array) set(key string, appendKey bool, v any) {
	if appendKey {
		key = strconv.FormatInt(a.next, 10)
	}
	if n, err := strconv.ParseInt(key, 10, 64); err == nil && strconv.FormatInt(n, 10) == key && n >= a.next {
		a.next = n + 1
	}
	if _, ok := a.vals[key]; !ok {
		a.keys = append(a.keys, key)
	}
	a.vals[key] = v
}

// Get returns the value at key, nil when there is none (or a is nil).
func (a *Array) Get(key string) any {
	if a == nil {
		return nil
	}
	return a.vals[key]
}

// Keys returns the array's keys in order.
func (a *Array) Keys() []string {
	if a == nil {
		return nil
	}
	return append([]string(nil), a.keys...)
}

// Lookup walks nested arrays from v along keys: nil when a key is missing,
// Computed{} when the way goes through a computed value.
func Lookup(v any, keys ...string) any {
	for _, k := range keys {
		switch a := v.(type) {
		case *Array:
			v = a.Get(k)
		case Computed:
			return Computed{}
		default:
			return nil
		}
	}
	return v
}

// Token kinds.
const (
	tString   = iota // a literal string, unescaped
	tComputed        // a string PHP interpolates, or a heredoc
	tNumber
	tVariable // $name, without the $
	tWord     // identifiers, keywords, constants
	tPunct
)

type token struct {
	kind int
	text string
}

// phpOperators are the operators of more than one character the reader
// must not split ("=>" is not "=", "==" is no assignment).
var phpOperators = []string{
	"<<=", ">>=", "**=", "??=", "===", "!==", "<=>", "...",
	"=>", "==", "!=", "<>", "<=", ">=", ".=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
	"??", "::", "->", "&&", "||", "++", "--", "**", "<<", ">>",
}

// lexPHP splits the PHP code of src (the parts between <?php and ?>) into
// tokens, dropping comments.
func lexPHP(src []byte) []token {
	var toks []token
	s := string(src)
	i := 0
	for i < len(s) {
		// Inline HTML up to the next opening tag.
		open := strings.Index(s[i:], "<?")
		if open < 0 {
			break
		}
		i += open + 2
		if strings.HasPrefix(strings.ToLower(s[i:]), "php") {
			i += 3
		} else if strings.HasPrefix(s[i:], "=") {
			i++
		}
		toks, i = lexCode(s, i, toks)
	}
	return toks
}

// lexCode lexes PHP code from i up to a closing tag or the end of s.
func lexCode(s string, i int, toks []token) ([]token, int) {
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(s[i:], "?>"):
			toks = append(toks, token{tPunct, ";"})
			return toks, i + 2
		case c == '#' && !strings.HasPrefix(s[i:], "#["), strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' && !strings.HasPrefix(s[i:], "?>") {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return toks, len(s)
			}
			i += 2 + end + 2
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for j < len(s) && s[j] != '\'' {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '\\' || s[j+1] == '\'') {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{tString, b.String()})
			i = j + 1
		case c == '"':
			text, interpolated, j := lexDoubleQuoted(s, i+1)
			if interpolated {
				toks = append(toks, token{tComputed, ""})
			} else {
				toks = append(toks, token{tString, text})
			}
			i = j
		case strings.HasPrefix(s[i:], "<<<"):
			toks = append(toks, token{tComputed, ""})
			i = skipHeredoc(s, i+3)
		case c == '$' && i+1 < len(s) && isIdentStart(s[i+1]):
			j := i + 1
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			toks = append(toks, token{tVariable, s[i+1 : j]})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (isIdent(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{tNumber, s[i:j]})
			i = j
		case isIdentStart(c) || c == '\\':
			j := i
			for j < len(s) && (isIdent(s[j]) || s[j] == '\\') {
				j++
			}
			toks = append(toks, token{tWord, s[i:j]})
			i = j
		default:
			op := string(c)
			for _, o := range phpOperators {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			toks = append(toks, token{tPunct, op})
			i += len(op)
		}
	}
	return toks, i
}

// lexDoubleQuoted reads a double-quoted string starting after its quote:
// its value, whether PHP would interpolate variables into it, and where it
// ends.
func lexDoubleQuoted(s string, i int) (string, bool, int) {
	var b strings.Builder
	interpolated := false
	for i < len(s) && s[i] != '"' {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'v':
				b.WriteByte('\v')
			case 'f':
				b.WriteByte('\f')
			case 'e':
				b.WriteByte(0x1b)
			case '0':
				b.WriteByte(0)
			case '\\', '"', '$':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
			i++
			continue
		}
		if c == '$' && i+1 < len(s) && (isIdentStart(s[i+1]) || s[i+1] == '{') ||
			c == '{' && i+1 < len(s) && s[i+1] == '$' {
			interpolated = true
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), interpolated, i + 1
}

// skipHeredoc skips a heredoc or nowdoc whose label starts at i.
func skipHeredoc(s string, i int) int {
	nl := strings.IndexByte(s[i:], '\n')
	if nl < 0 {
		return len(s)
	}
	label := strings.Trim(strings.TrimSpace(s[i:i+nl]), `'"`)
	i += nl + 1
	for i < len(s) {
		end := strings.IndexByte(s[i:], '\n')
		if end < 0 {
			end = len(s) - i
		}
		line := s[i : i+end]
		if trimmed := strings.TrimLeft(line, " \t"); label != "" && strings.HasPrefix(trimmed, label) {
			return i + len(line) - len(trimmed) + len(label)
		}
		i += end + 1
	}
	return len(s)
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// Assignments evaluates the assignments of literal values to the named
// variables in src, the code of a PHP file (each "$name[...]... =
// <literal>;"), in order, into vars (a new map when nil), and returns it.
// Any other statement is ignored; an assignment whose value is not a
// literal assigns Computed{}, and a later assignment into a Computed value
// leaves it Computed.
func Assignments(vars map[string]any, src []byte, names ...string) map[string]any {
	if vars == nil {
		vars = map[string]any{}
	}
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	toks := lexPHP(src)
	for i := 0; i < len(toks); i++ {
		if toks[i].kind != tVariable || !wanted[toks[i].text] {
			continue
		}
		name := toks[i].text
		type index struct {
			key     string
			appends bool
		}
		var path []index
		j := i + 1
		ok := true
		for j < len(toks) && toks[j].kind == tPunct && toks[j].text == "[" {
			if j+1 < len(toks) && toks[j+1].kind == tPunct && toks[j+1].text == "]" {
				path = append(path, index{appends: true})
				j += 2
				continue
			}
			v, next, lit := parseLiteral(toks, j+1)
			key, isKey := arrayKey(v)
			if !lit || !isKey || next >= len(toks) || toks[next].text != "]" || toks[next].kind != tPunct {
				ok = false
				break
			}
			path = append(path, index{key: key})
			j = next + 1
		}
		if !ok || j >= len(toks) || toks[j].kind != tPunct || toks[j].text != "=" {
			continue
		}
		v, next, lit := parseLiteral(toks, j+1)
		if !lit || next >= len(toks) || toks[next].kind != tPunct || toks[next].text != ";" {
			v = Computed{}
			next = skipExpr(toks, j+1)
		}
		i = next
		// Assign along the path, making arrays as PHP does.
		if len(path) == 0 {
			vars[name] = v
			continue
		}
		// Into a computed value PHP would assign something the reader
		// cannot know: it stays computed.
		if _, isComputed := vars[name].(Computed); isComputed {
			continue
		}
		arr, isArr := vars[name].(*Array)
		if !isArr {
			arr = newArray()
			vars[name] = arr
		}
		for k, idx := range path {
			if k == len(path)-1 {
				arr.set(idx.key, idx.appends, v)
				break
			}
			key := idx.key
			if idx.appends {
				key = strconv.FormatInt(arr.next, 10)
			}
			cur := arr.Get(key)
			if _, isComputed := cur.(Computed); isComputed {
				break
			}
			child, isArr := cur.(*Array)
			if !isArr {
				child = newArray()
				arr.set(key, false, child)
			}
			arr = child
		}
	}
	return vars
}

// parseLiteral parses the literal at toks[i]: a string, number, true,
// false, null or array of literals. It returns the value, the index of the
// token after it, and false when toks[i] starts no literal.
func parseLiteral(toks []token, i int) (any, int, bool) {
	if i >= len(toks) {
		return nil, i, false
	}
	t := toks[i]
	switch t.kind {
	case tString:
		return t.text, i + 1, true
	case tNumber:
		return parseNumber(t.text), i + 1, true
	case tWord:
		switch strings.ToLower(t.text) {
		case "true":
			return true, i + 1, true
		case "false":
			return false, i + 1, true
		case "null":
			return nil, i + 1, true
		case "array":
			if i+1 < len(toks) && toks[i+1].kind == tPunct && toks[i+1].text == "(" {
				return parseArray(toks, i+2, ")")
			}
		}
	case tPunct:
		switch t.text {
		case "[":
			return parseArray(toks, i+1, "]")
		case "-", "+":
			if i+1 < len(toks) && toks[i+1].kind == tNumber {
				v := parseNumber(toks[i+1].text)
				if t.text == "-" {
					switch n := v.(type) {
					case int64:
						v = -n
					case float64:
						v = -n
					}
				}
				return v, i + 2, true
			}
		}
	}
	return nil, i, false
}

// parseNumber reads a PHP integer or float literal; anything else it cannot
// read is computed.
func parseNumber(text string) any {
	clean := strings.ReplaceAll(text, "_", "")
	// Base 0 reads 0x, 0b, 0o and a leading 0 (octal) as PHP does.
	if n, err := strconv.ParseInt(clean, 0, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(clean, 64); err == nil {
		return f
	}
	return Computed{}
}

// parseArray parses the elements of an array literal from toks[i] up to its
// closing token. An element that is not a literal is Computed{}.
func parseArray(toks []token, i int, closer string) (any, int, bool) {
	arr := newArray()
	for i < len(toks) {
		if toks[i].kind == tPunct && toks[i].text == closer {
			return arr, i + 1, true
		}
		first, next, lit := parseLiteral(toks, i)
		if lit && next < len(toks) && toks[next].kind == tPunct && toks[next].text == "=>" {
			key, isKey := arrayKey(first)
			v, after, vlit := parseLiteral(toks, next+1)
			if !vlit || !endsElement(toks, after, closer) {
				v, after = Computed{}, skipExpr(toks, next+1)
			}
			if isKey {
				arr.set(key, false, v)
			}
			i = after
		} else {
			if !lit || !endsElement(toks, next, closer) {
				first, next = Computed{}, skipExpr(toks, i)
				// A computed key: its value is skipped with it.
				if next < len(toks) && toks[next].kind == tPunct && toks[next].text == "=>" {
					next = skipExpr(toks, next+1)
					i = skipComma(toks, next)
					continue
				}
			}
			arr.set("", true, first)
			i = next
		}
		i = skipComma(toks, i)
	}
	return nil, i, false
}

func endsElement(toks []token, i int, closer string) bool {
	return i < len(toks) && toks[i].kind == tPunct && (toks[i].text == "," || toks[i].text == closer)
}

func skipComma(toks []token, i int) int {
	if i < len(toks) && toks[i].kind == tPunct && toks[i].text == "," {
		return i + 1
	}
	return i
}

// skipExpr returns the index of the first ",", "=>", ";" or unbalanced
// closing bracket from toks[i] on, outside any brackets.
func skipExpr(toks []token, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		if toks[i].kind != tPunct {
			continue
		}
		switch toks[i].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth == 0 {
				return i
			}
			depth--
		case ",", "=>", ";":
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// arrayKey returns the array key PHP makes of a literal: strings that are
// decimal integers become integers, booleans 0 or 1, null "".
func arrayKey(v any) (string, bool) {
	switch k := v.(type) {
	case string:
		return k, true
	case int64:
		return strconv.FormatInt(k, 10), true
	case float64:
		return strconv.FormatInt(int64(k), 10), true
	case bool:
		if k {
			return "1", true
		}
		return "0", true
	case nil:
		return "", true
	}
	return "", false
}
