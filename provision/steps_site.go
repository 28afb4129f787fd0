package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/aegir-hosting/aegir"
)

// The steps every task that writes a site has in common, each under the
// name it has in every task: verify, install, import, enable and disable,
// and the deploy under restore, migrate and clone.

// siteDirStep, "site directory", creates the site directory and the app's
// writable ones (siteDirectories). No undo: it only adds what any verify
// of the site would add.
func (t *run) siteDirStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "site directory", Do: func(context.Context) (aegir.Undo, error) {
		return nil, t.siteDirectories(s)
	}}
}

// settingsStep, "settings", writes the app's settings file
// (app.WriteSettings); its undo puts back the previous file with its owner
// and mode.
func (t *run) settingsStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "settings", Do: func(ctx context.Context) (aegir.Undo, error) {
		return t.writeSettings(ctx, s)
	}}
}

// permissionsStep, "permissions", gives the site's settings and writable
// directories (and its private directory outside the root) to the web
// group. No undo: the modes are Aegir's own.
func (t *run) permissionsStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "permissions", Do: func(context.Context) (aegir.Undo, error) {
		return nil, t.permissions(s)
	}}
}

// vhostStep, "vhost", writes the site's vhost (http.WriteSite, which tests
// the web server's configuration and reloads it); its undo, the driver's,
// puts back the previous vhost.
func (t *run) vhostStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
		return s.http.WriteSite(ctx, s.vhost())
	}}
}

// addressStepName names the step that keeps the address a site's data
// holds in step with its URL.
const addressStepName = "site address"

// vhostSteps returns the vhost step with the "site address" step
// (followAddress, address.go; its undo rewrites the data back) before or
// after it: after it when the site requires https, before it otherwise.
// WordPress makes the links of a page it serves over https https ones,
// whatever its address, but not the other way round, so the data holds the
// http address exactly while the vhost still serves https: turning SSL on,
// the new vhost comes first; turning it off, the address does.
func (t *run) vhostSteps(s *siteEnv, vhost aegir.Step) []aegir.Step {
	address := aegir.Step{Name: addressStepName, Do: func(ctx context.Context) (aegir.Undo, error) {
		return t.followAddress(ctx, s)
	}}
	if s.site.SSLEnabled == aegir.SSLRequired {
		return []aegir.Step{vhost, address}
	}
	return []aegir.Step{address, vhost}
}

// contextStep, "context", saves the site's context with status; its undo
// puts back before, or removes the context when there was none.
func (t *run) contextStep(s *siteEnv, status string, before *aegir.Context) aegir.Step {
	return aegir.Step{Name: "context", Do: func(ctx context.Context) (aegir.Undo, error) {
		s.site.Status = status
		return t.putContext(ctx, s.ctx, before)
	}}
}

// putContext saves c; its undo puts back before, or deletes c when there
// was none.
func (t *run) putContext(ctx context.Context, c, before *aegir.Context) (aegir.Undo, error) {
	if err := t.b.Contexts.Put(ctx, c); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if before == nil {
			return t.b.Contexts.Delete(ctx, c.Name)
		}
		return t.b.Contexts.Put(ctx, before)
	}, nil
}

// packagesStep, "packages", records the packages of the site's platform
// (app.Packages). No undo: it only reads.
func (t *run) packagesStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "packages", Do: func(ctx context.Context) (aegir.Undo, error) {
		return nil, t.packages(ctx, s)
	}}
}

// packages records the packages of the site's platform.
func (t *run) packages(ctx context.Context, s *siteEnv) error {
	pkgs, err := s.platform.app.Packages(ctx, s.platform.root)
	if err != nil {
		return err
	}
	report(t, func(f *aegir.PackagesFound) { f.Packages = pkgs })
	return nil
}

// writeSettings writes the site's settings; the undo puts back the previous
// file with its owner and mode, or removes the new one.
func (t *run) writeSettings(ctx context.Context, s *siteEnv) (aegir.Undo, error) {
	rel := s.platform.app.SettingsFile()
	if rel == "" {
		return nil, nil
	}
	path := filepath.Join(s.siteDir(), rel)
	restore, err := saveFile(path)
	if err != nil {
		return nil, err
	}
	if err := s.platform.app.WriteSettings(ctx, s.appSite()); err != nil {
		return nil, err
	}
	t.log.Infof("wrote %s", path)
	return restore, nil
}

// saveFile keeps a file's content, owner and mode so the returned undo can
// put it back exactly, or remove the file when there was none.
func saveFile(path string) (aegir.Undo, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return func(context.Context) error {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}, nil
	} else if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return func(context.Context) error {
		tmp := filepath.Join(filepath.Dir(path), ".aegir-restore-"+filepath.Base(path))
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if err := os.Lchown(tmp, int(st.Uid), int(st.Gid)); err != nil {
				os.Remove(tmp)
				return err
			}
		}
		if err := os.Chmod(tmp, info.Mode()); err != nil {
			os.Remove(tmp)
			return err
		}
		return os.Rename(tmp, path)
	}, nil
}

// siteDirectories creates the site directory and the app's writable ones.
func (t *run) siteDirectories(s *siteEnv) error {
	if err := os.MkdirAll(s.siteDir(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.siteDir(), err)
	}
	dirs, _ := s.writableDirs()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(s.siteDir(), d), 0o770); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return t.privateDirectories(s)
}

// permissions sets Aegir's modes: the site directory 0755, settings 0440
// and writable directories 02770, all in the web group so PHP (running as
// the web server's user) can read settings and write uploads. With a pool
// of its own, the group is the site user's and the site directory 02750.
func (t *run) permissions(s *siteEnv) error {
	gid, err := lookupGroup(s.group())
	if err != nil {
		return err
	}
	dir := s.siteDir()
	// A site with its own pool keeps every other site's user out of its
	// directory: only aegir, its user and the web server (in its group)
	// enter it.
	mode := fs.FileMode(0o755)
	if s.phpUser() != "" {
		mode = 0o750 | fs.ModeSetgid
	}
	if err := os.Chmod(dir, mode); err != nil {
		return err
	}
	if rel := s.platform.app.SettingsFile(); rel != "" {
		path := filepath.Join(dir, rel)
		if err := os.Lchown(path, -1, gid); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("settings group: %w", err)
		}
		if err := os.Chmod(path, 0o440); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("settings mode: %w", err)
		}
	}
	dirs, _ := s.writableDirs()
	for _, d := range dirs {
		if err := writableTree(filepath.Join(dir, d), gid, t.log.Warnf); err != nil {
			return err
		}
	}
	if s.private != "" {
		// All of it is the site's to write: private files, temp, config sync.
		return writableTree(s.private, gid, t.log.Warnf)
	}
	return nil
}

// writableTree gives the web group write access to a tree: directories
// 02770 and files group-writable, skipping symlinks. The web server owns
// what PHP created (uploads), which aegir may not chown: those are left as
// they are when already right, and otherwise reported through warn.
func writableTree(root string, gid int, warn func(format string, args ...any)) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := 0o770 | fs.ModeSetgid
		if !d.IsDir() {
			mode = info.Mode().Perm() | 0o660
		}
		st, _ := info.Sys().(*syscall.Stat_t)
		if st != nil && int(st.Gid) == gid && info.Mode()&(fs.ModePerm|fs.ModeSetgid) == mode {
			return nil
		}
		if err := os.Lchown(path, -1, gid); errors.Is(err, fs.ErrPermission) {
			warn("cannot give %s to the web group: %v", path, err)
			return nil
		} else if err != nil {
			return fmt.Errorf("chgrp %s: %w", path, err)
		}
		if err := os.Chmod(path, mode); errors.Is(err, fs.ErrPermission) {
			warn("cannot make %s writable by the web group: %v", path, err)
			return nil
		} else if err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
		return nil
	})
}

func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, aegir.FieldErrorf("web_group", "group %q: %v", name, err)
	}
	return strconv.Atoi(g.Gid)
}
