package main

import (
	"context"

	"github.com/aegir-hosting/aegir/provision"
)

// verify runs the verify task on a server, platform or site; --renew=1
// renews a site's certificate even when it is not due.
func (m *Main) verify(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskVerify, args, taskSpec{options: []string{"renew"}})
}
