package main

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

// contextTypes returns the types of context, in the order help names them.
func contextTypes() []aegir.ContextType {
	return []aegir.ContextType{aegir.ServerContext, aegir.PlatformContext, aegir.SiteContext}
}

// contextNames completes @names of the contexts under home of one of the
// types (any when none), from the context files whose names start with what
// is typed: a directory listing, and a file read only when not every type
// will do. No network, no front end.
func (m *Main) contextNames(ctx context.Context, home, typed string, types ...aegir.ContextType) []string {
	prefix := aegir.ContextName(typed)
	if prefix != "" && aegir.ValidateName("name", prefix) != nil {
		return nil // nothing to glob for, and no way out of the directory
	}
	paths := m.paths(home)
	files, _ := filepath.Glob(filepath.Join(paths.Contexts(), prefix+"*.yml"))
	everyType := true
	for _, t := range contextTypes() {
		everyType = everyType && (len(types) == 0 || slices.Contains(types, t))
	}
	store := contextfile.New(paths)
	var names []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yml")
		if !everyType {
			// A file this user may not read (a server's) is of no type asked for.
			if c, err := store.Get(ctx, name); err != nil || !slices.Contains(types, c.Type) {
				continue
			}
		}
		names = append(names, "@"+name)
	}
	return names
}

// completeContext completes the one @NAME argument of show and
// hosting-import.
func (m *Main) completeContext(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return m.contextNames(cmd.Context(), homeOption(cmd), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeTaskArgs completes a task's arguments by their kinds in the
// catalog: the object of the task's types first, then a platform, a file,
// or nothing.
func (m *Main) completeTaskArgs(tt aegir.TaskType) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		home := homeOption(cmd)
		if len(args) == 0 {
			return m.contextNames(cmd.Context(), home, toComplete, tt.Objects...), cobra.ShellCompDirectiveNoFileComp
		}
		positional := positionalArgs(tt)
		i := len(args) - 1
		if i >= len(positional) {
			if len(positional) == 0 || !positional[len(positional)-1].Variadic {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			i = len(positional) - 1
		}
		switch positional[i].Kind {
		case aegir.ArgPlatform:
			return m.contextNames(cmd.Context(), home, toComplete, aegir.PlatformContext), cobra.ShellCompDirectiveNoFileComp
		case aegir.ArgPath, aegir.ArgBackup, aegir.ArgBackups:
			return nil, cobra.ShellCompDirectiveDefault // the shell's file names
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeSave completes save's command line, which it reads itself: the
// context's name, the properties as --name=, and the context types.
func (m *Main) completeSave(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if name, value, ok := strings.Cut(toComplete, "="); ok && strings.HasPrefix(name, "-") {
		if aegir.PropertyName(strings.TrimLeft(name, "-")) != "context_type" {
			return nil, cobra.ShellCompDirectiveDefault
		}
		var types []string
		for _, t := range contextTypes() {
			if strings.HasPrefix(string(t), value) {
				types = append(types, string(t))
			}
		}
		return types, cobra.ShellCompDirectiveNoFileComp
	}
	if strings.HasPrefix(toComplete, "-") {
		// context_type and delete are declared flags, which cobra completes.
		typed := "--" + aegir.PropertyName(strings.TrimLeft(toComplete, "-"))
		var props []string
		for _, t := range contextTypes() {
			for _, p := range aegir.Properties(t) {
				flag := "--" + p.Name + "="
				if p.Kind == reflect.Map {
					flag = "--" + aegir.CustomPrefix
				}
				if !p.Internal && strings.HasPrefix(flag, typed) && !slices.Contains(props, flag) {
					props = append(props, flag)
				}
			}
		}
		return props, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	o, err := parseOptions(args)
	if err != nil || len(o.args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	home, _ := o.take("home")
	return m.contextNames(cmd.Context(), home, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// registerValueCompletions lets the shell complete the options that take
// one of a few values (--format=gz|zst, --type, --role). Cobra keeps these
// functions in a package-level map, so Run registers them only when the
// shell asks it for completions, not on every command line.
func registerValueCompletions(cmd *cobra.Command) {
	register := func(f *pflag.Flag) {
		if o, ok := f.Value.(*option); ok && len(o.values) > 0 {
			cmd.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(o.values, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	cmd.Flags().VisitAll(register)
	cmd.PersistentFlags().VisitAll(register)
	for _, c := range cmd.Commands() {
		registerValueCompletions(c)
	}
}
