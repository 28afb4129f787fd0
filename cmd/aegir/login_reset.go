package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// loginReset prints a one-time admin login link.
func (m *Main) loginReset(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskLoginReset, args, taskSpec{})
}
