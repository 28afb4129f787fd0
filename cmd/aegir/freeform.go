package main

import (
	"context"
	"reflect"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
)

// freeformCommand makes cmd one that takes any property of a context as an
// option (save; setup, for @server_master): cobra hands it its command line
// whole (DisableFlagParsing), --home and --help included, and run gets the
// options aegir has always parsed for it, with the home they name. boolean
// names the options that take no value. The flags cmd declares are for its
// help and the shell's completion only.
func (m *Main) freeformCommand(cmd *cobra.Command, run func(ctx context.Context, paths aegir.Paths, o *options) error, boolean ...string) *cobra.Command {
	cmd.DisableFlagParsing = true
	cmd.DisableFlagsInUseLine = true
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		o, err := parseOptions(args, append(boolean, "help", "h")...)
		if err != nil {
			return err
		}
		for _, help := range []string{"help", "h"} {
			if _, ok := o.flags[help]; ok {
				return cmd.Help()
			}
		}
		home, _ := o.take("home")
		return run(cmd.Context(), m.paths(home), o)
	}
	return cmd
}

// options are the parsed command line of a subcommand: positional
// arguments and --name=value options, in any order.
type options struct {
	args  []string
	flags map[string]string
	order []string
}

// parseOptions reads --name=value, --name value and bare --name (true).
// Names are canonicalised to underscores, as Aegir users type them.
func parseOptions(args []string, boolean ...string) (*options, error) {
	o := &options{flags: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			o.args = append(o.args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		name = aegir.PropertyName(name)
		if name == "" {
			return nil, usageErrorf("bad option %q", a)
		}
		if !hasValue {
			isBool := false
			for _, b := range boolean {
				isBool = isBool || b == name
			}
			if isBool || i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
				value = "true"
			} else {
				i++
				value = args[i]
			}
		}
		if _, dup := o.flags[name]; dup {
			return nil, usageErrorf("option --%s given twice", name)
		}
		o.flags[name] = value
		o.order = append(o.order, name)
	}
	return o, nil
}

// take removes an option and returns its value.
func (o *options) take(name string) (string, bool) {
	v, ok := o.flags[name]
	delete(o.flags, name)
	return v, ok
}

// bool removes a boolean option and returns its value.
func (o *options) bool(name string) (bool, error) {
	v, ok := o.take(name)
	if !ok {
		return false, nil
	}
	switch v {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, usageErrorf("--%s takes no value or true/false, not %q", name, v)
}

// rest returns the options not taken yet, in command-line order.
func (o *options) rest() []string {
	var names []string
	for _, n := range o.order {
		if _, ok := o.flags[n]; ok {
			names = append(names, n)
		}
	}
	return names
}

// noMore fails when options are left that the command does not know.
func (o *options) noMore() error {
	if rest := o.rest(); len(rest) > 0 {
		return usageErrorf("unknown option --%s", rest[0])
	}
	return nil
}

// propertiesHelp lists the properties save takes for each context type,
// for the help of the freeform commands.
func propertiesHelp(types ...aegir.ContextType) string {
	var b strings.Builder
	for _, typ := range types {
		line := "  " + string(typ) + ":"
		for _, p := range aegir.Properties(typ) {
			if p.Internal {
				continue
			}
			if len(line)+len(p.Name) > 78 {
				b.WriteString(line + "\n")
				line = "   "
			}
			if p.Kind == reflect.Map {
				line += " --" + aegir.CustomPrefix + "NAME"
				continue
			}
			line += " --" + p.Name
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
