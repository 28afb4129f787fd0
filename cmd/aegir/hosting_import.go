package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/dispatch"
)

// hostingImportCommand brings a context made with the CLI, and every
// context it refers to, into the front end's store, and queues a verify of
// each, so a back end used alone can be adopted later. Records that exist
// are updated from the contexts.
func (m *Main) hostingImportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "hosting-import @NAME",
		Short:             "bring a context made with the CLI into the front end",
		Long:              "Hosting-import brings a context made with the CLI, and every context it refers to, into the\nfront end's store, and queues a verify of each. Records that exist are updated from the contexts.",
		GroupID:           groupHosting,
		ValidArgsFunction: m.completeContext,
	}
	database := addDatabaseOption(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		paths := m.paths(homeOption(cmd))
		return m.hostingImport(cmd.Context(), paths, databaseURL(database, paths), args)
	}
	return cmd
}

// hostingImport runs aegir hosting-import.
func (m *Main) hostingImport(ctx context.Context, paths aegir.Paths, dbURL string, args []string) error {
	name, err := contextArg(args, "hosting-import")
	if err != nil {
		return err
	}
	if err := m.refuseRoot(); err != nil {
		return err
	}
	contexts := contextfile.New(paths)
	// References first, so every record's references exist when it is made.
	var order []*aegir.Context
	seen := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		name = aegir.ContextName(name)
		if seen[name] {
			return nil
		}
		seen[name] = true
		c, err := contexts.Get(ctx, name)
		if err != nil {
			return err
		}
		for _, ref := range c.WithDefaults().References() {
			if err := visit(ref.Name); err != nil {
				return fmt.Errorf("@%s %s: %w", name, ref.Property, err)
			}
		}
		order = append(order, c)
		return nil
	}
	if err := visit(name); err != nil {
		return err
	}
	store, err := aegir.OpenStore(ctx, dbURL)
	if err != nil {
		return err
	}
	defer store.Close()
	for _, c := range order {
		task, err := importRecord(ctx, store, c)
		if err != nil {
			return fmt.Errorf("@%s: %w", c.Name, err)
		}
		fmt.Fprintf(m.Stdout, "imported %s @%s", c.Type, c.Name)
		if task != nil {
			task.Creator = "hosting-import"
			if err := store.EnqueueTask(ctx, task); err != nil {
				return fmt.Errorf("@%s: queue %s: %w", c.Name, task.Type, err)
			}
			fmt.Fprintf(m.Stdout, ", queued %s (task %d)", task.Type, task.ID)
		}
		fmt.Fprintln(m.Stdout)
	}
	return nil
}

// importRecord creates or updates the record of one context and returns
// the verify to queue for it (none for a site that is not installed).
func importRecord(ctx context.Context, store aegir.Store, c *aegir.Context) (*aegir.Task, error) {
	switch c.Type {
	case aegir.ServerContext:
		r, err := store.GetServer(ctx, c.Name)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			err = store.CreateServer(ctx, &aegir.ServerRecord{Name: c.Name, Server: *c.Server})
		} else if err == nil {
			r.Server = *c.Server
			err = store.UpdateServer(ctx, r)
		}
		return dispatch.ServerTask(aegir.TaskVerify, c.Name, nil), err
	case aegir.PlatformContext:
		r, err := store.GetPlatform(ctx, c.Name)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			err = store.CreatePlatform(ctx, &aegir.PlatformRecord{Name: c.Name, Platform: *c.Platform})
		} else if err == nil {
			r.Platform = *c.Platform
			err = store.UpdatePlatform(ctx, r)
		}
		return dispatch.PlatformTask(aegir.TaskVerify, c.Name, nil), err
	case aegir.SiteContext:
		status := c.Site.Status
		if status == aegir.SiteNotInstalled {
			status = dispatch.SiteFound
		}
		r, err := store.GetSite(ctx, c.Name)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			r = &aegir.SiteRecord{Name: c.Name, Site: *c.Site, Status: status}
			err = store.CreateSite(ctx, r)
		} else if err == nil {
			r.Site, r.Status = *c.Site, status
			err = store.UpdateSite(ctx, r)
		}
		if err != nil || status == dispatch.SiteFound {
			return nil, err
		}
		return dispatch.SiteTask(aegir.TaskVerify, r, nil), nil
	}
	return nil, aegir.Errorf(aegir.EINVALID, "unknown context type %q", c.Type)
}
