package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// deploy unpacks a backup into the site without taking a backup first.
func (t *run) deploy(ctx context.Context, c *aegir.Context) error {
	return t.deployInPlace(ctx, c, false)
}
