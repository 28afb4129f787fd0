package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
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

// TestDrupal7PlatformFromMakefileResolvesReleasesAndInstalls builds a
// Drupal 7 platform from a make file whose core and module are drupal.org
// releases, served (release history XML and tarballs) by a local stand-in
// for drupal.org, verifies it, installs a site with the minimal profile
// and fetches its login page.
func TestDrupal7PlatformFromMakefileResolvesReleasesAndInstalls(t *testing.T) {
	s := newStack(t)
	s.setup()
	fixture := teststack.Fixture(t, "drupal-7.105.tar.xz")
	files := t.TempDir()
	core := filepath.Join(files, "drupal-7.105.tar.gz")
	if out, err := exec.Command("tar", "-czf", core, "-C", fixture, ".").CombinedOutput(); err != nil {
		t.Fatalf("pack the fixture: %v: %s", err, out)
	}
	var mod bytes.Buffer
	gz := gzip.NewWriter(&mod)
	tw := tar.NewWriter(gz)
	info := "name = Hello\ncore = 7.x\nversion = \"7.x-1.2\"\n"
	tw.WriteHeader(&tar.Header{Name: "hello/hello.info", Mode: 0o644, Size: int64(len(info)), Typeflag: tar.TypeReg})
	tw.Write([]byte(info))
	tw.Close()
	gz.Close()
	coreBytes, err := os.ReadFile(core)
	if err != nil {
		t.Fatal(err)
	}
	content := map[string][]byte{"/files/drupal-7.105.tar.gz": coreBytes, "/files/hello-7.x-1.2.tar.gz": mod.Bytes()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := content[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	history := func(name, typ, version, major, patch string, tarball []byte) []byte {
		sum := md5.Sum(tarball)
		return []byte(`<?xml version="1.0" encoding="utf-8"?>
<project><short_name>` + name + `</short_name><type>` + typ + `</type><api_version>7.x</api_version><releases>
<release><name>` + name + ` ` + version + `</name><version>` + version + `</version><status>published</status>
<version_major>` + major + `</version_major><version_patch>` + patch + `</version_patch>
<download_link>` + srv.URL + `/files/` + name + `-` + version + `.tar.gz</download_link><mdhash>` + hex.EncodeToString(sum[:]) + `</mdhash></release>
</releases></project>`)
	}
	content["/release-history/drupal/7.x"] = history("drupal", "project_core", "7.105", "7", "105", coreBytes)
	content["/release-history/hello/7.x"] = history("hello", "project_module", "7.x-1.2", "1", "2", mod.Bytes())
	makefile := filepath.Join(files, "d7.make.yml")
	s.write(makefile, "core: 7.x\napi: 2\ndefaults:\n  projects:\n    subdir: contrib\nprojects:\n  drupal:\n    version: '7.105'\n  hello: '1.x'\n")

	root := filepath.Join(s.home, "platforms", "d7")
	s.mustAegir("save", "@platform_d7", "--context_type=platform", "--root="+root, "--makefile="+makefile, "--update_url="+srv.URL+"/release-history")
	r := s.mustTask("verify", "@platform_d7")
	if r.Data["app"] != "drupal" || r.Data["version"] != "7.105" {
		t.Errorf("verify found %v %v, want drupal 7.105", r.Data["app"], r.Data["version"])
	}
	if _, err := os.Stat(filepath.Join(root, "sites/all/modules/contrib/hello/hello.info")); err != nil {
		t.Errorf("the module is not where drush make puts it: %v", err)
	}
	uri := "d7." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_d7", "--profile=minimal")
	s.mustTask("install", "@"+uri)
	s.mustServe(s.url(uri, "/user"), "Log in")
}
