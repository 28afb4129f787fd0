package provision

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// backup archives an installed site: its directory with a dump of its
// database and a copy of its context, in backups/ unless the file arg
// names an absolute path; when an off-site target is configured, it
// uploads them there too. Steps (backupSteps, steps_backup.go; the
// off-site ones in steps_offsite.go):
//
//	copy context    contexts/<uri>.yml into sites/<uri>/   undo: remove the copy
//	dump database   db.Dump into sites/<uri>/database.sql   undo: remove the dump
//	archive         Archiver.Create                         undo: Archiver.Delete, unless
//	                                                        an off-site step failed
//	upload off-site, off-site retention   offsiteSteps      no undo
//	remove dump     -                                       no undo
//	remove context copy  -                                  no undo
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
	repo, err := t.offsite()
	if err != nil {
		return nil, err
	}
	steps := t.backupSteps(s, &file)
	if repo == nil {
		return append([]aegir.Step{t.copyContextStep(s)}, append(steps, removeContextStep(s))...), nil
	}
	// steps are dump database, archive, remove dump.
	var keep bool
	all := []aegir.Step{t.copyContextStep(s), steps[0], keepLocal(steps[1], &keep)}
	all = append(all, t.offsiteSteps(s, repo, &file, &keep)...)
	return append(append(all, steps[2:]...), removeContextStep(s)), nil
}
