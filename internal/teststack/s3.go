package teststack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// versitygwVersion is the S3 server the tests run: a real S3
// implementation (versitygw, its posix back end) built from the Go module
// proxy, the lightest of those that are (see docs/benchmarks.md for its
// build time).
const versitygwVersion = "v1.8.0"

// S3 is a private S3-compatible server (versitygw) on a loopback port,
// serving buckets out of a temporary directory.
type S3 struct {
	Dir       string
	Addr      string // 127.0.0.1:port
	AccessKey string
	SecretKey string
	child     *child
}

// URL returns the server's endpoint, http://127.0.0.1:port.
func (s *S3) URL() string { return "http://" + s.Addr }

// Stop stops the server, as a target that went away.
func (s *S3) Stop() { s.child.stop() }

// VersityGW returns the versitygw binary, built once per machine into the
// user's cache directory ($AEGIR_TEST_CACHE overrides it); a lock file
// keeps parallel test binaries from building it twice.
func VersityGW(t testing.TB) string {
	t.Helper()
	Require(t, "go")
	cache := os.Getenv("AEGIR_TEST_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(dir, "aegir-test")
	}
	bin := filepath.Join(cache, "versitygw-"+versitygwVersion)
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(bin, "versitygw")
	lock, err := os.OpenFile(filepath.Join(bin, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(exe); err == nil {
		return exe
	}
	cmd := exec.Command("go", "install", "github.com/versity/versitygw/cmd/versitygw@"+versitygwVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		Missing(t, "build versitygw %s: %v\n%s", versitygwVersion, err, out)
	}
	return exe
}

// StartS3 starts a private versitygw with its posix back end and one
// access key, stopped when the test ends.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	exe := VersityGW(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &S3{Dir: data, Addr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		AccessKey: "aegirtest" + RandomHex(t, 4), SecretKey: RandomHex(t, 16)}
	// The keys go by environment, as an operator's would.
	cmd := []string{"--port", s.Addr, "posix", data}
	s.child = startChildEnv(t, []string{"ROOT_ACCESS_KEY=" + s.AccessKey, "ROOT_SECRET_KEY=" + s.SecretKey}, exe, cmd...)
	waitForPort(t, s.child, s.Addr)
	return s
}
