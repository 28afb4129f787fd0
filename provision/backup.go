package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
// when that name is taken.
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
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
	}
	return "", aegir.Errorf(aegir.ECONFLICT, "no free backup file name for %s", base)
}

// backupSteps dump the site's database into its directory, archive the
// directory, and remove the dump. The undo removes the archive.
func (t *run) backupSteps(s *siteEnv, file *string) []aegir.Step {
	dump := filepath.Join(s.siteDir(), dumpFile)
	return []aegir.Step{
		{Name: "dump database", Do: func(ctx context.Context) (aegir.Undo, error) {
			undo := func(context.Context) error { return removeIfExists(dump) }
			return undo, t.dumpDatabase(ctx, s, dump)
		}},
		{Name: "archive", Do: func(ctx context.Context) (aegir.Undo, error) {
			if *file == "" {
				var err error
				if *file, err = t.backupPath(s.site.URI); err != nil {
					return nil, err
				}
			}
			info, err := t.b.Archiver.Create(ctx, *file, s.siteDir())
			if err != nil {
				return nil, err
			}
			t.data["backup_file"], t.data["size"], t.data["sha256"] = info.Path, info.Size, info.SHA256
			t.log.Infof("backed up %s to %s (%d bytes, sha256 %s)", s.site.URI, info.Path, info.Size, info.SHA256)
			path := info.Path
			return func(context.Context) error { return t.b.Archiver.Delete(path) }, nil
		}},
		{Name: "remove dump", Do: func(context.Context) (aegir.Undo, error) {
			return nil, removeIfExists(dump)
		}},
	}
}

// dumpDatabase writes the site's database dump, readable by aegir only.
func (t *run) dumpDatabase(ctx context.Context, s *siteEnv, path string) error {
	if s.site.DBName == "" {
		return aegir.Errorf(aegir.EINVALID, "site %s has no database recorded", s.site.URI)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create dump: %w", err)
	}
	if err := s.db.Dump(ctx, s.site.DBName, f); err != nil {
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
		return aegir.Errorf(aegir.EINTERNAL, "the dump of %s is suspiciously small (%d bytes)", s.site.DBName, st.Size())
	}
	t.log.Infof("dumped database %s (%d bytes)", s.site.DBName, st.Size())
	return nil
}

func removeIfExists(path string) error {
	if err := os.RemoveAll(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (t *run) backup(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	file := t.opts.Args["file"]
	if file != "" {
		if !filepath.IsAbs(file) {
			return aegir.FieldErrorf("file", "%q must be an absolute path", file)
		}
		if !strings.HasSuffix(file, ".tar.gz") && !strings.HasSuffix(file, ".tar.zst") {
			return aegir.FieldErrorf("file", "%q must end in .tar.gz or .tar.zst", file)
		}
	}
	return t.steps.Run(ctx, t.backupSteps(s, &file))
}

// backupDelete removes backups of the site, which must be its own files in
// the backups directory.
func (t *run) backupDelete(ctx context.Context, c *aegir.Context) error {
	files := strings.Fields(t.opts.Args["files"])
	if len(files) == 0 {
		return aegir.FieldErrorf("files", "name at least one backup file")
	}
	var steps []aegir.Step
	for _, f := range files {
		path := f
		if !filepath.IsAbs(path) {
			path = filepath.Join(t.b.Paths.Backups(), path)
		}
		if filepath.Dir(path) != t.b.Paths.Backups() || !strings.HasPrefix(filepath.Base(path), c.Name+"-") {
			return aegir.FieldErrorf("files", "%s is not a backup of %s in %s", f, c.Name, t.b.Paths.Backups())
		}
		if _, err := os.Stat(path); err != nil {
			return aegir.FieldErrorf("files", "%s: %v", f, err)
		}
		steps = append(steps, aegir.Step{Name: "delete " + filepath.Base(path), Do: func(context.Context) (aegir.Undo, error) {
			t.log.Infof("deleted backup %s", path)
			return nil, t.b.Archiver.Delete(path)
		}})
	}
	t.data["deleted"] = files
	return t.steps.Run(ctx, steps)
}
