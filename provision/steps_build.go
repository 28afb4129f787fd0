package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/aegir-hosting/aegir"
)

// The steps that build a platform's root from its source (makefile,
// git_url, composer) through Backend.Builder: verify's, and the later
// tasks that build a new platform from a ref (a deploy of code) reuse them.

// buildRootStep, "build", builds the root of p when it does not exist,
// or anew when rebuild, into a temporary directory beside it, which it
// then moves into place with one rename: a failed build leaves neither
// root nor temporary directory. A rebuild follows the lock file of the
// root it replaces (aegir.BuildLockFile), carries the root's site
// directories and sites/sites.php over, and swaps the two trees at once
// (renameat2 RENAME_EXCHANGE); the old tree stays beside the root until
// oldRootStep removes it. Undo: the built root removed, or the old tree
// swapped back with its sites.
func (t *run) buildRootStep(p *aegir.Platform, rebuild bool, old *string) aegir.Step {
	return aegir.Step{Name: "build", Do: func(ctx context.Context) (aegir.Undo, error) {
		root := p.Root
		_, err := os.Lstat(root)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, aegir.FieldErrorf("root", "%v", err)
		}
		kind := p.SourceKind()
		switch {
		case kind == "" && rebuild:
			return nil, aegir.FieldErrorf("rebuild", "the platform has no source to rebuild from (makefile, git_url or composer)")
		case kind == "" || (exists && !rebuild):
			return nil, nil
		case t.b.Builder == nil:
			return nil, aegir.Errorf(aegir.EINTERNAL, "this back end cannot build platforms (no builder)")
		}
		var lock []byte
		if exists {
			lock, err = os.ReadFile(filepath.Join(root, aegir.BuildLockFile))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		tmp, err := t.buildTree(ctx, p, lock)
		if err != nil {
			return nil, err
		}
		if !exists {
			if err := os.Rename(tmp, root); err != nil {
				os.RemoveAll(tmp)
				return nil, fmt.Errorf("move the built platform into place: %w", err)
			}
			t.log.Infof("built the platform's root %s from its %s", root, kind)
			return func(context.Context) error { return os.RemoveAll(root) }, nil
		}
		moved, err := carrySites(root, tmp)
		if err == nil {
			err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, root, unix.RENAME_EXCHANGE)
			if err != nil {
				err = fmt.Errorf("swap the rebuilt platform into place: %w", err)
			}
		}
		if err != nil {
			// tmp is the new tree still: the sites go back, it goes.
			putBack(moved, tmp, root)
			os.RemoveAll(tmp)
			return nil, err
		}
		*old = tmp // the old tree, now
		t.log.Infof("rebuilt the platform's root %s from its %s; %d site entries carried over", root, kind, len(moved))
		return func(context.Context) error {
			if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, root, unix.RENAME_EXCHANGE); err != nil {
				return fmt.Errorf("swap the old platform back: %w", err)
			}
			*old = ""
			putBack(moved, tmp, root) // from the new tree, now at tmp, into the old root
			return os.RemoveAll(tmp)
		}, nil
	}}
}

// buildTree builds p into a new directory beside its root and returns it.
func (t *run) buildTree(ctx context.Context, p *aegir.Platform, lock []byte) (string, error) {
	parent := filepath.Dir(p.Root)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", aegir.FieldErrorf("root", "create %s: %v", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(p.Root)+".build-*")
	if err != nil {
		return "", err
	}
	t.log.Infof("building %s from %s", p.Root, sourceOf(p))
	if err := t.b.Builder.Build(ctx, p, tmp, lock, t.log); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	// MkdirTemp's 0700 would keep the web server out.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// sourceOf says where a platform is built from, for the log.
func sourceOf(p *aegir.Platform) string {
	switch p.SourceKind() {
	case aegir.SourceMakefile:
		return "makefile " + p.Makefile
	case aegir.SourceGit:
		return "git " + p.GitURL + " " + p.GitRef
	}
	return "composer project " + p.Composer + " " + p.GitRef
}

// carrySites moves the sites of the root (sites/<uri> directories and
// sites/sites.php) into the new tree, and returns what it moved; on error
// it has moved nothing.
func carrySites(root, tree string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "sites"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(tree, "sites"), 0o755); err != nil {
		return nil, err
	}
	var moved []string
	for _, e := range entries {
		name := e.Name()
		site := e.IsDir() && name != "default" && name != "all" && aegir.ValidateURI("uri", name) == nil
		if !site && name != "sites.php" {
			continue
		}
		rel := filepath.Join("sites", name)
		if _, err := os.Lstat(filepath.Join(tree, rel)); err == nil {
			putBack(moved, tree, root)
			return nil, aegir.Errorf(aegir.ECONFLICT, "the rebuilt platform has %s of its own, which would hide the site's", rel)
		}
		if err := os.Rename(filepath.Join(root, rel), filepath.Join(tree, rel)); err != nil {
			putBack(moved, tree, root)
			return nil, err
		}
		moved = append(moved, rel)
	}
	return moved, nil
}

// putBack moves what carrySites moved from tree back into root.
func putBack(moved []string, tree, root string) {
	for _, rel := range moved {
		os.Rename(filepath.Join(tree, rel), filepath.Join(root, rel))
	}
}

// oldRootStep, "old root", removes the tree a rebuild swapped out, once
// the platform's other steps have passed. No undo.
func (t *run) oldRootStep(old *string) aegir.Step {
	return aegir.Step{Name: "old root", Do: func(context.Context) (aegir.Undo, error) {
		if *old == "" {
			return nil, nil
		}
		if err := os.RemoveAll(*old); err != nil {
			return nil, fmt.Errorf("remove the old platform tree %s: %w", *old, err)
		}
		t.log.Infof("removed the old platform tree")
		return nil, nil
	}}
}
