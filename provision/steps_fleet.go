package provision

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// siteOwnFiles are a platform's paths that its web server holds the
// authoritative copy of (users upload there): a push of the code neither
// sends nor deletes them, as in Aegir.
var siteOwnFiles = []string{"/sites/*/files", "/sites/*/private"}

// pushPlatformStep is "push code": the platform's codebase copied to its
// web server when that is remote (rsync --delete, the same path, its
// sites' own files left alone). Without a transport, or for a local web
// server, it does nothing. No undo: the master's codebase is what the
// server must hold, and the next verify pushes it again.
func (t *run) pushPlatformStep(webRef string, root func() string) aegir.Step {
	return aegir.Step{Name: "push code", Do: func(ctx context.Context) (aegir.Undo, error) {
		name, server, err := t.server(ctx, webRef)
		if err != nil || t.b.Transport == nil {
			return nil, err
		}
		webs, err := t.webServers(ctx, name, server)
		if err != nil {
			return nil, err
		}
		for _, w := range webs {
			if w.server.IsLocal() {
				continue
			}
			if err := t.b.Transport.Push(ctx, w.name, w.server, root(), siteOwnFiles); err != nil {
				return nil, err
			}
			t.log.Infof("pushed the codebase %s to server %s (%s)", root(), w.name, w.server.RemoteHost)
		}
		return nil, nil
	}}
}

// pushSiteStep is "push site": the site's directory copied to a remote web
// server. With its files (install, deploy, migrate: the master's copy is
// the one to serve), or without its files/ and private/ (verify: the
// server's are authoritative). Undo: a directory the push made there is
// removed; one it found stays, as the next push makes it whole.
func (t *run) pushSiteStep(s *siteEnv, withFiles bool) aegir.Step {
	var exclude []string
	if !withFiles {
		exclude = []string{"/files", "/private"}
	}
	return aegir.Step{Name: "push site", Do: func(ctx context.Context) (aegir.Undo, error) {
		if t.b.Transport == nil {
			return nil, nil
		}
		// The site's directory, and its private directory outside the root
		// (steps_private.go) where it has one: the same path on each
		// server, where the site's settings name it. Without files, only
		// the private directory itself, not what it holds.
		type push struct {
			dir     string
			exclude []string
		}
		pushes := []push{{s.siteDir(), exclude}}
		if s.private != "" {
			var privateExclude []string
			if !withFiles {
				privateExclude = []string{"/*"}
			}
			pushes = append(pushes, push{s.private, privateExclude})
		}
		type made struct {
			w   webServer
			dir string
		}
		var mades []made // where the push made a directory
		undo := func(ctx context.Context) error {
			var errs []error
			for _, m := range mades {
				errs = append(errs, t.removeRemoteSiteDir(ctx, m.w.name, m.w.server, m.dir))
			}
			return errors.Join(errs...)
		}
		for _, w := range s.webs {
			if w.server.IsLocal() {
				continue
			}
			remote := t.b.Transport.Runner(w.name, w.server)
			for _, p := range pushes {
				_, existed := remote.Run(ctx, aegir.Command{Args: []string{"test", "-d", p.dir}})
				if err := t.b.Transport.Push(ctx, w.name, w.server, p.dir, p.exclude); err != nil {
					return nil, errors.Join(err, undo(ctx))
				}
				t.log.Infof("pushed %s to server %s", p.dir, w.name)
				if existed != nil {
					mades = append(mades, made{w, p.dir})
				}
			}
		}
		return undo, nil
	}}
}

// fetchSiteFilesStep is "fetch files": the site's own files (files/ and
// private/, and its private directory outside the root) copied back from
// a remote web server, which holds them, so a backup taken here has what
// users uploaded there. No undo: the master's
// copy only follows the server's.
func (t *run) fetchSiteFilesStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "fetch files", Do: func(ctx context.Context) (aegir.Undo, error) {
		// A cluster's uploads are taken from its first member.
		w := s.webs[0]
		if t.b.Transport == nil || w.server.IsLocal() {
			return nil, nil
		}
		remote := t.b.Transport.Runner(w.name, w.server)
		dirs := []string{filepath.Join(s.siteDir(), "files"), filepath.Join(s.siteDir(), "private")}
		if s.private != "" {
			dirs = append(dirs, s.private)
		}
		for _, dir := range dirs {
			if _, err := remote.Run(ctx, aegir.Command{Args: []string{"test", "-d", dir}}); err != nil {
				continue // the site has none there
			}
			if err := t.b.Transport.Fetch(ctx, w.name, w.server, dir, nil); err != nil {
				return nil, err
			}
			t.log.Infof("fetched %s from server %s", dir, w.name)
		}
		return nil, nil
	}}
}

// webServer is a machine serving sites: a web server, or one member of a
// cluster.
type webServer struct {
	name   string
	server *aegir.Server
}

// webServers returns the machines behind the web server name: the members
// of a cluster, else the server itself.
func (t *run) webServers(ctx context.Context, name string, s *aegir.Server) ([]webServer, error) {
	if s.HTTPServiceType != aegir.ServiceCluster {
		return []webServer{{name, s}}, nil
	}
	var out []webServer
	for _, ref := range s.ClusterWebServers {
		n, m, err := t.server(ctx, ref)
		if err != nil {
			return nil, aegir.FieldErrorf("cluster_web_servers", "@%s: %v", name, err)
		}
		if m.HTTPServiceType == aegir.ServiceCluster {
			// Itself among them too: a cluster of clusters has no machine.
			return nil, aegir.FieldErrorf("cluster_web_servers", "@%s: @%s is a cluster itself", name, n)
		}
		out = append(out, webServer{n, m})
	}
	return out, nil
}

// clusterMembers is the Env.ClusterMembers of the cluster name: its
// members' http services, each with its own environment.
func (t *run) clusterMembers(name string, s *aegir.Server) func(context.Context) ([]aegir.ClusterMember, error) {
	return func(ctx context.Context) ([]aegir.ClusterMember, error) {
		webs, err := t.webServers(ctx, name, s)
		if err != nil {
			return nil, err
		}
		var out []aegir.ClusterMember
		for _, w := range webs {
			env := t.serverEnv(w.name, w.server)
			svc, err := aegir.NewHTTPService(w.server, w.name, env)
			if err != nil {
				return nil, fmt.Errorf("@%s: %w", w.name, err)
			}
			out = append(out, aegir.ClusterMember{Name: w.name, HTTP: svc, Runner: env.Runner})
		}
		return out, nil
	}
}

// removeRemoteSiteDir removes a site directory from the remote web server
// name, once the site is served from elsewhere (a migrate's old copy).
// Nothing for a local server or without a transport.
func (t *run) removeRemoteSiteDir(ctx context.Context, name string, web *aegir.Server, dir string) error {
	if t.b.Transport == nil || web == nil || web.IsLocal() {
		return nil
	}
	if _, err := t.b.Transport.Runner(name, web).Run(ctx, aegir.Command{Args: []string{"rm", "-rf", "--", dir}}); err != nil {
		return fmt.Errorf("remove %s on server %s: %w", dir, name, err)
	}
	t.log.Infof("removed %s on server %s", dir, name)
	return nil
}
