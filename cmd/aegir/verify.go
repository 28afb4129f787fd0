package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// verify runs the verify task on a server, platform or site.
func (m *Main) verify(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskVerify, args, taskSpec{})
}
