package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// taskCommand is the command of a task type of the catalog: its usage
// and arguments come from its row.
func taskCommand(tt aegir.TaskType) command {
	return command{
		summary: tt.Summary + ": " + strings.TrimPrefix(taskUsage(tt), "aegir "+tt.Name+" "),
		run: func(m *Main, ctx context.Context, args []string) error {
			return m.runTask(ctx, tt, args)
		},
	}
}

// taskUsage is the command line of a task: @NAME, its positional
// arguments (optional ones in brackets), its options and --force.
func taskUsage(tt aegir.TaskType) string {
	usage := "aegir " + tt.Name + " @NAME"
	for _, a := range tt.Args {
		switch {
		case !a.Positional:
		case a.Variadic:
			usage += " " + strings.ToUpper(a.Name) + "..."
		case a.Required:
			usage += " " + strings.ToUpper(a.Name)
		default:
			usage += " [" + strings.ToUpper(a.Name) + "]"
		}
	}
	for _, a := range tt.Args {
		if !a.Positional {
			value := strings.ToUpper(a.Name)
			if len(a.Enum) > 0 {
				value = strings.Join(a.Enum, "|")
			}
			usage += " [--" + a.Name + "=" + value + "]"
		}
	}
	if tt.Force {
		usage += " [--force]"
	}
	return usage
}

// runTask runs a back-end task and prints its log as it goes, or its
// Result as JSON with --json. It fails when the task fails.
func (m *Main) runTask(ctx context.Context, tt aegir.TaskType, args []string) error {
	o, err := parseOptions(args, "json", "force")
	if err != nil {
		return err
	}
	paths := m.paths(o)
	asJSON, err := o.bool("json")
	if err != nil {
		return err
	}
	opts := aegir.TaskOptions{Args: map[string]string{}}
	if tt.Force {
		if opts.Force, err = o.bool("force"); err != nil {
			return err
		}
	}
	opts.FailAt, _ = o.take("fail_at")
	for _, a := range tt.Args {
		if v, ok := o.take(a.Name); ok && !a.Positional {
			opts.Args[a.Name] = v
		}
	}
	if err := o.noMore(); err != nil {
		return err
	}
	name, err := taskArgs(o.args, tt, opts.Args)
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
	result, err := b.Run(ctx, tt.Name, name, opts)
	return m.report(tt.Name, name, result, err, asJSON)
}

// taskArgs checks the positional arguments against the task's and puts
// them in args; it returns the context name.
func taskArgs(pos []string, tt aegir.TaskType, args map[string]string) (string, error) {
	var positional []aegir.TaskArg
	required, variadic := 1, false
	for _, a := range tt.Args {
		if a.Positional {
			positional = append(positional, a)
			if a.Required {
				required++
			}
			variadic = variadic || a.Variadic
		}
	}
	if len(pos) < required || !variadic && len(pos) > 1+len(positional) {
		return "", usageErrorf("usage: %s", taskUsage(tt))
	}
	name := aegir.ContextName(pos[0])
	if err := aegir.ValidateName("name", name); err != nil {
		return "", err
	}
	rest := pos[1:]
	for _, a := range positional {
		if len(rest) == 0 {
			break
		}
		if a.Variadic {
			args[a.Name] = strings.Join(rest, " ")
			break
		}
		args[a.Name] = rest[0]
		rest = rest[1:]
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

// printData prints a task's result, one fact per line: packages by their
// count, a package check's report and a batch's sites line by line.
func printData(m *Main, res any) {
	data, err := aegir.ResultData(res)
	if err != nil {
		fmt.Fprintf(m.Stdout, "result: %v\n", err)
		return
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	check := aegir.PartOf[aegir.PackagesChecked](res)
	batch := aegir.PartOf[aegir.MigratePlatformResult](res)
	for _, k := range keys {
		switch v := data[k]; {
		case k == "packages":
			list, _ := v.([]any)
			fmt.Fprintf(m.Stdout, "%s: %d\n", k, len(list))
		case k == "package_report" && check != nil:
			for _, r := range check.PackageReport {
				fmt.Fprintf(m.Stdout, "package %-10s %-30s %-9s %s -> %s\n", r.Type, r.Name, r.Status, r.Version, r.TargetVersion)
			}
		case k == "sites" && batch != nil:
			for _, o := range batch.Sites {
				fmt.Fprintln(m.Stdout, o)
			}
		default:
			fmt.Fprintf(m.Stdout, "%s: %v\n", k, v)
		}
	}
}
