package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// enable serves a disabled site again.
func (m *Main) enable(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskEnable, args, taskSpec{})
}
