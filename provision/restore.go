package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// restore takes a backup of the site, then deploys the chosen backup in
// its place with a new database; the old database goes last. The safety
// backup reads the site while the backup to restore is unpacked and
// imported beside it, and is complete before the new copy takes the
// site's place. Steps:
//
//	dump database       sideBackupSteps (steps_backup.go): db.Dump, then Archiver.CreateQuick,
//	                    in the background                   undo: stop it, remove dump and archive
//	database … import   unpackSteps (steps_deploy.go): db.CreateDatabase, Archiver.Extract
//	                    into <site dir>.restore, db.Import  undo: drop it, remove the staging
//	archive             sideBackupSteps: waits for the safety backup   no undo (dump database's)
//	remove dump         -                                   no undo
//	swap in … packages  bringUpSteps (steps_deploy.go)      undo: as each of those
//	remove old copy     cleanupStep: the old directory, db.DropDatabase of the old database
//	                    no undo: last, a failure there is a warning
//
// With from=offsite the snapshot (or the site's newest) is first fetched
// from the off-site target into a local backup (fetchOffsite,
// offsite_restore.go), which is then restored as above.
func (t *run) restore(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	if err := t.restoreSource(ctx, c.Name); err != nil {
		return nil, err
	}
	s, d, err := t.inPlaceDeployment(ctx, c, t.loadInstalledSite)
	if err != nil {
		return nil, err
	}
	if err := t.noteLostDatabase(ctx, s); err != nil {
		return nil, err
	}
	if err := t.noteLostDirectory(s); err != nil {
		return nil, err
	}
	var safety string
	start, join := t.sideBackupSteps(s, &safety)
	d.beforeSwap = join
	steps := []aegir.Step{start}
	steps = append(steps, t.deploySteps(d)...)
	return append(steps, t.cleanupStep(d, s.db, nil)), nil
}
