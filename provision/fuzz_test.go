package provision

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// dbNamePattern is what a derived database name must be: a letter, then
// letters and digits, at most 16 in all, which the mysql driver accepts
// as a database and a user name and which needs no quoting anywhere (SQL,
// a command line, the cloaked parameters of a vhost, a PHP literal).
var dbNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// FuzzDatabaseName: the database name derived from any site URI, with any
// suffix createDatabase tries, is a plain name of at most 16 characters
// that ends with its suffix.
func FuzzDatabaseName(f *testing.F) {
	for _, s := range []string{"example.com", "www.example.com", "1.example.com", "www.", "www.www.x", "a-b.c-d", "mysql", "x`y", "a;b", "é.example", "a.very.long.name.with.many.labels.example.com"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(maxDBNameTries-1))
	}
	f.Fuzz(func(t *testing.T, uri string, try uint8) {
		suffix := int(try) % maxDBNameTries
		if aegir.ValidateURI("uri", uri) != nil {
			return
		}
		name := DatabaseName(uri, suffix)
		if !dbNamePattern.MatchString(name) {
			t.Fatalf("DatabaseName(%q, %d) = %q, not a plain name of at most 16 characters", uri, suffix, name)
		}
		if suffix > 0 && !strings.HasSuffix(name, strconv.Itoa(suffix)) {
			t.Fatalf("DatabaseName(%q, %d) = %q does not end with its suffix", uri, suffix, name)
		}
	})
}
