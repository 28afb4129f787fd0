package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// clone copies a site under a new name, with its own database and files.
func (m *Main) clone(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskClone, args, taskSpec{positional: []string{"new_uri", "platform?"}, force: true})
}
