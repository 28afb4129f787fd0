package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// deleteTask deletes a site (after a backup), or a platform or server nothing uses.
func (m *Main) deleteTask(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskDelete, args, taskSpec{})
}
