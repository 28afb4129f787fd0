package aegir_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

func TestParseProjectFile(t *testing.T) {
	t.Parallel()
	f, err := aegir.ParseProjectFile([]byte("deploy:\n  - [drush, cr]\n  - [php, scripts/x.php]\nsanitize:\n  - [php, s.php]\ntimeout: 90s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Deploy) != 2 || f.Deploy[1][1] != "scripts/x.php" || len(f.Sanitize) != 1 || f.Timeout != 90*time.Second {
		t.Errorf("parsed %+v", f)
	}
	if f, err := aegir.ParseProjectFile(nil); err != nil || f.Timeout != aegir.DefaultHookTimeout || len(f.Deploy) != 0 {
		t.Errorf("an empty file: %+v, %v", f, err)
	}
	for _, c := range []struct{ name, file, field string }{
		{"misspelt key", "deplyo:\n  - [drush, cr]\n", ".aegir.yml"},
		{"a shell string", "deploy:\n  - drush cr && rm -rf /\n", ".aegir.yml"},
		{"empty command", "deploy:\n  - []\n", "deploy[0]"},
		{"program like an option", "deploy:\n  - [--help]\n", "deploy[0]"},
		{"newline in an argument", "sanitize:\n  - [php, \"a\\nb\"]\n", "sanitize[0]"},
		{"timeout too long", "timeout: 3h\n", "timeout"},
		{"too large", "deploy: []\n#" + strings.Repeat("x", 70000), ".aegir.yml"},
	} {
		_, err := aegir.ParseProjectFile([]byte(c.file))
		if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.field)
		}
	}
}

// FuzzParseProjectFile: whatever a repository holds, the parser returns a
// file whose every command is a non-empty vector, or an error.
func FuzzParseProjectFile(f *testing.F) {
	f.Add([]byte("deploy:\n  - [drush, cr]\ntimeout: 5m\n"))
	f.Add([]byte("sanitize: [[php, x.php]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := aegir.ParseProjectFile(data)
		if err != nil {
			return
		}
		for _, cmd := range append(p.Deploy, p.Sanitize...) {
			if len(cmd) == 0 || cmd[0] == "" || strings.HasPrefix(cmd[0], "-") {
				t.Fatalf("accepted %q", cmd)
			}
		}
		if p.Timeout <= 0 {
			t.Fatalf("timeout %s", p.Timeout)
		}
	})
}
