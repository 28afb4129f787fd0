// Package cluster is the "cluster" http service: a server whose web
// servers (cluster_web_servers) each serve every site of its platforms.
// Every change goes to every member in turn; a member that fails, or is
// unreachable, fails the change naming it, and the members already changed
// are put back (their own undo), so no member is left half-changed.
package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/aegir-hosting/aegir"
)

func init() { aegir.RegisterHTTP(aegir.ServiceCluster, New) }

// Service fans the http service's calls out to the cluster's members.
type Service struct {
	name string
	env  aegir.Env
}

// New returns the cluster service of the server name. The members come
// from env.ClusterMembers, which the back end sets.
func New(server *aegir.Server, name string, env aegir.Env) (aegir.HTTPService, error) {
	if env.ClusterMembers == nil {
		return nil, aegir.Errorf(aegir.EINVALID, "cluster @%s: its members cannot be reached from here", name)
	}
	return &Service{name: name, env: env}, nil
}

// members returns the cluster's members once each has answered, so a
// member that is down fails the change before any member is touched.
func (c *Service) members(ctx context.Context) ([]aegir.ClusterMember, error) {
	ms, err := c.env.ClusterMembers(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster @%s: %w", c.name, err)
	}
	for _, m := range ms {
		if _, err := m.Runner.Run(ctx, aegir.Command{Args: []string{"true"}}); err != nil {
			return nil, fmt.Errorf("cluster @%s: web server @%s does not answer: %w", c.name, m.Name, err)
		}
	}
	return ms, nil
}

// each runs fn on every member in turn. When one fails, what the others
// did is undone, last first, and the error names the member.
func (c *Service) each(ctx context.Context, fn func(aegir.ClusterMember) (aegir.Undo, error)) (aegir.Undo, error) {
	ms, err := c.members(ctx)
	if err != nil {
		return nil, err
	}
	var undos []aegir.Undo
	undo := func(ctx context.Context) error {
		var errs []error
		for i := len(undos) - 1; i >= 0; i-- {
			errs = append(errs, undos[i](ctx))
		}
		return errors.Join(errs...)
	}
	for _, m := range ms {
		u, err := fn(m)
		if err != nil {
			err = fmt.Errorf("cluster @%s, web server @%s: %w", c.name, m.Name, err)
			if uerr := undo(ctx); uerr != nil {
				err = errors.Join(err, fmt.Errorf("putting back the other web servers: %w", uerr))
			}
			return nil, err
		}
		if u != nil {
			undos = append(undos, u)
		}
	}
	if len(undos) == 0 {
		return nil, nil // nothing changed anywhere
	}
	return undo, nil
}

// VerifyServer verifies every member's web server. There is nothing to
// undo: a verify writes what the contexts say.
func (c *Service) VerifyServer(ctx context.Context) error {
	_, err := c.each(ctx, func(m aegir.ClusterMember) (aegir.Undo, error) {
		return nil, m.HTTP.VerifyServer(ctx)
	})
	return err
}

// WritePlatform writes the platform's file on every member.
func (c *Service) WritePlatform(ctx context.Context, name, root, app string) (aegir.Undo, error) {
	return c.each(ctx, func(m aegir.ClusterMember) (aegir.Undo, error) {
		return m.HTTP.WritePlatform(ctx, name, root, app)
	})
}

// WriteSite writes the site's vhost on every member, each tested and
// reloaded there.
func (c *Service) WriteSite(ctx context.Context, v *aegir.Vhost) (aegir.Undo, error) {
	return c.each(ctx, func(m aegir.ClusterMember) (aegir.Undo, error) {
		return m.HTTP.WriteSite(ctx, v)
	})
}

// DeleteSite removes the site's vhost from every member.
func (c *Service) DeleteSite(ctx context.Context, uri string) (aegir.Undo, error) {
	return c.each(ctx, func(m aegir.ClusterMember) (aegir.Undo, error) {
		return m.HTTP.DeleteSite(ctx, uri)
	})
}

var _ aegir.HTTPService = (*Service)(nil)
