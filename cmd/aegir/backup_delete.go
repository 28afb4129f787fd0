package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// backupDelete deletes backups of a site.
func (m *Main) backupDelete(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskBackupDelete, args, taskSpec{variadic: "files"})
}
