package provision

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/drupal"
	"github.com/aegir-hosting/aegir/mediawiki"
	"github.com/aegir-hosting/aegir/phpapp"
	"github.com/aegir-hosting/aegir/wordpress"
)

// privateFixture is a Drupal site's directory on a platform and its
// private directory outside the root, under a temporary $AEGIR_HOME.
type privateFixture struct {
	t   *testing.T
	run *run
	s   *siteEnv
	in  string // sites/<uri>/private
}

func newPrivateFixture(t *testing.T) *privateFixture {
	t.Helper()
	dir := t.TempDir()
	paths := aegir.Paths{Home: filepath.Join(dir, "aegir")}
	if err := MakeHome(paths); err != nil {
		t.Fatal(err)
	}
	b := &Backend{Paths: paths}
	app := drupal.New(aegir.Env{})
	s := &siteEnv{
		site:     &aegir.Site{URI: "a.example"},
		platform: &platformInfo{name: "p", root: filepath.Join(dir, "p"), appName: "drupal", app: app},
		web:      &aegir.Server{},
		private:  privateDirOf(paths, app, "a.example"),
	}
	if s.private != paths.SitePrivate("a.example") {
		t.Fatalf("a Drupal site's private directory is %q", s.private)
	}
	f := &privateFixture{t: t, run: b.newRun(aegir.TaskOptions{}), s: s, in: filepath.Join(s.siteDir(), "private")}
	return f
}

func (f *privateFixture) write(path, content string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// has fails the test unless path holds content ("" for: is absent).
func (f *privateFixture) has(path, content string) {
	f.t.Helper()
	got, err := os.ReadFile(path)
	switch {
	case content == "" && err == nil:
		f.t.Errorf("%s exists", path)
	case content != "" && (err != nil || string(got) != content):
		f.t.Errorf("%s: %q, %v; want %q", path, got, err, content)
	}
}

// strays lists what a recovery set aside beside the private directories.
func (f *privateFixture) strays() []string {
	got, _ := filepath.Glob(filepath.Join(filepath.Dir(f.s.private), strayPrefix+"*"))
	return got
}

func TestOnlyAppsThatSaySoKeepTheirPrivateDirOutsideTheRoot(t *testing.T) {
	t.Parallel()
	paths := aegir.Paths{Home: "/srv/aegir"}
	for name, app := range map[string]aegir.App{
		"phpapp": phpapp.New(aegir.Env{}), "wordpress": wordpress.New(aegir.Env{}), "mediawiki": mediawiki.New(aegir.Env{}),
	} {
		if got := privateDirOf(paths, app, "a.example"); got != "" {
			t.Errorf("%s: private directory %q, want none", name, got)
		}
	}
	f := newPrivateFixture(t)
	site, private := f.s.writableDirs()
	if !slices.Equal(site, []string{"files"}) || !slices.Equal(private, []string{".", "temp", "config/sync"}) {
		t.Errorf("writable dirs: site %v, private %v", site, private)
	}
	if got, want := f.s.tempDir(), filepath.Join(f.s.private, "temp"); got != want {
		t.Errorf("temp dir %s, want %s", got, want)
	}
	if got := f.s.appSite().PrivateDir; got != f.s.private {
		t.Errorf("AppSite.PrivateDir = %q", got)
	}
}

func TestSiteDirectoriesMakeThePrivateDirOutsideTheRoot(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t)
	if err := f.run.siteDirectories(f.s); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(f.s.siteDir(), "files"), f.s.private, f.s.private + "/config/sync", f.s.private + "/temp"} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if _, err := os.Lstat(f.in); err == nil {
		t.Errorf("%s was made in the root", f.in)
	}
	if st, err := os.Stat(filepath.Dir(f.s.private)); err != nil || st.Mode().Perm() != 0o711 {
		t.Errorf("%s: %v, %v; want 0711", filepath.Dir(f.s.private), st.Mode(), err)
	}
}

func TestMovePrivateOutMovesTheDirInTheRootOutAndItsUndoBack(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t)
	f.write(filepath.Join(f.in, "x.txt"), "x")
	undo, err := f.run.movePrivateOut(f.s)
	if err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(f.s.private, "x.txt"), "x")
	f.has(filepath.Join(f.in, "x.txt"), "")
	if err := undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(f.in, "x.txt"), "x")
	f.has(filepath.Join(f.s.private, "x.txt"), "")
}

func TestMovePrivateOutRefusesTwoCopiesWithFilesAndDropsAnEmptyOne(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t)
	f.write(filepath.Join(f.in, "in.txt"), "in")
	f.write(filepath.Join(f.s.private, "out.txt"), "out")
	if _, err := f.run.movePrivateOut(f.s); aegir.ErrorCode(err) != aegir.ECONFLICT {
		t.Fatalf("two copies with files: %v, want ECONFLICT", err)
	}
	f.has(filepath.Join(f.in, "in.txt"), "in")
	f.has(filepath.Join(f.s.private, "out.txt"), "out")

	// Only empty directories inside (what sites of before had: temp,
	// config/sync): removed.
	os.RemoveAll(f.in)
	if err := os.MkdirAll(filepath.Join(f.in, "config", "sync"), 0o770); err != nil {
		t.Fatal(err)
	}
	if _, err := f.run.movePrivateOut(f.s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(f.in); err == nil {
		t.Error("the empty private directory in the root is still there")
	}
	f.has(filepath.Join(f.s.private, "out.txt"), "out")
}

func TestMovePrivateOutPutsBackTheNewestCopySetAside(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t)
	f.write(filepath.Join(f.s.private+".old-100", "x.txt"), "older")
	f.write(filepath.Join(f.s.private+".old-200", "x.txt"), "newer")
	if _, err := f.run.movePrivateOut(f.s); err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(f.s.private, "x.txt"), "newer")
}

// TestMovePrivateInRecordsEachMoveAndItsUndoPutsTheOldCopyBack swaps a
// deploy's private/ in over the site's private directory, checks the
// record says both moves, and undoes it.
func TestMovePrivateInRecordsEachMoveAndItsUndoPutsTheOldCopyBack(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t)
	f.write(filepath.Join(f.s.private, "x.txt"), "old")
	f.write(filepath.Join(f.in, "x.txt"), "new")
	d := &deployment{target: f.s, record: f.record()}
	undo, err := f.run.movePrivateIn(d)
	if err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(f.s.private, "x.txt"), "new")
	f.has(filepath.Join(d.privateRetired, "x.txt"), "old")
	f.has(filepath.Join(f.in, "x.txt"), "")
	rec := f.readRecord(d.record)
	if rec.PrivateAside != d.privateRetired || !rec.PrivateMoved {
		t.Errorf("record %+v, want the private directory set aside at %s and moved", rec, d.privateRetired)
	}
	if err := undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(f.s.private, "x.txt"), "old")
	if left, _ := filepath.Glob(f.s.private + ".old-*"); len(left) > 0 {
		t.Errorf("left %v", left)
	}
}

// TestUndoPrivatePutsTheSiteBackWhereverADeployStopped plays a deploy
// that died at each point of movePrivateIn and checks that the recovery
// leaves the site's private files in its private directory, and the
// copy's set aside, never lost.
func TestUndoPrivatePutsTheSiteBackWhereverADeployStopped(t *testing.T) {
	t.Parallel()
	for _, point := range []string{"aside recorded", "set aside", "move recorded", "moved"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			f := newPrivateFixture(t)
			f.write(filepath.Join(f.s.private, "x.txt"), "site")
			f.write(filepath.Join(f.in, "x.txt"), "copy")
			rec := taskRecord{NewURI: f.s.site.URI, Site: f.s.site.URI, PrivateAside: f.s.private + ".old-1"}
			if point != "aside recorded" {
				if err := os.Rename(f.s.private, rec.PrivateAside); err != nil {
					t.Fatal(err)
				}
			}
			if point == "move recorded" || point == "moved" {
				rec.PrivateMoved = true
			}
			if point == "moved" {
				if err := os.Rename(f.in, f.s.private); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.run.undoPrivate(rec); err != nil {
				t.Fatal(err)
			}
			f.has(filepath.Join(f.s.private, "x.txt"), "site")
			if _, err := os.Lstat(rec.PrivateAside); err == nil {
				t.Error("the copy set aside is still aside")
			}
			if strays := f.strays(); point == "moved" && len(strays) != 1 {
				t.Errorf("strays %v, want the deploy's copy set aside", strays)
			}
		})
	}
}

// TestFinishPrivateSetsAsideWhatACommittedDeployLeft checks that the
// recovery of a migrate to a new name that committed sets aside the
// target's replaced copy and the old name's private directory, and keeps
// the new one's.
func TestFinishPrivateSetsAsideWhatACommittedDeployLeft(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t)
	newDir := f.run.b.Paths.SitePrivate("b.example")
	f.write(filepath.Join(newDir, "x.txt"), "new")
	f.write(filepath.Join(newDir+".old-1", "x.txt"), "replaced")
	f.write(filepath.Join(f.s.private, "x.txt"), "old name")
	rec := taskRecord{Task: aegir.TaskMigrate, Site: "a.example", NewURI: "b.example", PrivateAside: newDir + ".old-1"}
	if err := f.run.finishPrivate(context.Background(), rec, true, nil); err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(newDir, "x.txt"), "new")
	f.has(filepath.Join(newDir+".old-1", "x.txt"), "")
	f.has(filepath.Join(f.s.private, "x.txt"), "")
	if strays := f.strays(); len(strays) != 2 {
		t.Errorf("strays %v, want the two old copies", strays)
	}
}

func TestSetAsidePrivateAndItsUndo(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t)
	f.write(filepath.Join(f.s.private, "x.txt"), "x")
	undo, err := f.run.setAsidePrivate(f.s, false)
	if err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(f.s.private, "x.txt"), "x") // a migrate under the same name keeps it
	undo(context.Background())
	if undo, err = f.run.setAsidePrivate(f.s, true); err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(f.s.private, "x.txt"), "")
	f.has(filepath.Join(f.s.privateAside, "x.txt"), "x")
	if err := undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(f.s.private, "x.txt"), "x")
}

// record opens a task record for the fixture's site, as beginRecord does.
func (f *privateFixture) record() *recordFile {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Join(f.s.platform.root, "sites"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	path := recordPath(f.s.platform.root, f.s.site.URI)
	file, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { file.Close() })
	return &recordFile{path: path, f: file}
}

func (f *privateFixture) readRecord(r *recordFile) taskRecord {
	f.t.Helper()
	data, err := os.ReadFile(r.path)
	if err != nil {
		f.t.Fatal(err)
	}
	var rec taskRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// TestASiteNotYetMovedOutIsArchivedAndCopiedAsItIs checks that a site
// whose private directory is still in its site directory (not verified
// since) gets no graft, so its backup and copies keep its private/, and
// that one moved out is archived and copied from outside the root.
func TestASiteNotYetMovedOutIsArchivedAndCopiedAsItIs(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t)
	f.write(filepath.Join(f.in, "x.txt"), "in the root")
	if g := f.s.privateGrafts(); g != nil {
		t.Errorf("grafts %v for a site with no private directory outside the root", g)
	}
	staging := filepath.Join(t.TempDir(), "staging")
	if err := os.Mkdir(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyPrivate(context.Background(), f.s, staging); err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(staging, "private", "x.txt"), "")

	f.write(filepath.Join(f.s.private, "x.txt"), "outside")
	if g := f.s.privateGrafts(); len(g) != 1 || g[0] != (aegir.Graft{Name: "private", Dir: f.s.private}) {
		t.Errorf("grafts %v", g)
	}
	if err := copyPrivate(context.Background(), f.s, staging); err != nil {
		t.Fatal(err)
	}
	f.has(filepath.Join(staging, "private", "x.txt"), "outside")
}
