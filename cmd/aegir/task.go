package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
)

// taskSpec says how a task's command line maps to its arguments.
type taskSpec struct {
	// positional names the arguments after @CONTEXT; a trailing "?" marks
	// one that may be left out.
	positional []string
	// variadic, when set, takes every remaining argument, space-joined.
	variadic string
	// options are the --name=value options the task takes.
	options []string
	// force allows --force.
	force bool
}

// runTask runs a back-end task and prints its log as it goes, or its
// Result as JSON with --json. It fails when the task fails.
func (m *Main) runTask(ctx context.Context, task string, args []string, spec taskSpec) error {
	o, err := parseOptions(args, "json", "force")
	if err != nil {
		return err
	}
	paths := m.paths(o)
	asJSON, err := o.bool("json")
	if err != nil {
		return err
	}
	opts := provision.Options{Args: map[string]string{}}
	if spec.force {
		if opts.Force, err = o.bool("force"); err != nil {
			return err
		}
	}
	opts.FailAt, _ = o.take("fail_at")
	for _, name := range spec.options {
		if v, ok := o.take(name); ok {
			opts.Args[name] = v
		}
	}
	if err := o.noMore(); err != nil {
		return err
	}
	name, err := taskArgs(o.args, task, spec, opts.Args)
	if err != nil {
		return err
	}
	if err := m.refuseRoot(); err != nil {
		return err
	}
	if !asJSON {
		opts.Sink = m.printEntry
	}
	b := m.backend(paths)
	result, err := b.Run(ctx, task, name, opts)
	return m.report(task, name, result, err, asJSON)
}

// taskArgs checks the positional arguments against the spec and puts them
// in args; it returns the context name.
func taskArgs(pos []string, task string, spec taskSpec, args map[string]string) (string, error) {
	usage := "usage: aegir " + task + " @NAME"
	required := 1
	for _, p := range spec.positional {
		if strings.HasSuffix(p, "?") {
			usage += " [" + strings.ToUpper(strings.TrimSuffix(p, "?")) + "]"
		} else {
			usage += " " + strings.ToUpper(p)
			required++
		}
	}
	if spec.variadic != "" {
		usage += " " + strings.ToUpper(spec.variadic) + "..."
		required++
	}
	if len(pos) < required || spec.variadic == "" && len(pos) > 1+len(spec.positional) {
		return "", usageErrorf("%s", usage)
	}
	name := aegir.ContextName(pos[0])
	if err := aegir.ValidateName("name", name); err != nil {
		return "", err
	}
	rest := pos[1:]
	for _, p := range spec.positional {
		if len(rest) == 0 {
			break
		}
		args[strings.TrimSuffix(p, "?")] = rest[0]
		rest = rest[1:]
	}
	if spec.variadic != "" {
		args[spec.variadic] = strings.Join(rest, " ")
	}
	return name, nil
}

func (m *Main) printEntry(e aegir.LogEntry) {
	fmt.Fprintf(m.Stdout, "[%s] %s\n", e.Level, e.Message)
}

// report prints a task's Result, as JSON or as its data, and turns a
// failure into the command's error.
func (m *Main) report(task, name string, result *aegir.Result, err error, asJSON bool) error {
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

// printData prints the data of a Result, one key per line.
func printData(m *Main, data map[string]any) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := data[k].(type) {
		case []aegir.Package:
			fmt.Fprintf(m.Stdout, "%s: %d\n", k, len(v))
		case []aegir.PackageReport:
			for _, r := range v {
				fmt.Fprintf(m.Stdout, "package %-10s %-30s %-9s %s -> %s\n", r.Type, r.Name, r.Status, r.Version, r.TargetVersion)
			}
		case []provision.SiteOutcome:
			for _, o := range v {
				fmt.Fprintln(m.Stdout, o)
			}
		default:
			fmt.Fprintf(m.Stdout, "%s: %v\n", k, v)
		}
	}
}
