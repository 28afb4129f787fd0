package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

// listCommand prints the named contexts, optionally of one type.
func (m *Main) listCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "list [--type server|platform|site]",
		Short:                 "list named contexts",
		GroupID:               groupContexts,
		Args:                  takes(0),
		DisableFlagsInUseLine: true,
		ValidArgsFunction:     cobra.NoFileCompletions,
	}
	typ := addOption(cmd.Flags(), "type", "server|platform|site", "list only the contexts of this type")
	for _, t := range contextTypes() {
		typ.values = append(typ.values, string(t))
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		switch aegir.ContextType(typ.value) {
		case "", aegir.ServerContext, aegir.PlatformContext, aegir.SiteContext:
		default:
			return aegir.FieldErrorf("type", "%q is not one of server, platform, site", typ.value)
		}
		all, err := contextfile.New(m.paths(homeOption(cmd))).List(cmd.Context(), aegir.ContextType(typ.value))
		if err != nil {
			return err
		}
		for _, c := range all {
			fmt.Fprintf(m.Stdout, "@%-40s %s\n", c.Name, c.Type)
		}
		return nil
	}
	return cmd
}
