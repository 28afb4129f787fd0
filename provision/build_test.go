package provision

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/source"
)

// TestVerifyBuildsRootAndRebuildUndoesToTheOldTree walks a platform built
// from git through verify's build step and its undo: a build undone leaves
// nothing; a rebuild undone (a later step failing) swaps the old tree back
// with its sites; a rebuild that cannot clone leaves the old tree as it was.
func TestVerifyBuildsRootAndRebuildUndoesToTheOldTree(t *testing.T) {
	repo := teststack.NewGitRepo(t, map[string]string{"index.html": "v1"})
	b := stepsBackend(t)
	b.Runner = &local.Runner{}
	b.Builder = &source.Builder{Runner: b.Runner}
	ctx := context.Background()
	commit := func(content string) { repo.Commit(content, map[string]string{"index.html": content}) }
	bare := repo.Bare

	dir := t.TempDir()
	parent := filepath.Join(dir, "platforms")
	root := filepath.Join(parent, "built")
	c, err := aegir.NewContext("platform_built", aegir.PlatformContext)
	if err != nil {
		t.Fatal(err)
	}
	c.Platform.Root, c.Platform.GitURL, c.Platform.GitRef = root, "file://"+bare, "main"
	if err := b.Contexts.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	verify := func(opts aegir.TaskOptions) (*aegir.Result, error) {
		t.Helper()
		return b.Run(ctx, aegir.TaskVerify, "platform_built", opts)
	}
	leftovers := func() {
		t.Helper()
		es, _ := os.ReadDir(parent)
		for _, e := range es {
			if e.Name() != "built" {
				t.Errorf("left beside the root: %s", e.Name())
			}
		}
	}
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// A build undone by a later step's failure leaves nothing.
	if _, err := verify(aegir.TaskOptions{FailAt: "packages"}); err == nil {
		t.Fatal("verify with a failing step passed")
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("the undone build left its root: %v", err)
	}
	leftovers()

	if _, err := verify(aegir.TaskOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := read("index.html"); got != "v1" {
		t.Fatalf("index.html = %q", got)
	}
	for rel, content := range map[string]string{"sites/a.example/settings.php": "<?php // a\n", "sites/sites.php": "<?php\n"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	commit("v2")

	// A rebuild (from the lock: v1 still) undone swaps the old tree back.
	if err := os.WriteFile(filepath.Join(root, "marker"), []byte("old tree"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(aegir.TaskOptions{FailAt: "packages", Args: map[string]string{"rebuild": "1"}}); err == nil {
		t.Fatal("rebuild with a failing step passed")
	}
	if read("marker") != "old tree" || read("sites/a.example/settings.php") != "<?php // a\n" || read("sites/sites.php") != "<?php\n" {
		t.Error("the undone rebuild did not put back the old tree with its sites")
	}
	leftovers()

	// A rebuild that passes: a new tree, the lock's commit, the sites kept.
	r, err := verify(aegir.TaskOptions{Args: map[string]string{"rebuild": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "marker")); !os.IsNotExist(err) {
		t.Error("the rebuild kept the old tree")
	}
	if read("index.html") != "v1" || read("sites/a.example/settings.php") != "<?php // a\n" {
		t.Error("the rebuild did not follow the lock or lost a site")
	}
	if got := r.Data.(*aegir.PlatformVerifyResult).Sites; len(got) != 1 || got[0] != "a.example" {
		t.Errorf("sites found after the rebuild: %v", got)
	}
	leftovers()

	// The repository gone: the rebuild fails and the tree stays as it was.
	if err := os.RemoveAll(bare); err != nil {
		t.Fatal(err)
	}
	_, err = verify(aegir.TaskOptions{Args: map[string]string{"rebuild": "1"}})
	if err == nil || !strings.Contains(err.Error(), "cannot clone") {
		t.Fatalf("a rebuild from a lost repository: %v", err)
	}
	if read("index.html") != "v1" || read("sites/a.example/settings.php") != "<?php // a\n" {
		t.Error("the failed rebuild changed the tree")
	}
	leftovers()

	// --rebuild is the platform's: a site's verify refuses it.
	if _, err := b.Run(ctx, aegir.TaskVerify, "a.example", aegir.TaskOptions{Args: map[string]string{"rebuild": "1"}}); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("verify --rebuild of a site: %v", err)
	}
}
