package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

// showCommand prints a context's properties, defaults filled in and
// secrets masked.
func (m *Main) showCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "show @NAME",
		Short:             "print a named context, defaults filled in and secrets masked",
		GroupID:           groupContexts,
		ValidArgsFunction: m.completeContext,
	}
	asJSON := addSwitch(cmd.Flags(), "json", "print the context as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		name, err := contextArg(args, "show")
		if err != nil {
			return err
		}
		c, err := contextfile.New(m.paths(homeOption(cmd))).Get(cmd.Context(), name)
		if err != nil {
			return err
		}
		props := propertyValues(c.WithDefaults())
		if asJSON.on() {
			enc := json.NewEncoder(m.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"name": "@" + c.Name, "context_type": c.Type, "properties": props})
		}
		fmt.Fprintf(m.Stdout, "@%s\ncontext_type: %s\n", c.Name, c.Type)
		for _, p := range aegir.Properties(c.Type) {
			if v, ok := props[p.Name]; ok {
				fmt.Fprintf(m.Stdout, "%s: %v\n", p.Name, v)
			}
		}
		return nil
	}
	return cmd
}

// propertyValues maps the set properties of c to their values, secrets
// masked.
func propertyValues(c *aegir.Context) map[string]any {
	return c.SetProperties("********")
}
