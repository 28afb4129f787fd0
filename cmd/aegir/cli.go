package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
)

// Command groups, as `aegir help` lists them.
const (
	groupContexts = "contexts"
	groupTasks    = "tasks"
	groupHosting  = "hosting"
)

// command builds the command tree: a command per file of this package, and
// one per task of the catalog. Run builds it afresh each time, so no state
// outlives a command line.
func (m *Main) command() *cobra.Command {
	root := &cobra.Command{
		Use:   "aegir",
		Short: "the aegir hosting system",
		Long: `aegir is the aegir hosting system: the back end, which saves named contexts
(servers, platforms, sites) and runs tasks on them, and the front end (aegir serve).

Options are written --name=value or --name value; dashes and underscores in
their names are the same (--http-port, --http_port).`,
		Version: buildVersion(),
		Args:    cobra.ArbitraryArgs,
		RunE:    chooseCommand,
		// Errors are printed once, by main, and decide the exit status.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetGlobalNormalizationFunc(optionName)
	root.SetFlagErrorFunc(flagError)
	addOption(root.PersistentFlags(), "home", "DIR", "the aegir home: contexts, config, backups (default $AEGIR_HOME, else "+defaultHome+")")
	root.MarkPersistentFlagDirname("home")
	root.AddGroup(
		&cobra.Group{ID: groupContexts, Title: "Named contexts:"},
		&cobra.Group{ID: groupTasks, Title: "Tasks (from the task catalog):"},
		&cobra.Group{ID: groupHosting, Title: "Hosting server and front end:"},
	)
	root.AddCommand(
		m.saveCommand(), m.showCommand(), m.listCommand(),
		m.setupCommand(), m.bootstrapCommand(), m.serveCommand(), m.tokenCommand(), m.userCommand(), m.hostingImportCommand(),
		m.siteUserCommand(), m.offsiteCommand(), m.recoverCommand(), m.projectCommand(), m.envCommand(),
		m.versionCommand(),
	)
	for _, tt := range aegir.Tasks() {
		switch {
		case tt.Internal:
		case tt.Name == aegir.TaskMigratePlatform:
			// A batch: it reports on each site.
			root.AddCommand(m.taskCommand(tt, migratePlatform))
		default:
			root.AddCommand(m.taskCommand(tt, (*provision.Backend).Run))
		}
	}
	return root
}

// chooseCommand runs a command that only groups others (aegir, aegir token,
// aegir user) when no command of its, or an unknown one, follows it.
// aegir alone prints its help, as it always did.
func chooseCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 && !cmd.HasParent() {
		return cmd.Help()
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	if len(args) == 0 {
		return usageErrorf("%s needs one of: %s", cmd.CommandPath(), strings.Join(names, ", "))
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	cmd.SuggestionsMinimumDistance = 2 // "aegir lst": did you mean list?
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	if cmd.HasParent() {
		return usageErrorf("%s for %s, which takes %s", msg, cmd.CommandPath(), strings.Join(names, ", "))
	}
	return usageErrorf("%s: aegir help lists the commands", msg)
}

// takes checks that a command has n arguments: a usage error naming its
// use line otherwise.
func takes(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("usage: %s", cmd.UseLine())
		}
		return nil
	}
}

// optionName makes --http-port and --http_port the same option, as Aegir
// users type both: the canonical name has underscores.
func optionName(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	return pflag.NormalizedName(aegir.PropertyName(name))
}

// flagError turns a mistake in the options into a usage error (exit
// status 2), in aegir's words.
func flagError(_ *cobra.Command, err error) error {
	var usage *usageError
	var unknown *pflag.NotExistError
	var noValue *pflag.ValueRequiredError
	switch {
	case errors.As(err, &usage):
		return usage
	case errors.As(err, &unknown) && unknown.GetSpecifiedShortnames() != "":
		return usageErrorf("unknown option -%s", unknown.GetSpecifiedShortnames())
	case errors.As(err, &unknown):
		return usageErrorf("unknown option --%s", aegir.PropertyName(unknown.GetSpecifiedName()))
	case errors.As(err, &noValue):
		return usageErrorf("option --%s takes a value", aegir.PropertyName(noValue.GetSpecifiedName()))
	}
	return &usageError{err.Error()}
}

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// option is the value of one --name=value option. As aegir's options always
// were, it may be given once (or again with the same value: cobra parses a
// command line twice when it completes one); a switch also stands alone
// (true), or takes true, 1, yes, false, 0 or no.
type option struct {
	name     string
	value    string
	given    bool
	isSwitch bool
	// placeholder names the value in help: DIR, URL, gz|zst.
	placeholder string
	// values are what the shell completes it to.
	values []string
}

// addOption adds --name, which takes a value, to flags.
func addOption(flags *pflag.FlagSet, name, placeholder, usage string) *option {
	o := &option{name: name, placeholder: placeholder}
	flags.Var(o, name, usage)
	return o
}

// addSwitch adds --name, which stands alone, to flags.
func addSwitch(flags *pflag.FlagSet, name, usage string) *option {
	o := &option{name: name, isSwitch: true, placeholder: "bool"}
	flags.Var(o, name, usage)
	flags.Lookup(name).NoOptDefVal = "true"
	return o
}

// Set is called by the flag parser with the value given.
func (o *option) Set(v string) error {
	if o.isSwitch {
		switch v {
		case "true", "1", "yes":
			v = "true"
		case "false", "0", "no":
			v = "false"
		default:
			return usageErrorf("--%s takes no value or true/false, not %q", o.name, v)
		}
	}
	if o.given && v != o.value {
		return usageErrorf("option --%s given twice", o.name)
	}
	o.value, o.given = v, true
	return nil
}

// String returns the value given, or "".
func (o *option) String() string { return o.value }

// Type names the value in help ("bool" shows none).
func (o *option) Type() string { return o.placeholder }

// on reports whether a switch is on.
func (o *option) on() bool { return o.value == "true" }

// homeOption returns the --home given to any command, or "".
func homeOption(cmd *cobra.Command) string {
	if f := cmd.Flag("home"); f != nil {
		return f.Value.String()
	}
	return ""
}
