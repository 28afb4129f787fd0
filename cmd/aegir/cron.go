package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// cron runs a site's cron once.
func (m *Main) cron(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskCron, args, taskSpec{})
}
