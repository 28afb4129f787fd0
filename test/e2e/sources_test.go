package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitCmd runs git in dir with a fixed author, for the repositories the
// tests make.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPlatformFromMakefileServesASiteAndRebuildsFromItsLock builds a plain
// PHP platform from a make file (a core tarball with a patch, and a module
// from a git branch), installs a site on it and fetches it over HTTP; a
// rebuild after a new commit keeps the locked commit and the site; a
// build that cannot clone fails and leaves no directory.
func TestPlatformFromMakefileServesASiteAndRebuildsFromItsLock(t *testing.T) {
	for _, bin := range []string{"git", "patch"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: run make test, which installs it", bin)
		}
	}
	s := newStack(t)
	s.setup()

	// A module in a git repository, on branch main.
	repos := t.TempDir()
	bare, work := filepath.Join(repos, "greet.git"), filepath.Join(repos, "work")
	gitCmd(t, repos, "init", "--quiet", "--bare", "--initial-branch=main", bare)
	gitCmd(t, repos, "init", "--quiet", "--initial-branch=main", work)
	s.write(filepath.Join(work, "greet.php"), "<?php echo 'greet v1';\n")
	gitCmd(t, work, "add", "-A")
	gitCmd(t, work, "commit", "--quiet", "-m", "v1")
	gitCmd(t, work, "push", "--quiet", bare, "main")

	// Core: a tarball and a patch to it, served over HTTP.
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	index := "<?php\necho 'core ';\ninclude __DIR__ . '/sites/all/modules/greet/greet.php';\n"
	tw.WriteHeader(&tar.Header{Name: "app-1.0/index.php", Mode: 0o644, Size: int64(len(index)), Typeflag: tar.TypeReg})
	tw.Write([]byte(index))
	tw.Close()
	gz.Close()
	sum := sha256.Sum256(tgz.Bytes())
	content := map[string][]byte{
		"/app-1.0.tar.gz": tgz.Bytes(),
		"/core.patch":     []byte("--- a/index.php\n+++ b/index.php\n@@ -1,3 +1,3 @@\n <?php\n-echo 'core ';\n+echo 'patched core ';\n include __DIR__ . '/sites/all/modules/greet/greet.php';\n"),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := content[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	makefile := filepath.Join(repos, "app.make")
	s.write(makefile, `core = 7.x
api = 2
projects[app][type] = core
projects[app][download][type] = file
projects[app][download][url] = `+srv.URL+`/app-1.0.tar.gz
projects[app][download][sha256] = `+hex.EncodeToString(sum[:])+`
projects[app][patch][] = `+srv.URL+`/core.patch
projects[greet][download][type] = git
projects[greet][download][url] = file://`+bare+`
projects[greet][download][branch] = main
`)

	root := filepath.Join(s.home, "platforms", "built")
	s.mustAegir("save", "@platform_built", "--context_type=platform", "--root="+root, "--makefile="+makefile)
	r := s.mustTask("verify", "@platform_built")
	log := logOf(r)
	for _, want := range []string{"fetched app", "patched app with", "fetched greet from file://"} {
		if !strings.Contains(log, want) {
			t.Errorf("the verify's log lacks %q:\n%s", want, log)
		}
	}
	lock, err := os.ReadFile(filepath.Join(root, ".aegir-build.lock.json"))
	if err != nil {
		t.Fatal(err)
	}

	uri := "built." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_built")
	s.mustTask("install", "@"+uri)
	s.mustServe(s.url(uri, "/"), "patched core greet v1")

	// A second verify leaves the existing root alone.
	if r := s.mustTask("verify", "@platform_built"); strings.Contains(logOf(r), "building") {
		t.Errorf("a verify of a built root built it again:\n%s", logOf(r))
	}

	// A new commit, then a rebuild: the lock keeps v1, the site stays.
	s.write(filepath.Join(work, "greet.php"), "<?php echo 'greet v2';\n")
	gitCmd(t, work, "commit", "--quiet", "-am", "v2")
	gitCmd(t, work, "push", "--quiet", bare, "main")
	r = s.mustTask("verify", "@platform_built", "--rebuild")
	if !strings.Contains(logOf(r), "1 site entries carried over") {
		t.Errorf("the rebuild's log:\n%s", logOf(r))
	}
	if again, _ := os.ReadFile(filepath.Join(root, ".aegir-build.lock.json")); !bytes.Equal(again, lock) {
		t.Errorf("the rebuild wrote another lock:\n%s\nwant\n%s", again, lock)
	}
	s.mustServe(s.url(uri, "/"), "patched core greet v1")
	s.mustTask("verify", "@"+uri)
	if left := dotEntries(t, filepath.Dir(root)); len(left) != 0 {
		t.Errorf("the rebuild left %v beside the root", left)
	}

	// A build that cannot clone fails with the reason and leaves nothing.
	bad := filepath.Join(repos, "bad.make")
	s.write(bad, "core = 7.x\napi = 2\nprojects[x][download][type] = git\nprojects[x][download][url] = file:///nonexistent/x.git\n")
	badRoot := filepath.Join(s.home, "platforms", "bad")
	s.mustAegir("save", "@platform_bad", "--context_type=platform", "--root="+badRoot, "--makefile="+bad)
	r, err = s.task("verify", "@platform_bad")
	if err == nil || !strings.Contains(logOf(r), "cannot clone file:///nonexistent/x.git") {
		t.Fatalf("verify of a platform whose build cannot clone: %v\n%s", err, logOf(r))
	}
	if _, err := os.Stat(badRoot); !os.IsNotExist(err) {
		t.Errorf("the failed build left its root: %v", err)
	}
	if left := dotEntries(t, filepath.Dir(root)); len(left) != 0 {
		t.Errorf("the failed build left %v", left)
	}
}

func logOf(r *result) string {
	var b strings.Builder
	for _, e := range r.Log {
		b.WriteString(e.Level + ": " + e.Message + "\n")
	}
	return b.String()
}

// dotEntries lists the hidden entries of dir: a build's temporary trees.
func dotEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}
