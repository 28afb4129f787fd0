package main

import (
	"context"
	"strconv"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
)

// migratePlatform migrates every site of one platform to another, several
// at a time, each on its own, and prints a summary.
func (m *Main) migratePlatform(ctx context.Context, args []string) error {
	o, err := parseOptions(args, "json", "force")
	if err != nil {
		return err
	}
	paths := m.paths(o)
	asJSON, err := o.bool("json")
	if err != nil {
		return err
	}
	var opts aegir.TaskOptions
	if opts.Force, err = o.bool("force"); err != nil {
		return err
	}
	concurrency := provision.DefaultBatchConcurrency()
	if v, ok := o.take("concurrency"); ok {
		if concurrency, err = strconv.Atoi(v); err != nil || concurrency < 1 {
			return aegir.FieldErrorf("concurrency", "%q is not a positive number", v)
		}
	}
	if err := o.noMore(); err != nil {
		return err
	}
	if len(o.args) != 2 {
		return usageErrorf("usage: aegir migrate-platform @PLATFORM_FROM @PLATFORM_TO [--concurrency=N] [--force]")
	}
	if err := m.refuseRoot(); err != nil {
		return err
	}
	if !asJSON {
		opts.Sink = m.printEntry
	}
	result, err := m.backend(paths).MigratePlatform(ctx, o.args[0], o.args[1], concurrency, opts)
	return m.report(aegir.TaskMigratePlatform, aegir.ContextName(o.args[0]), result, err, asJSON)
}
