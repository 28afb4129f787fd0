package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
)

// verify runs the verify task on a server, platform or site.
func (m *Main) verify(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskVerify, args)
}

// install runs the install task on a site.
func (m *Main) install(ctx context.Context, args []string) error {
	return m.runTask(ctx, provision.TaskInstall, args, "force")
}

// runTask runs a back-end task and prints its log as it goes, or its
// Result as JSON with --json. It fails when the task fails.
func (m *Main) runTask(ctx context.Context, task string, args []string, extra ...string) error {
	o, err := parseOptions(args, append([]string{"json"}, extra...)...)
	if err != nil {
		return err
	}
	paths := m.paths(o)
	asJSON, err := o.bool("json")
	if err != nil {
		return err
	}
	var opts provision.Options
	if opts.Force, err = o.bool("force"); err != nil {
		return err
	}
	opts.FailAt, _ = o.take("fail_at")
	if err := o.noMore(); err != nil {
		return err
	}
	name, err := contextArg(o, task)
	if err != nil {
		return err
	}
	if err := m.refuseRoot(); err != nil {
		return err
	}
	if !asJSON {
		opts.Sink = func(e aegir.LogEntry) {
			fmt.Fprintf(m.Stdout, "[%s] %s\n", e.Level, e.Message)
		}
	}
	result, err := m.backend(paths).Run(ctx, task, name, opts)
	if asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if encErr := enc.Encode(result); encErr != nil {
			return encErr
		}
	} else if err == nil {
		printData(m, result.Data)
	}
	if err != nil {
		return fmt.Errorf("%s @%s failed: %w", task, name, err)
	}
	return nil
}

// printData prints the scalar data of a Result, one key per line.
func printData(m *Main, data map[string]any) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := data[k].(type) {
		case string, int, bool:
			fmt.Fprintf(m.Stdout, "%s: %v\n", k, v)
		case []aegir.Package:
			fmt.Fprintf(m.Stdout, "%s: %d\n", k, len(v))
		case []string:
			fmt.Fprintf(m.Stdout, "%s: %v\n", k, v)
		}
	}
}
