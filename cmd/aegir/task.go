package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
)

// taskRunner runs a task on the named context once its command line is
// read: the back end's Run, or a batch's own.
type taskRunner func(b *provision.Backend, ctx context.Context, task, name string, opts aegir.TaskOptions) (*aegir.Result, error)

// forceDoc is the help of --force.
const forceDoc = "go on where the task would refuse: a package check that finds a newer schema or a downgrade, a site already installed"

// taskCommand makes the command of a task of the catalog: its use line,
// help, options, argument checks and completion come from the task's row.
// It prints the task's log as it goes, or its Result as JSON with --json,
// and fails when the task fails.
func (m *Main) taskCommand(tt aegir.TaskType, run taskRunner) *cobra.Command {
	cmd := &cobra.Command{
		Use:               tt.Name + " " + positionalUsage(tt),
		Short:             tt.Summary,
		Long:              taskHelp(tt),
		GroupID:           groupTasks,
		ValidArgsFunction: m.completeTaskArgs(tt),
	}
	flags := cmd.Flags()
	named := map[string]*option{}
	for _, a := range tt.Args {
		switch {
		case a.Positional:
		case a.Kind == aegir.ArgBool:
			named[a.Name] = addSwitch(flags, a.Name, a.Doc)
		default:
			named[a.Name] = addOption(flags, a.Name, argPlaceholder(a), a.Doc)
			named[a.Name].values = a.Enum
		}
	}
	var force *option
	if tt.Force {
		force = addSwitch(flags, "force", forceDoc)
	}
	asJSON := addSwitch(flags, "json", "print the task's Result as JSON (status, log, data) instead of its log")
	failAt := addOption(flags, "fail_at", "STEP", "fail at the named step, to see its undo (tests)")
	flags.MarkHidden("fail_at")

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		opts := aegir.TaskOptions{Args: map[string]string{}, FailAt: failAt.value}
		opts.Force = force != nil && force.on()
		for name, o := range named {
			if o.given {
				opts.Args[name] = o.value
			}
		}
		name, err := taskArgs(args, tt, opts.Args)
		if err != nil {
			return err
		}
		if err := m.refuseRoot(); err != nil {
			return err
		}
		if !asJSON.on() {
			opts.Sink = m.printEntry
		}
		b := m.backend(m.paths(homeOption(cmd)))
		result, err := run(b, cmd.Context(), tt.Name, name, opts)
		return m.report(tt.Name, name, result, err, asJSON.on())
	}
	return cmd
}

// positionalArgs returns the task's arguments that follow @NAME, in order.
func positionalArgs(tt aegir.TaskType) []aegir.TaskArg {
	var list []aegir.TaskArg
	for _, a := range tt.Args {
		if a.Positional {
			list = append(list, a)
		}
	}
	return list
}

// positionalUsage is @NAME and the task's positional arguments, optional
// ones in brackets.
func positionalUsage(tt aegir.TaskType) string {
	usage := "@NAME"
	for _, a := range positionalArgs(tt) {
		switch {
		case a.Variadic:
			usage += " " + strings.ToUpper(a.Name) + "..."
		case a.Required:
			usage += " " + strings.ToUpper(a.Name)
		default:
			usage += " [" + strings.ToUpper(a.Name) + "]"
		}
	}
	return usage
}

// argPlaceholder names an option's value: its values, or its name.
func argPlaceholder(a aegir.TaskArg) string {
	if len(a.Enum) > 0 {
		return strings.Join(a.Enum, "|")
	}
	return strings.ToUpper(a.Name)
}

// taskUsage is the command line of a task: @NAME, its positional
// arguments, its options and --force.
func taskUsage(tt aegir.TaskType) string {
	usage := "aegir " + tt.Name + " " + positionalUsage(tt)
	for _, a := range tt.Args {
		switch {
		case a.Positional:
		case a.Kind == aegir.ArgBool:
			usage += " [--" + a.Name + "]"
		default:
			usage += " [--" + a.Name + "=" + argPlaceholder(a) + "]"
		}
	}
	if tt.Force {
		usage += " [--force]"
	}
	return usage
}

// taskHelp is the help of a task command, from its catalog row: what it
// does, what it runs on, and its arguments in their order.
func taskHelp(tt aegir.TaskType) string {
	var b strings.Builder
	objects := objectsPhrase(tt.Objects)
	fmt.Fprintf(&b, "%s.\n\nRuns on %s.", tt.Summary, objects)
	if tt.Heavy {
		b.WriteString(" Heavy: refused while the machine's load is critical\n($AEGIR_LOAD_CRITICAL, else ten per CPU).")
	}
	b.WriteString("\n\nArguments, in this order:\n")
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "  @NAME\tthe %s\n", objects[len("a "):])
	for _, a := range positionalArgs(tt) {
		name, doc := strings.ToUpper(a.Name), a.Doc
		switch {
		case a.Variadic:
			name += "..."
			doc += " (one or more)"
		case a.Required:
		default:
			name = "[" + name + "]"
			doc += " (optional)"
		}
		fmt.Fprintf(w, "  %s\t%s\n", name, doc)
	}
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// objectsPhrase names context types in a sentence: "a site", "a server,
// platform or site".
func objectsPhrase(types []aegir.ContextType) string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	if len(names) == 1 {
		return "a " + names[0]
	}
	return "a " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// taskArgs checks the positional arguments against the task's and puts
// them in args; it returns the context name.
func taskArgs(pos []string, tt aegir.TaskType, args map[string]string) (string, error) {
	positional := positionalArgs(tt)
	required, variadic := 1, false
	for _, a := range positional {
		if a.Required {
			required++
		}
		variadic = variadic || a.Variadic
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
// failure into the command's error. A nil Result is a command line the
// task refused before it began: its error alone is the answer.
func (m *Main) report(task, name string, result *aegir.Result, err error, asJSON bool) error {
	if result == nil {
		return err
	}
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
