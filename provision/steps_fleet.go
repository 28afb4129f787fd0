package provision

import (
	"context"
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
		if err != nil || t.b.Transport == nil || server.IsLocal() {
			return nil, err
		}
		if err := t.b.Transport.Push(ctx, name, server, root(), siteOwnFiles); err != nil {
			return nil, err
		}
		t.log.Infof("pushed the codebase %s to server %s (%s)", root(), name, server.RemoteHost)
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
		if t.b.Transport == nil || s.web.IsLocal() {
			return nil, nil
		}
		remote := t.b.Transport.Runner(s.webName, s.web)
		dir := s.siteDir()
		_, existed := remote.Run(ctx, aegir.Command{Args: []string{"test", "-d", dir}})
		if err := t.b.Transport.Push(ctx, s.webName, s.web, dir, exclude); err != nil {
			return nil, err
		}
		t.log.Infof("pushed %s to server %s", dir, s.webName)
		if existed == nil {
			return nil, nil
		}
		return func(ctx context.Context) error {
			if _, err := remote.Run(ctx, aegir.Command{Args: []string{"rm", "-rf", "--", dir}}); err != nil {
				return fmt.Errorf("remove %s on server %s: %w", dir, s.webName, err)
			}
			return nil
		}, nil
	}}
}

// fetchSiteFilesStep is "fetch files": the site's own files (files/ and
// private/) copied back from a remote web server, which holds them, so a
// backup taken here has what users uploaded there. No undo: the master's
// copy only follows the server's.
func (t *run) fetchSiteFilesStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "fetch files", Do: func(ctx context.Context) (aegir.Undo, error) {
		if t.b.Transport == nil || s.web.IsLocal() {
			return nil, nil
		}
		remote := t.b.Transport.Runner(s.webName, s.web)
		for _, sub := range []string{"files", "private"} {
			dir := filepath.Join(s.siteDir(), sub)
			if _, err := remote.Run(ctx, aegir.Command{Args: []string{"test", "-d", dir}}); err != nil {
				continue // the site has none there
			}
			if err := t.b.Transport.Fetch(ctx, s.webName, s.web, dir, nil); err != nil {
				return nil, err
			}
			t.log.Infof("fetched %s from server %s", dir, s.webName)
		}
		return nil, nil
	}}
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
