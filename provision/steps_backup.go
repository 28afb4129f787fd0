package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// minDumpSize is the size under which a dump is taken to have failed:
// even an empty database dumps its header and settings lines.
const minDumpSize = 200

// dumpFile is where a backup puts the database dump, inside the site
// directory, as Aegir 3 does, so the tarball holds both.
const dumpFile = "database.sql"

// backupPath picks backups/<uri>-<YYYYMMDD.HHMMSS>.<ext>, with _N added
// when that name is taken, or its .part file is there: another backup is
// writing it, or one that died left it (the archiver refuses that name).
func (t *run) backupPath(uri string) (string, error) {
	ext := ".tar.gz"
	if f := t.opts.Args["format"]; f == "zst" || f == "zstd" || f == "tar.zst" {
		ext = ".tar.zst"
	} else if f != "" && f != "gz" && f != "tar.gz" {
		return "", aegir.FieldErrorf("format", "%q is not gz or zst", f)
	}
	base := filepath.Join(t.b.Paths.Backups(), uri+"-"+time.Now().Format("20060102.150405"))
	for i := 0; i < 1000; i++ {
		p := base + ext
		if i > 0 {
			p = fmt.Sprintf("%s_%d%s", base, i, ext)
		}
		_, err := os.Lstat(p)
		_, perr := os.Lstat(p + ".part")
		if errors.Is(err, fs.ErrNotExist) && errors.Is(perr, fs.ErrNotExist) {
			return p, nil
		}
	}
	return "", aegir.Errorf(aegir.ECONFLICT, "no free backup file name for %s", base)
}

// backupSteps fetch the site's files from its web server, dump the site's
// database into its directory, archive the directory, and remove the dump.
// Steps:
//
//	fetch files    fetchSiteFilesStep (steps_fleet.go): a remote web server's files/ and
//	               private/ rsynced back to the master                  no undo
//	dump database  dumpDatabase: db.Dump into sites/<uri>/database.sql, 0600, refused
//	               when suspiciously small; none for a lost database   undo: remove the dump
//	archive        Archiver.Create into backupPath (or the file given)  undo: Archiver.Delete
//	remove dump    -                                                    no undo
func (t *run) backupSteps(s *siteEnv, file *string) []aegir.Step {
	dump := filepath.Join(s.siteDir(), dumpFile)
	return []aegir.Step{
		t.fetchSiteFilesStep(s),
		{Name: "dump database", Do: func(ctx context.Context) (aegir.Undo, error) {
			// The name holds the second the dump begins, which a restore
			// compares with the site's last change (unchangedBackup).
			if *file == "" {
				var err error
				if *file, err = t.backupPath(s.site.URI); err != nil {
					return nil, err
				}
			}
			undo := func(context.Context) error { return removeIfExists(dump) }
			if s.lostDB {
				return nil, nil // said by noteLostDatabase
			}
			if s.site.DBName == "" && s.withoutDatabase() {
				return nil, nil // a site that has none (said by its install)
			}
			if err := t.dumpDatabase(ctx, s.db, s.site.DBName, dump); err != nil {
				undo(ctx) // a failed step's undo is not run
				return nil, err
			}
			return undo, nil
		}},
		{Name: "archive", Do: func(ctx context.Context) (aegir.Undo, error) {
			if *file == "" {
				var err error
				if *file, err = t.backupPath(s.site.URI); err != nil {
					return nil, err
				}
			}
			// What the site's PHP made is aegir's to read.
			t.giveBack(ctx, s.web, s.site.URI, s.siteDir())
			t.giveBackPrivate(ctx, s.web, s.site.URI, s.private)
			info, err := t.archiveSite(ctx, *file, s.siteDir(), s.privateGrafts(), false)
			if err != nil {
				return nil, err
			}
			t.reportBackup(info)
			t.log.Infof("backed up %s to %s (%d bytes, sha256 %s)", s.site.URI, info.Path, info.Size, info.SHA256)
			path := info.Path
			return func(context.Context) error { return t.b.Archiver.Delete(path) }, nil
		}},
		{Name: "remove dump", Do: func(context.Context) (aegir.Undo, error) {
			return nil, removeIfExists(dump)
		}},
	}
}

// dumpDatabase writes the dump of the site's database name, readable by
// aegir only.
func (t *run) dumpDatabase(ctx context.Context, db aegir.DBService, name, path string) error {
	if name == "" {
		return aegir.Errorf(aegir.EINVALID, "the site has no database recorded")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create dump: %w", err)
	}
	if err := db.Dump(ctx, name, f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write dump %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() < minDumpSize {
		return aegir.Errorf(aegir.EINTERNAL, "the dump of %s is suspiciously small (%d bytes)", name, st.Size())
	}
	t.log.Infof("dumped database %s (%d bytes)", name, st.Size())
	return nil
}

// sideBackup is an archive written in the background while the task's
// next steps run.
type sideBackup struct {
	cancel context.CancelFunc
	done   chan struct{}
	info   *aegir.ArchiveInfo
	err    error
}

// startBackup runs prepare (when not nil), then archives dir (with grafts,
// the private directory outside the root) into path, in the background.
func (t *run) startBackup(ctx context.Context, path, dir string, grafts []aegir.Graft, prepare func(context.Context) error) *sideBackup {
	b := &sideBackup{done: make(chan struct{})}
	ctx, b.cancel = context.WithCancel(ctx)
	go func() {
		defer close(b.done)
		if prepare != nil {
			if b.err = prepare(ctx); b.err != nil {
				return
			}
		}
		// Its time is the task's: the fastest level, where the archiver
		// has one (gzip level 1 is about a third cheaper than 6, for an
		// archive 2% larger, still a .tar.gz).
		b.info, b.err = t.archiveSite(ctx, path, dir, grafts, true)
	}()
	return b
}

// wait waits for the archive and records it as the task's backup.
func (t *run) waitBackup(b *sideBackup, uri string) (*aegir.ArchiveInfo, error) {
	<-b.done
	b.cancel()
	if b.err != nil {
		return nil, b.err
	}
	info := b.info
	t.reportBackup(info)
	t.log.Infof("backed up %s to %s (%d bytes, sha256 %s)", uri, info.Path, info.Size, info.SHA256)
	return info, nil
}

// discard stops the archive and removes it if it was written.
func (b *sideBackup) discard(a aegir.Archiver) error {
	b.cancel()
	<-b.done
	if b.info != nil {
		return a.Delete(b.info.Path)
	}
	return nil
}

// unchangedBackup returns the newest complete backup of the site (one with
// its checksum file) taken after the site's database and files last
// changed, and why it is taken to hold the site as it is; "" when there is
// none, or that cannot be told: a database service that cannot say when
// its data changed (aegir.ChangeTimer), a site without a database. A
// backup's name holds the second its dump began (backupPath), and a file
// changed or a table written in that second counts as after it. The site
// directory's own time is left out: a backup's dump is written and removed
// there.
func (t *run) unchangedBackup(ctx context.Context, s *siteEnv) (file, why string) {
	ct, ok := s.db.(aegir.ChangeTimer)
	if !ok || s.lostDB || s.site.DBName == "" {
		return "", ""
	}
	file, taken := newestBackup(t.b.Paths.Backups(), s.site.URI)
	if file == "" {
		return "", ""
	}
	dbChanged, err := ct.LastChange(ctx, s.site.DBName)
	if err != nil {
		t.log.Infof("taking a safety backup: when database %s last changed is not known: %v", s.site.DBName, err)
		return "", ""
	}
	if dbChanged.After(taken) {
		t.log.Infof("taking a safety backup: database %s changed after the newest backup, %s", s.site.DBName, file)
		return "", ""
	}
	changed := errors.New("changed")
	dir := s.siteDir()
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil // a backup's dump comes and goes there
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if !info.ModTime().Before(taken) {
			return fmt.Errorf("%w: %s", changed, path)
		}
		return nil
	})
	if errors.Is(err, changed) {
		t.log.Infof("taking a safety backup: %v after the newest backup, %s", err, file)
		return "", ""
	} else if err != nil {
		t.log.Infof("taking a safety backup: %v", err)
		return "", ""
	}
	return file, fmt.Sprintf("taken at %s; its database last changed before %s, its files before that backup",
		taken.Format(time.DateTime), dbChanged.Format(time.DateTime))
}

// newestBackup returns the newest complete backup of uri in dir, named as
// backupPath names them, with the checksum file the archiver writes last,
// and the second its name holds.
func newestBackup(dir, uri string) (string, time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", time.Time{}
	}
	var best string
	var when time.Time
	const layout = "20060102.150405"
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, uri+"-")
		if !ok || len(rest) < len(layout) || !e.Type().IsRegular() {
			continue
		}
		stamp, ext := rest[:len(layout)], rest[len(layout):]
		if i := strings.IndexByte(ext, '.'); i > 0 && ext[0] == '_' {
			if _, err := strconv.Atoi(ext[1:i]); err != nil {
				continue
			}
			ext = ext[i:]
		}
		if ext != ".tar.gz" && ext != ".tar.zst" {
			continue
		}
		taken, err := time.ParseInLocation(layout, stamp, time.Local)
		if err != nil || !taken.After(when) {
			continue
		}
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path + ".sha256"); err != nil {
			continue
		}
		best, when = path, taken
	}
	return best, when
}

// sideBackupSteps are backupSteps with the work done in the background:
// "dump database" starts the dump and then the archive, and "archive"
// waits for them, so the steps between run meanwhile. Those must leave the
// site's directory and database alone: the caller puts "archive" and
// "remove dump" before anything changes them. Should the task fail, the
// backup is stopped and removed. Steps, start:
//
//	dump database  dumpDatabase, then Archiver.CreateQuick, in the background
//	               undo: stop them, remove the dump and the archive
//
// and join:
//
//	archive        waits for the archive: the task's backup   no undo (dump database's)
//	remove dump    -                                          no undo
func (t *run) sideBackupSteps(s *siteEnv, file *string) (start aegir.Step, join []aegir.Step) {
	dir := s.siteDir()
	dump := filepath.Join(dir, dumpFile)
	var b *sideBackup
	start = aegir.Step{Name: "dump database", Do: func(ctx context.Context) (aegir.Undo, error) {
		if prev, why := t.unchangedBackup(ctx, s); prev != "" {
			t.log.Infof("no safety backup: %s already holds @%s as it is (%s)", prev, s.site.URI, why)
			return nil, nil
		}
		if *file == "" {
			var err error
			if *file, err = t.backupPath(s.site.URI); err != nil {
				return nil, err
			}
		}
		db, name, lost := s.db, s.site.DBName, s.lostDB // the site's own: the deploy changes s
		t.giveBack(ctx, s.web, s.site.URI, dir)
		t.giveBackPrivate(ctx, s.web, s.site.URI, s.private)
		b = t.startBackup(ctx, *file, dir, s.privateGrafts(), func(ctx context.Context) error {
			if lost {
				return nil // said by noteLostDatabase
			}
			return t.dumpDatabase(ctx, db, name, dump)
		})
		return func(context.Context) error {
			err := b.discard(t.b.Archiver)
			if rerr := removeIfExists(dump); err == nil {
				err = rerr
			}
			return err
		}, nil
	}}
	join = []aegir.Step{
		{Name: "archive", Do: func(context.Context) (aegir.Undo, error) {
			if b == nil {
				return nil, nil // an unchanged backup stands in for it
			}
			_, err := t.waitBackup(b, s.site.URI)
			return nil, err // the undo of "dump database" removes it
		}},
		{Name: "remove dump", Do: func(context.Context) (aegir.Undo, error) {
			return nil, removeIfExists(dump)
		}},
	}
	return start, join
}

func removeIfExists(path string) error {
	if err := os.RemoveAll(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
