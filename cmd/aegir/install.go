package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// install installs a site: database, settings, the app's installer, vhost.
func (m *Main) install(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskInstall, args, taskSpec{force: true})
}
