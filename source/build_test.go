package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

const releaseXML = `<?xml version="1.0" encoding="utf-8"?>
<project xmlns:dc="http://purl.org/dc/elements/1.1/">
<short_name>%s</short_name><type>%s</type><api_version>7.x</api_version>
<releases>
<release><name>%s %s</name><version>%s</version><status>published</status>
 <version_major>%s</version_major><version_patch>%s</version_patch>
 <download_link>%s</download_link><mdhash>%s</mdhash></release>
<release><name>old</name><version>%s</version><status>published</status>
 <version_major>%s</version_major><version_patch>0</version_patch>
 <download_link>%s/missing.tar.gz</download_link><mdhash>00000000000000000000000000000000</mdhash></release>
</releases></project>`

// drupalOrg is a local stand-in for updates.drupal.org and ftp.drupal.org:
// Drupal 7.105 and views 7.x-3.24, a patch to views, a theme tarball and
// an included make file.
type drupalOrg struct {
	url     string
	content map[string][]byte
	theme   []byte
}

func newDrupalOrg(t *testing.T, extraGit string) *drupalOrg {
	d := &drupalOrg{content: map[string][]byte{}}
	srv := files(t, d.content)
	d.url = srv.URL
	core := tarGz(t, "drupal-7.105", map[string]string{"index.php": "<?php echo 'core 7.105';\n", "sites/all/modules/README.txt": "modules\n", "sites/default/default.settings.php": "<?php\n"})
	views := tarGz(t, "views", map[string]string{"views.info": "name = Views\ncore = 7.x\n", "views.module": "<?php\n// views\nfunction views_hello() { return 'hello'; }\n"})
	d.theme = tarGz(t, "mytheme", map[string]string{"mytheme.info": "name = My theme\n"})
	lib := tarGz(t, "jquery-cycle-3.0", map[string]string{"jquery.cycle.js": "/* cycle */\n"})
	cm, _ := sums(core)
	vm, _ := sums(views)
	d.content["/files/drupal-7.105.tar.gz"] = core
	d.content["/files/views-7.x-3.24.tar.gz"] = views
	d.content["/files/mytheme.tar.gz"] = d.theme
	d.content["/files/cycle.tar.gz"] = lib
	d.content["/release-history/drupal/7.x"] = fmt.Appendf(nil, releaseXML, "drupal", "project_core", "drupal", "7.105", "7.105", "7", "105",
		d.url+"/files/drupal-7.105.tar.gz", cm, "7.0", "7", d.url)
	d.content["/release-history/views/7.x"] = fmt.Appendf(nil, releaseXML, "views", "project_module", "views", "7.x-3.24", "7.x-3.24", "3", "24",
		d.url+"/files/views-7.x-3.24.tar.gz", vm, "7.x-3.0", "3", d.url)
	d.content["/patches/views.patch"] = []byte(`--- a/views.module
+++ b/views.module
@@ -1,3 +1,3 @@
 <?php
 // views
-function views_hello() { return 'hello'; }
+function views_hello() { return 'patched'; }
`)
	d.content["/make/extra.make.yml"] = []byte("projects:\n  extra:\n    download:\n      type: git\n      url: " + extraGit + "\n      tag: v1.0\n")
	return d
}

func (d *drupalOrg) makefile(mymod string) string {
	_, themeSHA := sums(d.theme)
	return `; a site's codebase
core = 7.x
api = 2
includes[] = extra.make.yml
defaults[projects][subdir] = contrib

projects[drupal][version] = 7.105
projects[views] = 3.24
projects[views][patch][] = "` + d.url + `/patches/views.patch"

projects[mymod][type] = module
projects[mymod][subdir] = custom
projects[mymod][download][type] = git
projects[mymod][download][url] = ` + mymod + `
projects[mymod][download][branch] = main

projects[mytheme][type] = theme
projects[mytheme][download][type] = file
projects[mytheme][download][url] = ` + d.url + `/files/mytheme.tar.gz
projects[mytheme][download][sha256] = ` + themeSHA + `

libraries[cycle][download][type] = file
libraries[cycle][download][url] = ` + d.url + `/files/cycle.tar.gz
libraries[cycle][directory_name] = jquery.cycle
`
}

// serveMakefile puts a make file on the server and returns its URL.
func (d *drupalOrg) serveMakefile(name, content string) string {
	d.content["/make/"+name] = []byte(content)
	return d.url + "/make/" + name
}

func TestBuildMakefilePlacesProjectsAsDrushMakeAndRebuildsFromTheLock(t *testing.T) {
	need(t, "git", "patch")
	t.Parallel()
	mymod := teststack.NewGitRepo(t, map[string]string{"mymod.info": "name = Mine\n", "mymod.module": "<?php // v1\n"})
	extra := teststack.NewGitRepo(t, map[string]string{"extra.info": "name = Extra\n"})
	extra.Tag("v1.0")
	d := newDrupalOrg(t, extra.URL())
	p := &aegir.Platform{Root: "/unused", Makefile: d.serveMakefile("site.make", d.makefile(mymod.URL())), UpdateURL: d.url + "/release-history"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	first := filepath.Join(parent, "first")
	log, err := buildInto(t, p, first, nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, logText(log))
	}
	for file, want := range map[string]string{
		"index.php": "<?php echo 'core 7.105';\n",
		"sites/all/modules/contrib/views/views.info":       "name = Views\ncore = 7.x\n",
		"sites/all/modules/custom/mymod/mymod.module":      "<?php // v1\n",
		"sites/all/modules/contrib/extra/extra.info":       "name = Extra\n",
		"sites/all/themes/contrib/mytheme/mytheme.info":    "name = My theme\n",
		"sites/all/libraries/jquery.cycle/jquery.cycle.js": "/* cycle */\n",
	} {
		if got := mustRead(t, filepath.Join(first, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if got := mustRead(t, filepath.Join(first, "sites/all/modules/contrib/views/views.module")); !strings.Contains(got, "'patched'") {
		t.Errorf("views.module was not patched: %q", got)
	}
	if _, err := os.Stat(filepath.Join(first, "sites/all/modules/custom/mymod/.git")); err == nil {
		t.Error("a git project kept its .git, which drush make removes")
	}
	text := logText(log)
	for _, want := range []string{"fetched drupal 7.105", "fetched views 7.x-3.24", "patched views with", "fetched mymod from", "fetched extra from", "fetched cycle"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}
	lockData := []byte(mustRead(t, filepath.Join(first, aegir.BuildLockFile)))
	var lock Lock
	if err := json.Unmarshal(lockData, &lock); err != nil {
		t.Fatal(err)
	}
	if pl := lock.Projects["projects/views"]; pl == nil || pl.Version != "7.x-3.24" || len(pl.SHA256) != 64 || len(pl.Patches) != 1 || len(pl.Patches[0].SHA256) != 64 {
		t.Errorf("lock of views = %+v", pl)
	}
	v1 := lock.Projects["projects/mymod"].Commit

	// A commit after the build: a rebuild from the lock still takes v1.
	mymod.Commit("second", map[string]string{"mymod.module": "<?php // v2\n"})
	second := filepath.Join(parent, "second")
	if log, err := buildInto(t, p, second, lockData); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, logText(log))
	}
	if a, b := treeHash(t, first), treeHash(t, second); a != b {
		t.Errorf("the rebuild from the lock differs from the first build: %s != %s", a, b)
	}
	if got := mustRead(t, filepath.Join(second, aegir.BuildLockFile)); got != string(lockData) {
		t.Errorf("the rebuild wrote another lock:\n%s\nwant\n%s", got, lockData)
	}
	// Without the lock the branch's new commit is taken.
	third := filepath.Join(parent, "third")
	if log, err := buildInto(t, p, third, nil); err != nil {
		t.Fatalf("fresh build: %v\n%s", err, logText(log))
	}
	if got := mustRead(t, filepath.Join(third, "sites/all/modules/custom/mymod/mymod.module")); got != "<?php // v2\n" {
		t.Errorf("a build without the lock took %q, want v2 (lock had %s)", got, v1)
	}
	if left := entries(t, parent); len(left) != 3 {
		t.Errorf("the builds left %v beside the roots", left)
	}
}

func TestBuildFailsWithTheReasonAndLeavesNoWorkDirectory(t *testing.T) {
	need(t, "git", "patch")
	t.Parallel()
	mymod := teststack.NewGitRepo(t, map[string]string{"mymod.module": "<?php\n"})
	extra := teststack.NewGitRepo(t, map[string]string{"extra.info": "x\n"})
	extra.Tag("v1.0")
	d := newDrupalOrg(t, extra.URL())
	base := "core = 7.x\napi = 2\n"
	for _, tc := range []struct{ name, makefile, want string }{
		{"unreachable repository", base + "projects[m][download][type] = git\nprojects[m][download][url] = file:///nonexistent/repo.git\n", "cannot clone file:///nonexistent/repo.git"},
		{"missing ref", base + "projects[m][download][type] = git\nprojects[m][download][url] = " + mymod.URL() + "\nprojects[m][download][tag] = v9\n", `has no branch, tag or commit "v9"`},
		{"checksum mismatch", base + "projects[t][download][type] = file\nprojects[t][download][url] = " + d.url + "/files/mytheme.tar.gz\nprojects[t][download][sha256] = " + strings.Repeat("a", 64) + "\n", "checksum mismatch: sha256"},
		{"patch that does not apply", base + "projects[m][download][type] = git\nprojects[m][download][url] = " + mymod.URL() + "\nprojects[m][patch][] = " + d.url + "/patches/views.patch\n", "patch " + d.url + "/patches/views.patch does not apply"},
		{"syntax error", base + "projects[views] = 3.24\nthis is not make\n", "line 4"},
		{"directory_name traversal", base + "projects[m][download][type] = git\nprojects[m][download][url] = " + mymod.URL() + "\nprojects[m][directory_name] = ../../etc\n", "directory_name"},
		{"subdir traversal", base + "projects[m][subdir] = ../../../tmp\nprojects[m][download][type] = git\nprojects[m][download][url] = " + mymod.URL() + "\n", "subdir"},
		{"missing release", base + "projects[views] = 3.99\n", "no release 3.99"},
		{"md5 of the release XML", base + "projects[drupal][version] = 7.0\n", "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &aegir.Platform{Root: "/unused", Makefile: d.serveMakefile(strings.ReplaceAll(tc.name, " ", "-")+".make", tc.makefile), UpdateURL: d.url + "/release-history"}
			parent := t.TempDir()
			log, err := buildInto(t, p, filepath.Join(parent, "root"), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one saying %q\n%s", err, tc.want, logText(log))
			}
			if left := entries(t, parent); len(left) != 1 || left[0] != "root" {
				t.Errorf("the failed build left %v beside the root", left)
			}
		})
	}
}

func TestBuildGitPlatformAtBranchTagAndCommit(t *testing.T) {
	need(t, "git")
	t.Parallel()
	repo := teststack.NewGitRepo(t, map[string]string{"index.php": "<?php echo 'v1';\n"})
	repo.Tag("v1")
	c1 := teststack.Git(t, repo.Work, "rev-parse", "HEAD")
	repo.Commit("v2", map[string]string{"index.php": "<?php echo 'v2';\n"})
	repo.Branch("feature")
	repo.Commit("feature", map[string]string{"index.php": "<?php echo 'feature';\n"})
	parent := t.TempDir()
	for ref, want := range map[string]string{"v1": "v1", c1: "v1", "main": "v2", "feature": "feature", "": "v2"} {
		root := filepath.Join(parent, "ref-"+ref)
		p := &aegir.Platform{Root: root, GitURL: repo.URL(), GitRef: ref}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if log, err := buildInto(t, p, root, nil); err != nil {
			t.Fatalf("ref %q: %v\n%s", ref, err, logText(log))
		}
		if got := mustRead(t, filepath.Join(root, "index.php")); !strings.Contains(got, want) {
			t.Errorf("ref %q: index.php = %q, want %s", ref, got, want)
		}
	}
	if got := teststack.Git(t, filepath.Join(parent, "ref-feature"), "rev-parse", "--abbrev-ref", "HEAD"); got != "feature" {
		t.Errorf("a branch platform is on %q, want the branch feature checked out", got)
	}
	_, err := buildInto(t, &aegir.Platform{GitURL: repo.URL(), GitRef: "nope"}, filepath.Join(parent, "nope"), nil)
	if err == nil || !strings.Contains(err.Error(), `no branch, tag or commit "nope"`) {
		t.Errorf("a missing ref: %v", err)
	}
}

func TestBuildComposerProjectWithPathRepositoryTwiceIsTheSame(t *testing.T) {
	need(t, "composer", "php")
	t.Parallel()
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"packages/greeter/composer.json":   `{"name": "acme/greeter", "version": "1.2.0", "autoload": {"psr-4": {"Acme\\": "src/"}}}`,
		"packages/greeter/src/Greeter.php": "<?php\nnamespace Acme;\nclass Greeter { static function hello() { return 'hello from composer'; } }\n",
		"app/composer.json": `{"name": "acme/site", "require": {"acme/greeter": "^1.0"}, "require-dev": {"acme/devtool": "*"},
			"repositories": [{"type": "path", "url": "` + src + `/packages/greeter"}, {"packagist.org": false}], "config": {"platform-check": false}}`,
		"app/index.php": "<?php require __DIR__.'/vendor/autoload.php'; echo Acme\\Greeter::hello();\n",
	})
	p := &aegir.Platform{Root: "/unused", Composer: filepath.Join(src, "app")}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	first := filepath.Join(parent, "first")
	if log, err := buildInto(t, p, first, nil); err == nil || !strings.Contains(err.Error(), "acme/devtool") {
		// require-dev names a package no repository has: composer resolves
		// it even with --no-dev, and must say so.
		t.Fatalf("an unresolvable require-dev: %v\n%s", err, logText(log))
	}
	os.RemoveAll(first)
	writeFiles(t, src, map[string]string{"app/composer.json": `{"name": "acme/site", "require": {"acme/greeter": "^1.0"},
		"repositories": [{"type": "path", "url": "` + src + `/packages/greeter"}, {"packagist.org": false}], "config": {"platform-check": false}}`})
	log, err := buildInto(t, p, first, nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, logText(log))
	}
	out, err := exec.Command("php", filepath.Join(first, "index.php")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "hello from composer" {
		t.Errorf("index.php says %q", out)
	}
	if fi, err := os.Lstat(filepath.Join(first, "vendor/acme/greeter")); err != nil || !fi.IsDir() {
		t.Errorf("the path package is not copied into vendor: %v", err)
	}
	lockData := []byte(mustRead(t, filepath.Join(first, aegir.BuildLockFile)))
	var lock Lock
	if err := json.Unmarshal(lockData, &lock); err != nil || !strings.Contains(lock.ComposerLock, `"acme/greeter"`) {
		t.Fatalf("lock = %v, %s", err, lockData)
	}
	second := filepath.Join(parent, "second")
	if log, err := buildInto(t, p, second, lockData); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, logText(log))
	}
	if a, b := treeHash(t, first), treeHash(t, second); a != b {
		t.Errorf("the rebuild differs: %s != %s", a, b)
	}
	if !bytes.Equal([]byte(mustRead(t, filepath.Join(second, aegir.BuildLockFile))), lockData) {
		t.Error("the rebuild wrote another lock")
	}
}

func TestBuildComposerProjectFromGitAtARef(t *testing.T) {
	need(t, "composer", "php", "git")
	t.Parallel()
	pkgs := t.TempDir()
	writeFiles(t, pkgs, map[string]string{
		"greeter/composer.json": `{"name": "acme/greeter", "version": "2.0.0", "autoload": {"files": ["greet.php"]}}`,
		"greeter/greet.php":     "<?php function greet() { return 'hello from git'; }\n",
	})
	repo := teststack.NewGitRepo(t, map[string]string{
		"composer.json": `{"name": "acme/site", "require": {"acme/greeter": "^2.0"},
			"repositories": [{"type": "path", "url": "` + pkgs + `/greeter"}, {"packagist.org": false}]}`,
		"index.php": "<?php require __DIR__.'/vendor/autoload.php'; echo greet();\n",
	})
	repo.Tag("v1")
	repo.Commit("broken", map[string]string{"composer.json": `{"require": {"acme/nothing": "^9"}, "repositories": [{"packagist.org": false}]}`})
	p := &aegir.Platform{Root: "/unused", Composer: repo.URL(), GitRef: "v1"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "root")
	if log, err := buildInto(t, p, root, nil); err != nil {
		t.Fatalf("build: %v\n%s", err, logText(log))
	}
	out, err := exec.Command("php", filepath.Join(root, "index.php")).Output()
	if err != nil || string(out) != "hello from git" {
		t.Errorf("index.php: %q, %v", out, err)
	}
	var lock Lock
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(root, aegir.BuildLockFile))), &lock); err != nil || lock.Git == nil || lock.Git.Ref != "v1" || lock.ComposerLock == "" {
		t.Errorf("lock: %+v, %v", lock, err)
	}
	// main's composer.json asks for what no repository has: composer says so.
	p.GitRef = "main"
	_, err = buildInto(t, p, filepath.Join(t.TempDir(), "root"), nil)
	if err == nil || !strings.Contains(err.Error(), "acme/nothing") {
		t.Errorf("a broken composer.json at main: %v", err)
	}
}
