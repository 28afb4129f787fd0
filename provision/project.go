package provision

import (
	"context"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// CreateProject records a new project (Backend.Projects), with a new
// webhook secret when it has none.
func (b *Backend) CreateProject(ctx context.Context, p *aegir.Project) error {
	if b.Projects == nil {
		return aegir.Errorf(aegir.EINTERNAL, "this back end keeps no projects")
	}
	return aegir.CreateProject(b.Projects, p)
}

// EnvironmentRequest is a new environment of a project.
type EnvironmentRequest struct {
	Project, Name, GitRef string
	// CloneFrom names an environment whose site is cloned, instead of a new
	// site installed.
	CloneFrom string
	// Protected refuses syncs into the environment without --force; nil:
	// protected when it is named live.
	Protected *bool
}

// CreateEnvironment makes an environment of a project: its platform
// (platform_<project>_<env>, built from the project's repository at the
// ref by a verify), and its site <env>.<base domain> on it, installed or
// cloned from another environment's site. Each task's Result goes to
// each; the first that fails stops it, and what it made stays for the
// user to see (a verify or delete mends it).
func (b *Backend) CreateEnvironment(ctx context.Context, req EnvironmentRequest, opts aegir.TaskOptions, each func(task, name string, r *aegir.Result)) error {
	if b.Projects == nil {
		return aegir.Errorf(aegir.EINTERNAL, "this back end keeps no projects")
	}
	p, err := b.Projects.Get(req.Project)
	if err != nil {
		return err
	}
	if err := aegir.ValidateEnvironmentName("environment", req.Name); err != nil {
		return err
	}
	if _, ok := p.Environments[req.Name]; ok {
		return aegir.FieldErrorf("environment", "project %s has an environment %s already", p.Name, req.Name)
	}
	if req.GitRef == "" {
		return aegir.FieldErrorf("git_ref", "name the branch, tag or commit of the environment")
	}
	if err := aegir.ValidateGitRef("git_ref", req.GitRef); err != nil {
		return err
	}
	var from *aegir.Environment
	if req.CloneFrom != "" {
		if from = p.Environments[req.CloneFrom]; from == nil {
			return aegir.FieldErrorf("clone_from", "project %s has no environment %q", p.Name, req.CloneFrom)
		}
	}
	protected := req.Name == "live"
	if req.Protected != nil {
		protected = *req.Protected
	}
	platform, site := p.PlatformName(req.Name), p.SiteName(req.Name)
	for _, name := range []string{platform, site} {
		if _, err := b.Contexts.Get(ctx, name); err == nil {
			return aegir.Errorf(aegir.ECONFLICT, "@%s exists already", name)
		} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
			return err
		}
	}
	pc, err := aegir.NewContext(platform, aegir.PlatformContext)
	if err != nil {
		return err
	}
	pc.Platform.Root = filepath.Join(b.Paths.Platforms(), p.Name+"_"+req.Name)
	pc.Platform.GitURL, pc.Platform.GitRef = p.GitURL, req.GitRef
	if err := b.putChecked(ctx, pc); err != nil {
		return err
	}
	run := func(task, name string, args map[string]string) error {
		o := opts
		o.Args = args
		r, err := b.Run(ctx, task, name, o)
		if each != nil {
			each(task, name, r)
		}
		return err
	}
	if err := run(aegir.TaskVerify, platform, nil); err != nil {
		return err
	}
	if from != nil {
		if err := run(aegir.TaskClone, from.Site, map[string]string{"new_uri": site, "platform": "@" + platform}); err != nil {
			return err
		}
	} else {
		sc, err := aegir.NewContext(site, aegir.SiteContext)
		if err != nil {
			return err
		}
		sc.Site.Platform, sc.Site.Profile = "@"+platform, p.Profile
		if err := b.putChecked(ctx, sc); err != nil {
			return err
		}
	}
	// The site is the environment's: a clone's copy named its source's.
	sc, err := b.Contexts.Get(ctx, site)
	if err != nil {
		return err
	}
	sc.Site.Project, sc.Site.Environment, sc.Site.Protected = p.Name, req.Name, protected
	if err := b.putChecked(ctx, sc); err != nil {
		return err
	}
	if from == nil {
		if err := run(aegir.TaskInstall, site, nil); err != nil {
			return err
		}
	}
	if p.Environments == nil {
		p.Environments = map[string]*aegir.Environment{}
	}
	p.Environments[req.Name] = &aegir.Environment{GitRef: req.GitRef, Site: site}
	return b.Projects.Put(p)
}

// putChecked validates a context and what it names, then writes it.
func (b *Backend) putChecked(ctx context.Context, c *aegir.Context) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := aegir.CheckReferences(ctx, b.Contexts, c); err != nil {
		return err
	}
	return b.Contexts.Put(ctx, c)
}
