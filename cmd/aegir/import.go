package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// importSite adopts a site found on its platform: reads its settings and verifies it.
func (m *Main) importSite(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskImport, args, taskSpec{force: true})
}
