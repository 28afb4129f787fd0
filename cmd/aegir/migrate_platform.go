package main

import (
	"context"
	"strconv"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
)

// migratePlatform runs the command of the migrate-platform task (its
// command line comes from the catalog, as every task's): it migrates every
// site of the platform from to the platform named by its argument, several
// at a time, each on its own, and reports on each.
func migratePlatform(b *provision.Backend, ctx context.Context, _, from string, opts aegir.TaskOptions) (*aegir.Result, error) {
	concurrency := provision.DefaultBatchConcurrency()
	if v, ok := opts.Args["concurrency"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, aegir.FieldErrorf("concurrency", "%q is not a positive number", v)
		}
		concurrency = n
	}
	return b.MigratePlatform(ctx, from, opts.Args["platform"], concurrency, opts)
}
