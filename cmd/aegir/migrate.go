package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// migrate moves a site to another platform, optionally under a new name.
func (m *Main) migrate(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskMigrate, args, taskSpec{positional: []string{"platform", "new_uri?"}, force: true})
}
