package main

import (
	"context"
	"fmt"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

// list prints the named contexts, optionally of one type.
func (m *Main) list(ctx context.Context, args []string) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	paths := m.paths(o)
	typ, _ := o.take("type")
	if err := o.noMore(); err != nil {
		return err
	}
	if len(o.args) > 0 {
		return usageErrorf("usage: aegir list [--type server|platform|site]")
	}
	switch aegir.ContextType(typ) {
	case "", aegir.ServerContext, aegir.PlatformContext, aegir.SiteContext:
	default:
		return aegir.FieldErrorf("type", "%q is not one of server, platform, site", typ)
	}
	all, err := contextfile.New(paths).List(ctx, aegir.ContextType(typ))
	if err != nil {
		return err
	}
	for _, c := range all {
		fmt.Fprintf(m.Stdout, "@%-40s %s\n", c.Name, c.Type)
	}
	return nil
}
