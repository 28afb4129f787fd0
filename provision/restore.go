package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// restore takes a backup of the site, then deploys the chosen backup in
// its place with a new database; the old database goes last.
func (t *run) restore(ctx context.Context, c *aegir.Context) error {
	return t.deployInPlace(ctx, c, true)
}
