package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// A site of an app that keeps its private directory outside the platform's
// root (aegir.PrivateDirApp: Drupal) has it at $AEGIR_HOME/private/<uri>:
// what the app lists under "private" in its WritableDirs lives there. A
// backup still holds it as private/ inside the site directory, so every
// unpack (restore, deploy, migrate, clone) moves that private/ out of the
// copy it swaps in, and backups made before the move restore into the new
// place. See docs/apps.md, "Private files and the config sync directory".

// privateName is the private directory's name inside a site directory and
// inside a backup.
const privateName = "private"

// privateDirOf is the private directory outside the root of a site of app
// named uri; "" when the app keeps it in the site directory.
func privateDirOf(paths aegir.Paths, app aegir.App, uri string) string {
	if p, ok := app.(aegir.PrivateDirApp); ok && p.PrivateOutsideRoot() {
		return paths.SitePrivate(uri)
	}
	return ""
}

// writableDirs splits the app's WritableDirs into those under the site
// directory and those under the private directory outside the root
// (relative to it, "." for itself); without one, all are the site's.
func (s *siteEnv) writableDirs() (site, private []string) {
	for _, d := range s.platform.app.WritableDirs() {
		if s.private != "" && (d == privateName || strings.HasPrefix(d, privateName+"/")) {
			rel, _ := filepath.Rel(privateName, d)
			private = append(private, rel)
			continue
		}
		site = append(site, d)
	}
	return site, private
}

// privateDirectories creates the private directory outside the root and
// its writable directories, and $AEGIR_HOME/private (0711: traversable,
// not listable) when missing.
func (t *run) privateDirectories(s *siteEnv) error {
	if s.private == "" {
		return nil
	}
	if err := makePrivateParent(s.private); err != nil {
		return err
	}
	_, dirs := s.writableDirs()
	for _, d := range append([]string{"."}, dirs...) {
		if err := os.MkdirAll(filepath.Join(s.private, d), 0o770); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Join(s.private, d), err)
		}
	}
	return nil
}

// makePrivateParent creates the directory that holds the sites' private
// directories, 0711, when it is missing.
func makePrivateParent(private string) error {
	parent := filepath.Dir(private)
	if err := os.Mkdir(parent, 0o711); errors.Is(err, fs.ErrExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("create %s: %w", parent, err)
	}
	return os.Chmod(parent, 0o711)
}

// privateDirStep, "private directory", moves a site's private directory
// out of its site directory (movePrivateOut), under verify and import; its
// undo moves it back.
func (t *run) privateDirStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "private directory", Do: func(ctx context.Context) (aegir.Undo, error) {
		return t.movePrivateOut(s)
	}}
}

// movePrivateOut moves sites/<uri>/private to the site's private directory
// outside the root: a site made before it had one, or imported. When both
// exist, an inside one holding nothing but empty directories is removed,
// and one holding files is an ECONFLICT error: which one is right is for a
// person to say. With neither, the newest private directory a task that
// stopped had set aside (<dir>.old-<time>) is put back.
func (t *run) movePrivateOut(s *siteEnv) (aegir.Undo, error) {
	if s.private == "" {
		return nil, nil
	}
	in := filepath.Join(s.siteDir(), privateName)
	st, err := os.Lstat(in)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, t.putBackPrivate(s.private)
	} else if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		t.log.Warnf("%s is not a directory: left as it is", in)
		return nil, nil
	}
	if _, err := os.Lstat(s.private); err == nil {
		empty, err := holdsNoFiles(in)
		if err != nil {
			return nil, err
		}
		if !empty {
			return nil, aegir.Errorf(aegir.ECONFLICT, "both %s and %s hold private files of %s: keep one (move what you need into %s and remove %s), then verify again", in, s.private, s.site.URI, s.private, in)
		}
		t.log.Infof("removed %s, which held no files: the private files are in %s", in, s.private)
		return nil, os.RemoveAll(in)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := makePrivateParent(s.private); err != nil {
		return nil, err
	}
	if err := os.Rename(in, s.private); err != nil {
		return nil, fmt.Errorf("move %s out of the root: %w", in, err)
	}
	t.log.Infof("moved the private files of %s out of the root: %s", s.site.URI, s.private)
	return func(context.Context) error { return os.Rename(s.private, in) }, nil
}

// putBackPrivate puts back the newest private directory set aside at
// <private>.old-<time>, when private is missing: a delete or a deploy that
// stopped between setting it aside and its end.
func (t *run) putBackPrivate(private string) error {
	if _, err := os.Lstat(private); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	old, _ := filepath.Glob(private + ".old-*")
	if len(old) == 0 {
		return nil
	}
	sort.Strings(old)
	if err := os.Rename(old[len(old)-1], private); err != nil {
		return err
	}
	t.log.Warnf("put back %s, which a task that stopped had set aside", private)
	return nil
}

// holdsNoFiles reports whether the tree at dir holds directories only.
func holdsNoFiles(dir string) (bool, error) {
	empty := true
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			empty = false
			return fs.SkipAll
		}
		return nil
	})
	return empty, err
}

// movePrivateIn is the second half of a deploy's swap: it moves the
// private/ of the directory just swapped in to the target's private
// directory outside the root, setting aside the one there
// (<dir>.old-<time>, removed by the cleanup). The record says each move
// before it is made, so a recovery knows which copy is where
// (record.go: undoPrivate, finishPrivate). The undo removes the copy moved
// in and puts back the one set aside.
func (t *run) movePrivateIn(d *deployment) (aegir.Undo, error) {
	s := d.target
	if s.private == "" {
		return nil, nil
	}
	if err := makePrivateParent(s.private); err != nil {
		return nil, err
	}
	aside := ""
	if _, err := os.Lstat(s.private); err == nil {
		aside = fmt.Sprintf("%s.old-%d", s.private, time.Now().UnixNano())
		if err := d.record.update(func(r *taskRecord) { r.PrivateAside = aside }); err != nil {
			return nil, err
		}
		if err := os.Rename(s.private, aside); err != nil {
			return nil, fmt.Errorf("set aside %s: %w", s.private, err)
		}
		d.privateRetired = aside
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	putBack := func() error {
		if aside == "" {
			return nil
		}
		d.privateRetired = ""
		return os.Rename(aside, s.private)
	}
	if err := d.record.update(func(r *taskRecord) { r.PrivateMoved = true }); err != nil {
		return nil, errors.Join(err, putBack())
	}
	in := filepath.Join(s.siteDir(), privateName)
	if _, err := os.Lstat(in); err == nil {
		if err := os.Rename(in, s.private); err != nil {
			return nil, errors.Join(fmt.Errorf("move %s out of the root: %w", in, err), putBack())
		}
		t.log.Infof("moved the private files of %s to %s", s.site.URI, s.private)
	}
	return func(context.Context) error {
		if err := os.RemoveAll(s.private); err != nil {
			return err
		}
		return putBack()
	}, nil
}

// removePrivate removes a private directory outside the root that a task
// is done with (set aside, or the deleted site's), given back to aegir
// first when the site had its own pool; a missing one is no error.
func (t *run) removePrivate(ctx context.Context, web *aegir.Server, uri, dir string) error {
	if dir == "" {
		return nil
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	t.giveBackPrivate(ctx, web, uri, dir)
	return os.RemoveAll(dir)
}

// giveBackPrivate is giveBack for a private directory outside the root,
// which stays writable by the site's PHP itself (the helper keeps a site
// directory 02750 otherwise).
func (t *run) giveBackPrivate(ctx context.Context, web *aegir.Server, uri, dir string) {
	if !web.PHPFPMPools || t.b.SiteUsers == nil {
		return
	}
	if err := t.b.SiteUsers.Own(ctx, aegir.SiteUser(uri), dir, []string{"."}); err != nil {
		t.log.Warnf("give %s back to aegir: %v", dir, err)
	}
}

// privateGrafts are the grafts that put the site's private directory
// outside the root into its backup as private/. A site not verified since
// its app moved it out has none yet: its sites/<uri>/private is archived
// as it is.
func (s *siteEnv) privateGrafts() []aegir.Graft {
	if !s.privateOutside() {
		return nil
	}
	return []aegir.Graft{{Name: privateName, Dir: s.private}}
}

// privateOutside reports whether the site has its private directory
// outside the root on disk.
func (s *siteEnv) privateOutside() bool {
	if s.private == "" {
		return false
	}
	_, err := os.Lstat(s.private)
	return err == nil
}

// archiveSite writes the site directory dir, with the private directory
// outside the root as private/, into a new archive at path: at the
// fastest level when quick.
func (t *run) archiveSite(ctx context.Context, path, dir string, grafts []aegir.Graft, quick bool) (*aegir.ArchiveInfo, error) {
	if len(grafts) > 0 {
		ga, ok := t.b.Archiver.(aegir.GraftArchiver)
		if !ok {
			return nil, aegir.Errorf(aegir.EINTERNAL, "the archiver cannot hold a private directory outside the root")
		}
		return ga.CreateGrafted(ctx, path, dir, quick, grafts...)
	}
	if qa, ok := t.b.Archiver.(aegir.QuickArchiver); ok && quick {
		return qa.CreateQuick(ctx, path, dir)
	}
	return t.b.Archiver.Create(ctx, path, dir)
}

// copyPrivate copies the source's private directory outside the root into
// the staging copy of its site directory, as private/, where an unpacked
// backup has it.
func copyPrivate(ctx context.Context, s *siteEnv, staging string) error {
	if !s.privateOutside() {
		return nil
	}
	return copyTree(ctx, s.private, filepath.Join(staging, privateName))
}

// setAsidePrivate sets aside the private directory outside the root of a
// site that goes (<dir>.old-<time>, at s.privateAside) when it does;
// the undo puts it back.
func (t *run) setAsidePrivate(s *siteEnv, does bool) (aegir.Undo, error) {
	none := func(context.Context) error { return nil }
	if !does || s.private == "" {
		return none, nil
	}
	if _, err := os.Lstat(s.private); errors.Is(err, fs.ErrNotExist) {
		return none, nil
	}
	aside := fmt.Sprintf("%s.old-%d", s.private, time.Now().UnixNano())
	if err := os.Rename(s.private, aside); err != nil {
		return nil, fmt.Errorf("set aside %s: %w", s.private, err)
	}
	s.privateAside = aside
	return func(context.Context) error {
		s.privateAside = ""
		return os.Rename(aside, s.private)
	}, nil
}

// undoPrivate puts the target's private directory outside the root back
// as it was before a deploy that stopped uncommitted (movePrivateIn): the
// copy it had moved in set aside, the one it had set aside put back. The
// record says each move before it is made, so the order of the moves tells
// which copy is where.
func (t *run) undoPrivate(rec taskRecord) error {
	private := t.b.Paths.SitePrivate(rec.NewURI)
	if rec.PrivateMoved {
		if err := t.setAside([]string{private}, rec.NewURI); err != nil {
			return err
		}
	}
	if rec.PrivateAside == "" {
		return nil
	}
	if _, err := os.Lstat(rec.PrivateAside); errors.Is(err, fs.ErrNotExist) {
		return nil // never set aside: the one in place is the site's
	} else if err != nil {
		return err
	}
	if _, err := os.Lstat(private); err == nil {
		return nil
	}
	if err := os.Rename(rec.PrivateAside, private); err != nil {
		return err
	}
	t.log.Warnf("put back %s, which the task had set aside", private)
	return nil
}

// finishPrivate does what a committed deploy's cleanup had left of the
// private directories outside the root: the target's old one set aside
// (movePrivateIn) and, when sourceGone (a migrate under a new name), the
// old name's, wherever it is.
func (t *run) finishPrivate(ctx context.Context, rec taskRecord, sourceGone bool, web *aegir.Server) error {
	if rec.PrivateAside != "" {
		if err := t.setAside([]string{rec.PrivateAside}, rec.NewURI); err != nil {
			return err
		}
	}
	if !sourceGone {
		return nil
	}
	src := t.b.Paths.SitePrivate(rec.Site)
	old, _ := filepath.Glob(src + ".old-*")
	dirs := append([]string{src}, old...)
	if web != nil {
		// The old name's Unix user goes: what its PHP made is aegir's first.
		for _, dir := range dirs {
			if _, err := os.Lstat(dir); err == nil {
				t.giveBackPrivate(ctx, web, rec.Site, dir)
			}
		}
	}
	return t.setAside(dirs, rec.Site)
}
