package restic

import (
	"os"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestConfigIsPrivate: offsite.yml is written 0600, read back whole, and
// refused once others may read it; a key is never replaced.
func TestConfigIsPrivate(t *testing.T) {
	t.Parallel()
	p := aegir.Paths{Home: t.TempDir()}
	if c, err := LoadConfig(p); c != nil || err != nil {
		t.Fatalf("no offsite.yml: %+v %v", c, err)
	}
	in := &Config{Repository: "s3:https://s3.example.net/aegir", S3AccessKeyID: "AKIA1", S3SecretAccessKey: "secret", Keep: aegir.Keep{Daily: 3}}
	if err := SaveConfig(p, in); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(ConfigFile(p)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("offsite.yml: %v %v", st.Mode(), err)
	}
	c, err := LoadConfig(p)
	if err != nil || c.S3SecretAccessKey != "secret" || c.Daily != 3 || c.KeyFile != KeyFile(p) {
		t.Fatalf("read back: %+v %v", c, err)
	}
	if err := os.Chmod(ConfigFile(p), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a readable offsite.yml: %v", err)
	}
	if err := WriteKey(KeyFile(p), "one"); err != nil {
		t.Fatal(err)
	}
	if err := WriteKey(KeyFile(p), "two"); aegir.ErrorCode(err) != aegir.ECONFLICT {
		t.Fatalf("a second key: %v", err)
	}
	if b, _ := os.ReadFile(KeyFile(p)); string(b) != "one\n" {
		t.Fatalf("the key became %q", b)
	}
}
