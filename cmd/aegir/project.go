package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/provision"
)

// projectCommand creates and shows projects: a git repository hosted as
// environments (docs/platforms.md, "Projects").
func (m *Main) projectCommand() *cobra.Command {
	return m.freeformCommand(&cobra.Command{
		Use:   "project create|show @project_NAME [--git_url=URL] [--base_domain=DOMAIN] [--profile=NAME] [--client=NAME]",
		Short: "create or show a project (a git repository hosted as dev, test, live ... environments)",
		Long: `project create records a project: its repository (git_url), the domain its
environments' sites are named under (base_domain, default <name>.localhost), the
install profile of their sites, the client who owns it, and a new webhook secret.
project show prints it, its environments and the webhook secret.`,
		GroupID: groupContexts,
	}, m.project)
}

// envCommand creates an environment of a project.
func (m *Main) envCommand() *cobra.Command {
	return m.freeformCommand(&cobra.Command{
		Use:   "env create @project_NAME ENV --git_ref=REF [--clone_from=ENV] [--protected=true|false]",
		Short: "create an environment of a project: a platform built from a ref and its site",
		Long: `env create builds the platform platform_<project>_<env> from the project's
repository at --git_ref and puts the site <env>.<base_domain> on it: installed, or
cloned from the site of another environment (--clone_from). An environment named
live is protected (a sync into it needs --force) unless --protected=false.`,
		GroupID: groupContexts,
	}, m.env)
}

// projectArg reads @project_NAME (or NAME).
func projectArg(s string) (string, error) {
	name := strings.TrimPrefix(aegir.ContextName(s), "project_")
	return name, aegir.ValidateProjectName("project", name)
}

func (m *Main) project(ctx context.Context, paths aegir.Paths, o *options) error {
	if len(o.args) != 2 || (o.args[0] != "create" && o.args[0] != "show") {
		return usageErrorf("usage: aegir project create|show @project_NAME [--git_url=URL] ...")
	}
	name, err := projectArg(o.args[1])
	if err != nil {
		return err
	}
	b := m.backend(paths)
	if o.args[0] == "show" {
		if err := o.noMore(); err != nil {
			return err
		}
		p, err := b.Projects.Get(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "project: %s\ngit_url: %s\nbase_domain: %s\nprofile: %s\nclient: %s\nwebhook_secret: %s\n",
			p.Name, p.GitURL, p.BaseDomain, p.Profile, p.Client, p.WebhookSecret)
		envs := make([]string, 0, len(p.Environments))
		for e := range p.Environments {
			envs = append(envs, e)
		}
		sort.Strings(envs)
		for _, e := range envs {
			fmt.Fprintf(m.Stdout, "environment %s: @%s at %s\n", e, p.Environments[e].Site, p.Environments[e].GitRef)
		}
		return nil
	}
	if err := m.refuseRoot(); err != nil {
		return err
	}
	p := &aegir.Project{Name: name}
	p.GitURL, _ = o.take("git_url")
	p.BaseDomain, _ = o.take("base_domain")
	p.Profile, _ = o.take("profile")
	p.Client, _ = o.take("client")
	if p.BaseDomain == "" {
		p.BaseDomain = name + ".localhost"
	}
	if err := o.noMore(); err != nil {
		return err
	}
	if err := b.CreateProject(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "created project %s\nwebhook secret: %s\n", p.Name, p.WebhookSecret)
	return nil
}

func (m *Main) env(ctx context.Context, paths aegir.Paths, o *options) error {
	if len(o.args) != 3 || o.args[0] != "create" {
		return usageErrorf("usage: aegir env create @project_NAME ENV --git_ref=REF [--clone_from=ENV]")
	}
	if err := m.refuseRoot(); err != nil {
		return err
	}
	name, err := projectArg(o.args[1])
	if err != nil {
		return err
	}
	req := provision.EnvironmentRequest{Project: name, Name: o.args[2]}
	req.GitRef, _ = o.take("git_ref")
	req.CloneFrom, _ = o.take("clone_from")
	if _, ok := o.flags["protected"]; ok {
		v, err := o.bool("protected")
		if err != nil {
			return err
		}
		req.Protected = &v
	}
	if err := o.noMore(); err != nil {
		return err
	}
	// Each task's log, as the task commands print it.
	return m.backend(paths).CreateEnvironment(ctx, req, aegir.TaskOptions{}, func(task, name string, r *aegir.Result) {
		for _, e := range r.Log {
			m.printEntry(e)
		}
	})
}
