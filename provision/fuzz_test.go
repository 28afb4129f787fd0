package provision

import (
	"path/filepath"
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

// FuzzOwnBackup: a backup a task names (backup-delete, backup-verify) is
// only ever a file of the site's own in the backups directory.
func FuzzOwnBackup(f *testing.F) {
	for _, s := range []string{"a.example-20250101.030000.tar.gz", "/backups/a.example-1.tar.gz", "../a.example-1.tar.gz",
		"a.example-/../../etc/passwd", "/etc/a.example-1", "b.example-1.tar.gz", "sub/a.example-1", "/backups//a.example-1", "", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		const dir, uri = "/backups", "a.example"
		path, err := ownBackup("file", dir, uri, name)
		if err != nil {
			if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "file") {
				t.Fatalf("ownBackup(%q): %v, want an EINVALID error naming file", name, err)
			}
			return
		}
		if filepath.Dir(path) != dir || !strings.HasPrefix(filepath.Base(path), uri+"-") || filepath.Clean(path) != path {
			t.Fatalf("ownBackup(%q) = %q, outside %s or not %s's", name, path, dir, uri)
		}
	})
}
