package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// backup backs up a site: its directory and a database dump in one tarball.
func (m *Main) backup(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskBackup, args, taskSpec{positional: []string{"file?"}, options: []string{"format"}})
}
