package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

// saveCommand creates, updates or deletes a named context. Only the
// properties given change; a value of "null" resets one; nothing is written
// unless the whole result is valid.
func (m *Main) saveCommand() *cobra.Command {
	cmd := m.freeformCommand(&cobra.Command{
		Use:   "save @NAME [--context_type=TYPE] [--PROPERTY=VALUE ...] [--delete]",
		Short: "create, update or delete a named context",
		Long: `Save creates or updates the named context: only the properties given change,
--PROPERTY=null resets one, and nothing is written unless the whole context is
valid and every context it names exists. --delete removes a context nothing
refers to.

Properties, by context type:
` + propertiesHelp(contextTypes()...),
		GroupID: groupContexts,
	}, m.save, "delete")
	addOption(cmd.Flags(), "context_type", "TYPE", "server, platform or site: required to create a context")
	addSwitch(cmd.Flags(), "delete", "delete the context")
	cmd.ValidArgsFunction = m.completeSave
	return cmd
}

// save runs aegir save.
func (m *Main) save(ctx context.Context, paths aegir.Paths, o *options) error {
	if err := m.refuseRoot(); err != nil {
		return err
	}
	name, err := contextArg(o.args, "save")
	if err != nil {
		return err
	}
	store := contextfile.New(paths)
	del, err := o.bool("delete")
	if err != nil {
		return err
	}
	if del {
		if err := o.noMore(); err != nil {
			return err
		}
		return deleteContext(ctx, store, name, m)
	}
	c, err := saveContext(ctx, store, name, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "saved %s context @%s\n", c.Type, c.Name)
	return nil
}

// saveContext applies the options to the context and writes it.
func saveContext(ctx context.Context, store aegir.ContextStore, name string, o *options) (*aegir.Context, error) {
	typ, typed := o.take("context_type")
	c, err := store.Get(ctx, name)
	switch {
	case aegir.ErrorCode(err) == aegir.ENOTFOUND:
		if !typed {
			return nil, aegir.FieldErrorf("context_type", "is required to create @%s (server, platform or site)", name)
		}
		if c, err = aegir.NewContext(name, aegir.ContextType(typ)); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case typed && aegir.ContextType(typ) != c.Type:
		return nil, aegir.FieldErrorf("context_type", "@%s is a %s; delete it first to make it a %s", name, c.Type, typ)
	}
	for _, prop := range o.rest() {
		if err := c.SetProperty(prop, o.flags[prop]); err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := aegir.CheckReferences(ctx, store, c.WithDefaults()); err != nil {
		return nil, err
	}
	return c, store.Put(ctx, c)
}

// deleteContext removes a context that no other context refers to.
func deleteContext(ctx context.Context, store aegir.ContextStore, name string, m *Main) error {
	if _, err := store.Get(ctx, name); err != nil {
		return err
	}
	all, err := store.List(ctx, "")
	if err != nil {
		return err
	}
	for _, other := range all {
		for _, ref := range other.WithDefaults().References() {
			if aegir.ContextName(ref.Name) == name {
				return aegir.Errorf(aegir.ECONFLICT, "@%s is used by @%s (%s): delete or change that first", name, other.Name, ref.Property)
			}
		}
	}
	if err := store.Delete(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "deleted context @%s\n", name)
	return nil
}
