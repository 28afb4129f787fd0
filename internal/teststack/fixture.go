package teststack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Missing stops t because a component it needs (a program, a service, a
// fixture) is not there: a skip on a developer's machine, a failure under
// CI=true, where a run must never pass by skipping the real components.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a missing component fails the run; make test installs them)", msg)
	}
	t.Skip(msg)
}

// FixtureDir is where the shared test fixtures are: $AEGIR_FIXTURES, else
// shared/fixtures beside the checkout (the team's shared folder, which CI
// has there too).
func FixtureDir() string {
	if dir := os.Getenv("AEGIR_FIXTURES"); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	// file is <checkout>/internal/teststack/fixture.go.
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "fixtures")
}

// unpacked holds the fixtures unpacked by this test process, by name.
var unpacked struct {
	sync.Mutex
	dirs map[string]*fixtureCopy
}

type fixtureCopy struct {
	once sync.Once
	dir  string
	err  error
}

// Fixture returns a directory holding the fixture archive name (a .tar.xz
// of shared/fixtures) unpacked, once per test process, into a temporary
// directory the web server's workers can read; RemoveFixtures removes them.
// Tests must not write into it: LinkTree it into a platform of their own. A
// missing fixture is Missing.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	archive := filepath.Join(FixtureDir(), name)
	if _, err := os.Stat(archive); err != nil {
		Missing(t, "test fixture %s: %v", name, err)
	}
	unpacked.Lock()
	if unpacked.dirs == nil {
		unpacked.dirs = map[string]*fixtureCopy{}
	}
	c := unpacked.dirs[name]
	if c == nil {
		c = &fixtureCopy{}
		unpacked.dirs[name] = c
	}
	unpacked.Unlock()
	c.once.Do(func() {
		if c.dir, c.err = os.MkdirTemp("", "aegir-fixture-"+strings.SplitN(name, ".tar", 2)[0]+"-"); c.err != nil {
			return
		}
		if c.err = os.Chmod(c.dir, 0o755); c.err != nil {
			return
		}
		// As root tar would keep the archive's owners: the files are the
		// test's, as a platform's files are aegir's.
		out, err := exec.Command("tar", "-xJf", archive, "--no-same-owner", "-C", c.dir).CombinedOutput()
		if err != nil {
			c.err = fmt.Errorf("unpack %s: %v: %s", archive, err, out)
		}
	})
	if c.err != nil {
		t.Fatalf("fixture %s: %v", name, c.err)
	}
	return c.dir
}

// RemoveFixtures removes the fixtures this process unpacked; TestMain calls
// it after the tests ran.
func RemoveFixtures() {
	unpacked.Lock()
	defer unpacked.Unlock()
	for _, c := range unpacked.dirs {
		if c.dir != "" {
			os.RemoveAll(c.dir)
		}
	}
	unpacked.dirs = nil
}
