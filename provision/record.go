package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/aegir-hosting/aegir"
)

// recordPrefix names the record a deploy (restore, deploy, migrate, clone)
// keeps beside its source site's directory while it runs:
// sites/.aegir-task-<uri>, a dot name no web server serves.
const recordPrefix = ".aegir-task-"

// taskRecord is what a deploy has made or moved that a crash would leave
// behind: written first, again with its new database's name before that is
// created, again before it changes the data it brought, and marked
// committed before its irreversible cleanup. A task that dies
// runs no undo; the next verify of the site, or of its new name, reads the
// record (recoverRecords) and either puts the site back as it was or,
// once the task got past its commit point, finishes the task's cleanup.
type taskRecord struct {
	Task string `json:"task"`
	// Site is the source site on SourcePlatform; NewURI the target's name,
	// the site's own but for a clone or a migrate under a new name, on
	// Platform.
	Site           string `json:"site"`
	SourcePlatform string `json:"source_platform"`
	NewURI         string `json:"new_uri"`
	Platform       string `json:"platform"`
	// From is the source's database on DBServer, To the target's new one
	// on TargetDBServer, once named.
	From           string `json:"from,omitempty"`
	DBServer       string `json:"db_server,omitempty"`
	To             string `json:"to,omitempty"`
	TargetDBServer string `json:"target_db_server,omitempty"`
	// DataChanged: the deploy was about to change the data it brought
	// (the app's update, a URI rewrite): tables moved back need the dump
	// taken before the move imported over them.
	DataChanged bool `json:"data_changed,omitempty"`
	// Shared: a migrate whose target keeps the source's database From
	// (sharesDatabase); it made none, and had committed once the site's
	// context names Platform.
	Shared bool `json:"shared,omitempty"`
	// Committed: the cleanup had begun, so only going on makes sense.
	Committed bool `json:"committed,omitempty"`
	// PrivateAside is where the deploy was about to set aside the
	// target's private directory outside the root, PrivateMoved that it
	// was about to move its copy's private/ there (movePrivateIn).
	PrivateAside string `json:"private_aside,omitempty"`
	PrivateMoved bool   `json:"private_moved,omitempty"`
}

// recordFile is a task's open record. The task holds an exclusive flock
// on it while it runs, which the kernel drops when the process dies: a
// verify takes only the records nobody holds.
type recordFile struct {
	path string
	f    *os.File
	rec  taskRecord
}

func recordPath(platformRoot, uri string) string {
	return filepath.Join(platformRoot, "sites", recordPrefix+uri)
}

// beginRecord writes the record of deployment d, before it changes
// anything, and holds it until the task ends (releaseRecords).
func (t *run) beginRecord(d *deployment) error {
	src, target := d.source, d.target
	path := recordPath(src.platform.root, src.site.URI)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("record the task: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return aegir.Errorf(aegir.ECONFLICT, "another task is under way on @%s (%s is held)", src.site.URI, path)
	}
	// A verify may have removed an empty one between the open and the lock.
	held, err1 := f.Stat()
	now, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		f.Close()
		return aegir.Errorf(aegir.ECONFLICT, "%s changed while the task took it: try again", path)
	}
	// A record nobody holds is a task's that died: what it says would be
	// lost under this one's.
	if held.Size() > 0 {
		f.Close()
		return aegir.Errorf(aegir.ECONFLICT, "a task on @%s stopped before it ended (%s): run aegir verify @%s first", src.site.URI, path, src.site.URI)
	}
	d.record = &recordFile{path: path, f: f, rec: taskRecord{
		Task: t.task, Site: src.site.URI, SourcePlatform: "@" + src.platform.name,
		NewURI: target.site.URI, Platform: "@" + target.platform.name,
		From: src.site.DBName, DBServer: aegir.ContextName(src.site.DBServer),
		TargetDBServer: aegir.ContextName(target.site.DBServer),
	}}
	t.records = append(t.records, d.record)
	return d.record.write()
}

// update changes the record and writes it in place, synced, so it is on
// disk before what it announces.
func (r *recordFile) update(fn func(*taskRecord)) error {
	if r == nil {
		return nil
	}
	fn(&r.rec)
	return r.write()
}

// write writes the record over the previous one, then cuts what is left
// of that: a reader decodes the first JSON value, so whenever the process
// dies the file holds one record or the other, never none.
func (r *recordFile) write() error {
	data, err := json.Marshal(r.rec)
	if err != nil {
		return err
	}
	_, err = r.f.WriteAt(data, 0)
	if err == nil {
		err = r.f.Truncate(int64(len(data)))
	}
	if err == nil {
		err = r.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", r.path, err)
	}
	return nil
}

// end removes the record: the task is over, or undone.
func (r *recordFile) end() error {
	if r == nil || r.f == nil {
		return nil
	}
	err := removeIfExists(r.path)
	r.f.Close()
	r.f = nil
	return err
}

// releaseRecords lets go of the records of a task that ends: the ones
// still on disk are for a verify to read.
func (t *run) releaseRecords() {
	for _, r := range t.records {
		if r.f != nil {
			r.f.Close()
			r.f = nil
		}
	}
}

// recoverRecords is verify's first step: it reads the records of the tasks
// that died on the site s, as their source or under its new name (a clone,
// a migrate under a new name), on any platform, and recovers each. It
// reports whether that retired s: a migrate to a new name had moved it.
func (t *run) recoverRecords(ctx context.Context, s *siteEnv) (retired bool, err error) {
	platforms, err := t.b.Contexts.List(ctx, aegir.PlatformContext)
	if err != nil {
		return false, err
	}
	var errs []error
	for _, p := range platforms {
		paths, err := filepath.Glob(filepath.Join(p.Platform.Root, "sites", recordPrefix+"*"))
		if err != nil {
			return false, err
		}
		for _, path := range paths {
			gone, err := t.recoverRecord(ctx, s, path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
			}
			retired = retired || gone
		}
	}
	if retired {
		return true, errors.Join(errs...)
	}
	// The record of an aegir of before, beside the site's directory.
	if err := t.recoverLegacyRecord(ctx, s); err != nil {
		errs = append(errs, err)
	}
	return false, errors.Join(errs...)
}

// openRecord opens a record nobody holds; nil when a live task holds it,
// or it is gone.
func openRecord(path string) (*recordFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, nil
	}
	// The task may have ended and removed it meanwhile.
	held, err1 := f.Stat()
	now, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		f.Close()
		return nil, nil
	}
	r := &recordFile{path: path, f: f}
	if err := json.NewDecoder(f).Decode(&r.rec); err != nil {
		// Written in full before anything it announces: a record that
		// cannot be read announced nothing yet.
		r.rec = taskRecord{}
	}
	return r, nil
}

// recoverRecord recovers the task of one record, when it concerns s. The
// task had committed when the target's context names the database the
// task made (or the record says it had begun its cleanup): then the
// cleanup is finished; otherwise the task is undone. Either way what could
// be anyone's copy is set aside, never deleted, and the record goes once
// it is done. It reports whether that retired s.
func (t *run) recoverRecord(ctx context.Context, s *siteEnv, path string) (retired bool, err error) {
	r, err := openRecord(path)
	if err != nil || r == nil {
		return false, err
	}
	defer r.end()
	rec := r.rec
	if rec.Site == "" && filepath.Base(path) != recordPrefix+s.site.URI {
		r.f.Close() // unread: its site's own verify removes it
		r.f = nil
		return false, nil
	} else if rec.Site == "" {
		return false, nil
	}
	if rec.Site != s.site.URI && rec.NewURI != s.site.URI {
		r.f.Close() // another site's: left for its own verify
		r.f = nil
		return false, nil
	}
	sourceRoot := filepath.Dir(filepath.Dir(path))
	target, err := t.contextOrNil(ctx, rec.NewURI)
	if err != nil {
		return false, err
	}
	committed := rec.Committed || rec.To != "" && target != nil && target.Site != nil && target.Site.DBName == rec.To ||
		rec.Shared && target != nil && target.Site != nil && aegir.ContextName(target.Site.Platform) == aegir.ContextName(rec.Platform)
	// What the task had sent before it died may still run on the db
	// server (a RENAME TABLE, the DROP DATABASE of an emptied one): the
	// recovery waits for it rather than race it.
	if err := t.waitIdle(ctx, rec.DBServer, rec.From, rec.To); err != nil {
		r.f.Close()
		r.f = nil
		return false, err
	}
	if err := t.waitIdle(ctx, rec.TargetDBServer, rec.To); err != nil {
		r.f.Close()
		r.f = nil
		return false, err
	}
	t.log.Warnf("@%s: a %s of @%s that stopped left %s: %s", s.site.URI, rec.Task, rec.Site, path,
		map[bool]string{true: "finishing it", false: "undoing it"}[committed])
	if committed {
		err = t.finishTask(ctx, rec, sourceRoot)
	} else {
		err = t.undoTask(ctx, rec, target, sourceRoot)
	}
	if err != nil {
		// Kept for the next verify.
		r.f.Close()
		r.f = nil
		return false, err
	}
	retired = committed && rec.Task == aegir.TaskMigrate && rec.Site == s.site.URI && rec.NewURI != rec.Site
	if retired {
		t.log.Warnf("@%s is @%s now: verify @%s", rec.Site, rec.NewURI, rec.NewURI)
	}
	return retired, nil
}

// finishTask does what a committed task's cleanup had left: the source's
// old copies set aside, its database dropped when no site names it, and,
// for a migrate under a new name, the source's vhost, php-fpm pool,
// context and Unix user removed.
func (t *run) finishTask(ctx context.Context, rec taskRecord, sourceRoot string) error {
	renamed := rec.NewURI != rec.Site
	var retiredWeb *aegir.Server // the web server of a source retired here
	if renamed && rec.Task == aegir.TaskMigrate {
		src, err := t.contextOrNil(ctx, rec.Site)
		if err != nil {
			return err
		}
		if src != nil {
			if retiredWeb, err = t.retireSource(ctx, src); err != nil {
				return err
			}
		} else if rec.SourcePlatform != "" {
			// Retired already (vhost, pool, context): its Unix user is left.
			p, err := t.typed(ctx, rec.SourcePlatform, aegir.PlatformContext)
			if err != nil {
				return err
			}
			if retiredWeb, _, err = t.httpService(ctx, p.WithDefaults().Platform.WebServer); err != nil {
				return err
			}
		}
	}
	srcDir := filepath.Join(sourceRoot, "sites", rec.Site)
	current, err := t.siteDirOf(ctx, rec.Site)
	if err != nil {
		return err
	}
	if !renamed && rec.Task == aegir.TaskMigrate {
		// Moved to another web server: the old one's vhost goes.
		if err := t.removeVhostElsewhere(ctx, rec.Site, rec.SourcePlatform, rec.Platform); err != nil {
			return err
		}
	}
	var dirs []string
	if current != srcDir {
		dirs = append(dirs, srcDir)
	} else {
		removeIfExists(filepath.Join(srcDir, dumpFile))
	}
	old, _ := filepath.Glob(srcDir + ".old-*")
	dirs = append(dirs, old...)
	if retiredWeb != nil {
		// The old name's Unix user goes: what its PHP made is aegir's first.
		for _, dir := range dirs {
			t.giveBack(ctx, retiredWeb, rec.Site, dir)
		}
	}
	if err := t.setAside(dirs, rec.Site); err != nil {
		return err
	}
	if current != srcDir && rec.SourcePlatform != "" {
		// The old web server's copy, when remote, goes too: the site is
		// served from one place.
		if err := t.removeSiteDirOn(ctx, rec.SourcePlatform, srcDir); err != nil {
			return err
		}
	}
	if err := t.finishPrivate(ctx, rec, renamed && rec.Task == aegir.TaskMigrate && current != srcDir, retiredWeb); err != nil {
		return err
	}
	if retiredWeb != nil {
		if err := t.dropSiteUser(ctx, retiredWeb, rec.Site); err != nil {
			return err
		}
	}
	return t.dropUnnamed(ctx, rec.DBServer, rec.From)
}

// undoTask puts the source site back as it was before the task: tables
// moved back, the target's copy set aside (and a directory the task had
// set aside put back in its place), its vhost and database removed.
func (t *run) undoTask(ctx context.Context, rec taskRecord, target *aegir.Context, sourceRoot string) error {
	platform, err := t.typed(ctx, rec.Platform, aegir.PlatformContext)
	if err != nil {
		return err
	}
	dir := filepath.Join(platform.Platform.Root, "sites", rec.NewURI)
	moved, err := t.moveBack(ctx, rec)
	if err != nil {
		return err
	}
	if (moved || rec.Shared) && rec.DataChanged {
		// As the undo of the move: the task had changed the data it moved
		// (a URI rewrite to the new name, the app's update).
		if err := t.reimport(ctx, rec, filepath.Join(sourceRoot, "sites", rec.Site, dumpFile)); err != nil {
			return err
		}
	}
	renamed := rec.NewURI != rec.Site
	switch {
	case renamed && target != nil:
		// A site of that name the task did not make: not its to undo.
	case renamed:
		// The new name's vhost and php-fpm pool go, and its Unix user once
		// its copy is set aside.
		web, err := t.unserve(ctx, platform, rec.NewURI)
		if err != nil {
			return err
		}
		t.giveBack(ctx, web, rec.NewURI, dir)
		if err := t.setAside([]string{dir, dir + restoreSuffix}, rec.NewURI); err != nil {
			return err
		}
		if err := t.dropSiteUser(ctx, web, rec.NewURI); err != nil {
			return err
		}
	default:
		// A migrate to another web server wrote the site's vhost there,
		// and pushed its directory.
		if err := t.removeVhostElsewhere(ctx, rec.Site, rec.Platform, rec.SourcePlatform); err != nil {
			return err
		}
		if rec.Task == aegir.TaskMigrate && rec.Platform != rec.SourcePlatform {
			if err := t.removeSiteDirOn(ctx, rec.Platform, dir); err != nil {
				return err
			}
		}
		// A restore swaps the site's directory out (<dir>.old-<time>)
		// before it brings its copy in: the newest one goes back.
		old, _ := filepath.Glob(dir + ".old-*")
		sort.Strings(old)
		current, err := t.siteDirOf(ctx, rec.NewURI)
		if err != nil {
			return err
		}
		aside := []string{dir + restoreSuffix}
		if current != dir || len(old) > 0 {
			aside = append(aside, dir)
		}
		if err := t.setAside(aside, rec.NewURI); err != nil {
			return err
		}
		if current == dir && len(old) > 0 {
			if err := os.Rename(old[len(old)-1], dir); err != nil {
				return err
			}
			t.log.Warnf("put back %s, which the task had set aside", dir)
			removeIfExists(filepath.Join(dir, dumpFile))
		}
	}
	if !renamed || target == nil {
		if err := t.undoPrivate(rec); err != nil {
			return err
		}
	}
	if src, err := t.siteDirOf(ctx, rec.Site); err == nil && src != "" {
		removeIfExists(filepath.Join(src, dumpFile))
	}
	return t.dropUnnamed(ctx, rec.TargetDBServer, rec.To)
}

// moveBack moves the tables a migrate moved into its new database back
// into the source's, when the source's is gone or empty and the new one
// holds them: the source's context still names it. It reports whether it
// moved them.
func (t *run) moveBack(ctx context.Context, rec taskRecord) (bool, error) {
	if rec.From == "" || rec.To == "" || rec.DBServer != rec.TargetDBServer || rec.DBServer == "" {
		return false, nil
	}
	_, db, err := t.dbService(ctx, rec.DBServer)
	if err != nil {
		return false, err
	}
	mover, ok := db.(aegir.TableMover)
	if !ok {
		return false, nil
	}
	to, err := databaseHolds(ctx, db, rec.To)
	if err != nil || !to {
		return false, err
	}
	from, err := databaseHolds(ctx, db, rec.From)
	if err != nil || from {
		return false, err
	}
	if _, err := mover.MoveTables(ctx, rec.To, rec.From); err != nil {
		return false, fmt.Errorf("move back the tables a stopped %s moved into %s: %w", rec.Task, rec.To, err)
	}
	t.log.Warnf("moved the tables of %s back into %s: a %s had stopped after moving them", rec.To, rec.From, rec.Task)
	return true, nil
}

// reimport imports the dump a migrate took before it moved the tables
// over the tables moved back.
func (t *run) reimport(ctx context.Context, rec taskRecord, dump string) error {
	_, db, err := t.dbService(ctx, rec.DBServer)
	if err != nil {
		return err
	}
	if err := importFile(ctx, db, rec.From, dump); err != nil {
		return fmt.Errorf("the tables moved back hold what the stopped %s changed, and the dump taken before the move cannot be imported: %w", rec.Task, err)
	}
	t.log.Warnf("imported %s into %s: the stopped %s had changed the data it moved", dump, rec.From, rec.Task)
	return nil
}

// waitIdle waits until the db server runs no statement of another
// connection on the databases names, when its service can tell.
func (t *run) waitIdle(ctx context.Context, server string, names ...string) error {
	if server == "" {
		return nil
	}
	_, db, err := t.dbService(ctx, server)
	if err != nil {
		return err
	}
	if w, ok := db.(aegir.IdleWaiter); ok {
		return w.WaitIdle(ctx, names...)
	}
	return nil
}

// databaseHolds reports whether a database exists and holds tables.
func databaseHolds(ctx context.Context, db aegir.DBService, name string) (bool, error) {
	there, err := db.DatabaseExists(ctx, name)
	if err != nil || !there {
		return false, err
	}
	size, err := db.DatabaseSize(ctx, name)
	return size > 0, err
}

// dropUnnamed drops a database a task made or left, and its user (of the
// same name, as createDatabase makes them), unless a site's context names
// it.
func (t *run) dropUnnamed(ctx context.Context, server, name string) error {
	if server == "" || name == "" {
		return nil
	}
	sites, err := t.b.Contexts.List(ctx, aegir.SiteContext)
	if err != nil {
		return err
	}
	for _, c := range sites {
		if c.Site.DBName == name && aegir.ContextName(c.Site.DBServer) == server {
			return nil
		}
	}
	_, db, err := t.dbService(ctx, server)
	if err != nil {
		return err
	}
	there, err := db.DatabaseExists(ctx, name)
	if err != nil {
		return err
	}
	user, err := db.UserExists(ctx, name)
	if err != nil || !there && !user {
		return err
	}
	if err := db.DropDatabase(ctx, name, name); err != nil {
		return err
	}
	t.log.Warnf("dropped database %s, which a task that stopped had left and no site names", name)
	return nil
}

// removeSiteDirOn removes dir from the remote machines serving the
// platform ref (its web server, a cluster's members).
func (t *run) removeSiteDirOn(ctx context.Context, ref, dir string) error {
	p, err := t.typed(ctx, ref, aegir.PlatformContext)
	if err != nil {
		return err
	}
	name, web, err := t.server(ctx, p.WithDefaults().Platform.WebServer)
	if err != nil {
		return err
	}
	webs, err := t.webServers(ctx, name, web)
	if err != nil {
		return err
	}
	for _, w := range webs {
		if err := t.removeRemoteSiteDir(ctx, w.name, w.server, dir); err != nil {
			return err
		}
	}
	return nil
}

// retireSource removes the vhost, the php-fpm pool and the context of the
// source of a migrate under a new name that stopped after its copy took
// over. It returns the source's web server.
func (t *run) retireSource(ctx context.Context, src *aegir.Context) (*aegir.Server, error) {
	p, err := t.typed(ctx, src.Site.Platform, aegir.PlatformContext)
	if err != nil {
		return nil, err
	}
	web, err := t.unserve(ctx, p, src.Name)
	if err != nil {
		return nil, err
	}
	if err := t.b.Contexts.Delete(ctx, src.Name); err != nil {
		return nil, err
	}
	t.log.Warnf("removed the vhost and context of @%s: a migrate to a new name had moved it", src.Name)
	return web, nil
}

// unserve removes the vhost of the site uri from the web server of
// platform, and its own php-fpm pool when that server gives each site one
// (a missing one is no error). It returns the web server.
func (t *run) unserve(ctx context.Context, platform *aegir.Context, uri string) (*aegir.Server, error) {
	web, http, err := t.httpService(ctx, platform.WithDefaults().Platform.WebServer)
	if err != nil {
		return nil, err
	}
	if _, err := http.DeleteSite(ctx, uri); err != nil {
		return nil, err
	}
	if pools, ok := http.(aegir.PHPPools); ok && web.PHPFPMPools {
		if _, err := pools.DeletePool(ctx, aegir.SiteUser(uri)); err != nil {
			return nil, err
		}
	}
	return web, nil
}

// dropSiteUser removes the Unix user of the site uri when web gives each
// site its own pool (a missing one is no error).
func (t *run) dropSiteUser(ctx context.Context, web *aegir.Server, uri string) error {
	if !web.PHPFPMPools || t.b.SiteUsers == nil {
		return nil
	}
	if err := t.b.SiteUsers.Remove(ctx, aegir.SiteUser(uri)); err != nil {
		return fmt.Errorf("remove site user %s: %w", aegir.SiteUser(uri), err)
	}
	return nil
}

// removeVhostElsewhere removes the vhost of uri, and its own php-fpm pool,
// from the web server of the platform from, when it is not the web server
// of the platform to, which serves the site.
func (t *run) removeVhostElsewhere(ctx context.Context, uri, from, to string) error {
	if from == "" || from == to {
		return nil
	}
	fp, err := t.typed(ctx, from, aegir.PlatformContext)
	if err != nil {
		return err
	}
	tp, err := t.typed(ctx, to, aegir.PlatformContext)
	if err != nil {
		return err
	}
	web := fp.WithDefaults().Platform.WebServer
	if aegir.ContextName(web) == aegir.ContextName(tp.WithDefaults().Platform.WebServer) {
		return nil
	}
	_, err = t.unserve(ctx, fp, uri)
	return err
}

// setAside sets aside the directories that exist, as setAsideStrays does.
func (t *run) setAside(dirs []string, uri string) error {
	for _, dir := range dirs {
		if st, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		} else if !st.IsDir() {
			continue
		}
		aside := strayName(filepath.Dir(dir), uri)
		if err := os.Rename(dir, aside); err != nil {
			return fmt.Errorf("set aside %s: %w", dir, err)
		}
		t.log.Warnf("set aside %s, left by a task that stopped: %s; remove it once you need nothing from it", dir, aside)
	}
	return nil
}

// strayName is a name to set a copy of the site uri aside under, in the
// sites directory dir.
func strayName(dir, uri string) string {
	return filepath.Join(dir, fmt.Sprintf("%s%s-%d", strayPrefix, uri, time.Now().UnixNano()))
}

// contextOrNil reads a site's context; nil when there is none.
func (t *run) contextOrNil(ctx context.Context, name string) (*aegir.Context, error) {
	c, err := t.b.Contexts.Get(ctx, name)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if c.Type != aegir.SiteContext {
		return nil, nil
	}
	return c, nil
}

// siteDirOf is the directory a site's context puts it in; "" when it has
// no context.
func (t *run) siteDirOf(ctx context.Context, name string) (string, error) {
	c, err := t.contextOrNil(ctx, name)
	if err != nil || c == nil {
		return "", err
	}
	p, err := t.typed(ctx, c.Site.Platform, aegir.PlatformContext)
	if err != nil {
		return "", err
	}
	return filepath.Join(p.Platform.Root, "sites", name), nil
}

// recoverLegacyRecord reads the record an aegir of before left beside the
// site's directory (<dir>.moved-tables, a migrate's move of its tables) as
// a record of an uncommitted migrate.
func (t *run) recoverLegacyRecord(ctx context.Context, s *siteEnv) error {
	path := s.siteDir() + ".moved-tables"
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var m struct{ From, To string }
	if json.Unmarshal(data, &m) == nil && m.From == s.site.DBName && m.To != "" {
		server := aegir.ContextName(s.site.DBServer)
		if err := t.waitIdle(ctx, server, m.From, m.To); err != nil {
			return err
		}
		if _, err := t.moveBack(ctx, taskRecord{Task: aegir.TaskMigrate, From: m.From, To: m.To, DBServer: server, TargetDBServer: server}); err != nil {
			return err
		}
	}
	return removeIfExists(path)
}
