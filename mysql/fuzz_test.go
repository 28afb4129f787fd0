package mysql

import (
	"slices"
	"strings"
	"testing"
)

// readIdentifier reads a backquoted identifier at the start of sql as the
// server does (a doubled backquote is one backquote; nothing else is an
// escape) and returns its name and the rest of the statement, or ok false
// when sql starts with no complete one.
func readIdentifier(sql string) (name, rest string, ok bool) {
	if !strings.HasPrefix(sql, "`") {
		return "", sql, false
	}
	var b strings.Builder
	for i := 1; i < len(sql); i++ {
		if sql[i] != '`' {
			b.WriteByte(sql[i])
			continue
		}
		if i+1 < len(sql) && sql[i+1] == '`' {
			b.WriteByte('`')
			i++
			continue
		}
		return b.String(), sql[i+1:], true
	}
	return "", "", false
}

// FuzzQuote: whatever the name (a table name comes from the server, where
// a site's own user may have made it), quote makes one identifier that the
// server reads back as that name, and the statement goes on after it.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"examplecom", "t_aegir_1", "a`b", "`", "``", "x` TO `mysql`.`user", "a\\`b", "a'b", "a\"b", "é", "", " ", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, q := range []string{quote(s), grantTarget(s)} {
			name, rest, ok := readIdentifier(q + ".* TO ?@?")
			if !ok || rest != ".* TO ?@?" {
				t.Fatalf("%q quoted as %s: the server reads an identifier %q, then %q", s, q, name, rest)
			}
		}
		if name, _, _ := readIdentifier(quote(s)); name != s {
			t.Fatalf("quote(%q) = %s, which the server reads as %q", s, quote(s), name)
		}
	})
}

// FuzzNames: a database or user name the driver accepts is one the server
// reads literally wherever it goes (quoted, as a GRANT's database, which
// reads '_' and '%' as wildcards unless escaped, as a placeholder's value,
// as a command-line argument after "--"), and a system database, a system
// user or the administrator is never accepted; a host it accepts holds
// nothing but a host name, an address or "%".
func FuzzNames(f *testing.F) {
	for _, s := range [][3]string{
		{"examplecom", "examplecom", "localhost"},
		{"t_aegir_0a1b", "t_aegir_0a1b", "127.0.0.1"},
		{"mysql", "root", "%"},
		{"admin", "admin", "::1"},
		{"a%b", "a%b", "%.evil"},
		{"a`b", "a'b", "h'@'%"},
		{"a\\_b", "a_b", "web-1.example.com"},
		{"-e", "--all", "-host"},
		{"information_schema", "mariadb_sys", "10.0.0.1/8"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	s := &Service{admin: "admin"}
	f.Fuzz(func(t *testing.T, name, user, host string) {
		if s.validateOwned(name, user) == nil {
			for _, v := range []string{name, user} {
				if v == "" || strings.ContainsFunc(v, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }) {
					t.Fatalf("accepted %q, which holds more than a-z, 0-9 and _", v)
				}
			}
			if slices.Contains(systemDatabases, name) || slices.Contains(systemUsers, user) || user == s.admin {
				t.Fatalf("accepted the system or administrator's database %q or user %q", name, user)
			}
			target, _, _ := readIdentifier(grantTarget(name))
			if unescaped := strings.ReplaceAll(target, `\_`, "_"); unescaped != name || strings.Contains(strings.ReplaceAll(target, `\_`, ""), "_") || strings.Contains(target, "%") {
				t.Fatalf("GRANT on %s reads %q as a pattern with wildcards", grantTarget(name), target)
			}
		}
		if validateHost(host) == nil && strings.ContainsAny(host, "'\"`\\@ \t\n\r\x00;/") {
			t.Fatalf("accepted the host %q", host)
		}
		if validateSiteDatabase(name) == nil && (strings.HasPrefix(name, "-") || slices.Contains(systemDatabases, name)) {
			t.Fatalf("accepted %q for a command line", name)
		}
	})
}

// readOptionValue reads the value of an option line ("name=value") as
// MariaDB's option file reader does (mysys/my_default.c): a '#' outside
// quotes ends the line, white space around the value goes, one pair of
// matching quotes around it goes, and \n \t \r \b \s \" \' \\ are
// unescaped; any other backslash stays.
func readOptionValue(line string) string {
	_, value, _ := strings.Cut(line, "=")
	var quoteChar byte
	escape := false
	for i := 0; i < len(value); i++ {
		c := value[i]
		if (c == '\'' || c == '"') && !escape {
			if quoteChar == 0 {
				quoteChar = c
			} else if quoteChar == c {
				quoteChar = 0
			}
		}
		if quoteChar == 0 && c == '#' {
			value = value[:i]
			break
		}
		escape = quoteChar != 0 && c == '\\' && !escape
	}
	value = strings.TrimRight(strings.TrimLeft(value, " \t\n\r\v\f"), " \t\n\r\v\f")
	if len(value) > 1 && (value[0] == '"' || value[0] == '\'') && value[0] == value[len(value)-1] {
		value = value[1 : len(value)-1]
	}
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		if value[i] != '\\' || i == len(value)-1 {
			b.WriteByte(value[i])
			continue
		}
		i++
		switch value[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 's':
			b.WriteByte(' ')
		case '"', '\'', '\\':
			b.WriteByte(value[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(value[i])
		}
	}
	return b.String()
}

// FuzzOptionValue: a value optionValue writes into the option file that
// hands the administrator's credentials to mysqldump and the mysql client
// is one line, read back as the value itself: no password can end the
// line, start a comment, or add an option.
func FuzzOptionValue(f *testing.F) {
	for _, s := range []string{"", "secret", "pa'ss\"wo\\rd;--", "#x", "a # b", "\"", "'", "\\", "\\\"", "x\npassword=y", "x\r", "\t", " lead", "trail ", "\\n", "\\s", "a\"#\"b", "'x'", "\x00", "\x1b", strings.Repeat("x", 3000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ov, err := optionValue(v)
		if err != nil {
			return
		}
		line := "password=" + ov
		if strings.ContainsAny(line, "\n\r") {
			t.Fatalf("optionValue(%q) = %s spans lines", v, ov)
		}
		if got := readOptionValue(line); got != v {
			t.Fatalf("optionValue(%q) = %s, which the reader reads as %q", v, ov, got)
		}
	})
}
