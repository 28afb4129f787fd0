package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// deploy unpacks a backup into a site with a new database (the primitive under restore, migrate and clone).
func (m *Main) deploy(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskDeploy, args, taskSpec{positional: []string{"file"}, options: []string{"old_uri"}, force: true})
}
