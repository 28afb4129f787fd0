package provision

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// backup archives an installed site: its directory with a dump of its
// database, in backups/ unless the file arg names an absolute path.
// Steps (backupSteps, steps_backup.go):
//
//	dump database   db.Dump into sites/<uri>/database.sql   undo: remove the dump
//	archive         Archiver.Create                         undo: Archiver.Delete
//	remove dump     -                                       no undo
func (t *run) backup(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	file := t.opts.Args["file"]
	if file != "" {
		if !filepath.IsAbs(file) {
			return nil, aegir.FieldErrorf("file", "%q must be an absolute path", file)
		}
		if !strings.HasSuffix(file, ".tar.gz") && !strings.HasSuffix(file, ".tar.zst") {
			return nil, aegir.FieldErrorf("file", "%q must end in .tar.gz or .tar.zst", file)
		}
	}
	return t.backupSteps(s, &file), nil
}
