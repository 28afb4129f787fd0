package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// restore takes a backup of a site, then restores the chosen backup in its place.
func (m *Main) restore(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskRestore, args, taskSpec{positional: []string{"file"}, options: []string{"old_uri"}, force: true})
}
