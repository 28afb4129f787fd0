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

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestPlatformFromMakefileServesASiteAndRebuildsFromItsLock builds a plain
// PHP platform from a make file (a core tarball with a patch, and a module
// from a git branch), installs a site on it and fetches it over HTTP; a
// rebuild after a new commit keeps the locked commit and the site; a
// build that cannot clone fails and leaves no directory.
func TestPlatformFromMakefileServesASiteAndRebuildsFromItsLock(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Fatal("patch is not installed: run make test, which installs it")
	}
	s := newStack(t)
	s.setup()

	// A module in a git repository, on branch main.
	greet := teststack.NewGitRepo(t, map[string]string{"greet.php": "<?php echo 'greet v1';\n"})
	repos := t.TempDir()

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
projects[greet][download][url] = `+greet.URL()+`
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
	greet.Commit("v2", map[string]string{"greet.php": "<?php echo 'greet v2';\n"})
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
