package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// disable makes a site answer that it is disabled.
func (m *Main) disable(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskDisable, args, taskSpec{options: []string{"disabled_url"}})
}
