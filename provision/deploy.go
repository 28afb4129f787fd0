package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// deploy unpacks a backup into the site with a new database, without
// taking a backup first: the primitive under restore, migrate and clone,
// run on its own. Steps:
//
//	database … import   unpackSteps (steps_deploy.go): db.CreateDatabase, Archiver.Extract
//	                    into <site dir>.restore, db.Import  undo: drop it, remove the staging
//	swap in … packages  bringUpSteps (steps_deploy.go)      undo: as each of those
//	remove old copy     cleanupStep: the old directory, db.DropDatabase of the old database
//	                    no undo: last, a failure there is a warning
func (t *run) deploy(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, d, err := t.inPlaceDeployment(ctx, c, t.loadSite)
	if err != nil {
		return nil, err
	}
	return append(t.deploySteps(d), t.cleanupStep(d, s.db, nil)), nil
}
