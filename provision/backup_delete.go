package provision

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// backupDelete removes backups of the site, which must be its own files in
// the backups directory. Steps, one per backup:
//
//	delete <file name>   Archiver.Delete (the archive and its checksum)   no undo
//
// A backup named twice is deleted once: its step name is its file name.
func (t *run) backupDelete(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	files := strings.Fields(t.opts.Args["files"])
	if len(files) == 0 {
		return nil, aegir.FieldErrorf("files", "name at least one backup file")
	}
	var steps []aegir.Step
	var paths []string
	for _, f := range files {
		path, err := ownBackup("files", t.b.Paths.Backups(), c.Name, f)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); err != nil {
			return nil, aegir.FieldErrorf("files", "%s: %v", f, err)
		}
		if slices.Contains(paths, path) {
			continue
		}
		paths = append(paths, path)
		steps = append(steps, aegir.Step{Name: "delete " + filepath.Base(path), Do: func(context.Context) (aegir.Undo, error) {
			t.log.Infof("deleted backup %s", path)
			return nil, t.b.Archiver.Delete(path)
		}})
	}
	report(t, func(r *aegir.BackupDeleteResult) { r.Deleted = files })
	return steps, nil
}

// ownBackup returns the path of backup f (a path, or a file name in dir),
// which must be one of uri's in dir, or an error naming field.
func ownBackup(field, dir, uri, f string) (string, error) {
	path := filepath.Clean(f)
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	if filepath.Dir(path) != dir || !strings.HasPrefix(filepath.Base(path), uri+"-") {
		return "", aegir.FieldErrorf(field, "%s is not a backup of %s in %s", f, uri, dir)
	}
	return path, nil
}
