package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/aegir-hosting/aegir"
)

// homeDirs are the $AEGIR_HOME directories and their modes, as Aegir sets
// them: config is traversable but not listable, backups private.
var homeDirs = []struct {
	path func(aegir.Paths) string
	mode fs.FileMode
}{
	{func(p aegir.Paths) string { return p.Home }, 0o755},
	{aegir.Paths.Contexts, 0o700},
	{aegir.Paths.Config, 0o711},
	{aegir.Paths.Includes, 0o755},
	{aegir.Paths.Backups, 0o700},
	{aegir.Paths.Platforms, 0o755},
	{aegir.Paths.Clients, 0o711},
}

// MakeHome creates the $AEGIR_HOME tree with its modes; it is idempotent.
func MakeHome(paths aegir.Paths) error {
	for _, d := range homeDirs {
		dir := d.path(paths)
		if err := os.MkdirAll(dir, d.mode); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		if err := os.Chmod(dir, d.mode); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	return nil
}

func (t *run) verifyServer(ctx context.Context, c *aegir.Context) error {
	server := c.Server
	server.Defaults()
	var db aegir.DBService
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	report(t, func(r *aegir.ServerVerifyResult) {
		r.HTTPServiceType, r.DBServiceType = server.HTTPServiceType, server.DBServiceType
	})
	return t.steps.Run(ctx, []aegir.Step{
		{Name: "config tree", Do: func(context.Context) (aegir.Undo, error) {
			return nil, MakeHome(t.b.Paths)
		}},
		{Name: "http service", Do: func(ctx context.Context) (aegir.Undo, error) {
			svc, err := aegir.NewHTTPService(server, c.Name, t.env())
			if err != nil {
				return nil, err
			}
			t.log.Infof("verifying %s http service on port %d", server.HTTPServiceType, server.HTTPPort)
			if err := svc.VerifyServer(ctx); err != nil {
				return nil, err
			}
			return nil, t.rewriteServer(ctx, c.Name, svc)
		}},
		{Name: "db service", Do: func(ctx context.Context) (aegir.Undo, error) {
			var err error
			if db, err = aegir.NewDBService(server, t.env()); err != nil {
				return nil, err
			}
			t.log.Infof("verifying %s db service", server.DBServiceType)
			return nil, db.Verify(ctx)
		}},
	})
}

// platformInfo is what verify learns of a platform's codebase.
type platformInfo struct {
	name    string
	root    string
	appName string
	app     aegir.App
	version string
}

func (t *run) detect(c *aegir.Context) (*platformInfo, error) {
	root := c.Platform.Root
	st, err := os.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		if c.Platform.Makefile != "" {
			return nil, aegir.FieldErrorf("makefile", "building a platform from a makefile or source is not supported yet; put the codebase at %s", root)
		}
		return nil, aegir.FieldErrorf("root", "%s does not exist", root)
	} else if err != nil {
		return nil, aegir.FieldErrorf("root", "%v", err)
	} else if !st.IsDir() {
		return nil, aegir.FieldErrorf("root", "%s is not a directory", root)
	}
	name, app, version, err := aegir.DetectApp(root, t.env())
	if err != nil {
		return nil, err
	}
	return &platformInfo{name: c.Name, root: root, appName: name, app: app, version: version}, nil
}

func (t *run) verifyPlatform(ctx context.Context, c *aegir.Context) error {
	c.Platform.Defaults()
	var p *platformInfo
	var http aegir.HTTPService
	return t.steps.Run(ctx, []aegir.Step{
		{Name: "codebase", Do: func(context.Context) (aegir.Undo, error) {
			var err error
			if p, err = t.detect(c); err != nil {
				return nil, err
			}
			t.log.Infof("platform @%s at %s is %s %s", c.Name, p.root, p.appName, p.version)
			report(t, func(r *aegir.PlatformVerifyResult) { r.App, r.Version, r.Root = p.appName, p.version, p.root })
			return nil, nil
		}},
		{Name: "sites directory", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := p.app.VerifyPlatform(ctx, p.root); err != nil {
				return nil, err
			}
			return nil, requireWritable(filepath.Join(p.root, "sites"))
		}},
		{Name: "http platform", Do: func(ctx context.Context) (aegir.Undo, error) {
			var err error
			if _, http, err = t.httpService(ctx, c.Platform.WebServer); err != nil {
				return nil, err
			}
			return http.WritePlatform(ctx, c.Name, p.root, p.appName)
		}},
		{Name: "packages", Do: func(ctx context.Context) (aegir.Undo, error) {
			pkgs, err := p.app.Packages(ctx, p.root)
			if err != nil {
				return nil, err
			}
			report(t, func(f *aegir.PackagesFound) { f.Packages = pkgs })
			t.log.Infof("found %d packages", len(pkgs))
			return nil, nil
		}},
		{Name: "sites", Do: func(context.Context) (aegir.Undo, error) {
			sites, err := sitesOnDisk(p)
			if err != nil {
				return nil, err
			}
			report(t, func(r *aegir.PlatformVerifyResult) { r.Sites = sites })
			if len(sites) > 0 {
				t.log.Infof("sites found on the platform: %v", sites)
			}
			return nil, nil
		}},
	})
}

// requireWritable proves dir is writable by creating and removing a file.
func requireWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".aegir-write-test-*")
	if err != nil {
		return aegir.FieldErrorf("root", "%s is not writable: %v", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// sitesOnDisk lists the site directories of a platform, as Aegir does: not
// default, not all, not links, and holding the app's settings file.
func sitesOnDisk(p *platformInfo) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(p.root, "sites"))
	if err != nil {
		return nil, fmt.Errorf("read sites: %w", err)
	}
	sites := []string{}
	settings := p.app.SettingsFile()
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == "default" || name == "all" || aegir.ValidateURI("uri", name) != nil {
			continue
		}
		if settings != "" {
			if _, err := os.Stat(filepath.Join(p.root, "sites", name, settings)); err != nil {
				continue
			}
		}
		sites = append(sites, name)
	}
	sort.Strings(sites)
	return sites, nil
}

// rewriteServer writes again the platform file of every platform the
// server serves and the vhost of each of their installed sites, so that
// a server whose http service changed (nginx to apache, a new port)
// serves every site again after its verify.
func (t *run) rewriteServer(ctx context.Context, server string, svc aegir.HTTPService) error {
	all, err := t.b.Contexts.List(ctx, "")
	if err != nil {
		return err
	}
	platforms := map[string]*platformInfo{}
	for _, c := range all {
		if c.Type != aegir.PlatformContext || aegir.ContextName(c.WithDefaults().Platform.WebServer) != server {
			continue
		}
		p, err := t.detect(c)
		if err != nil {
			t.log.Warnf("platform @%s: %v", c.Name, err)
			continue
		}
		if _, err := svc.WritePlatform(ctx, c.Name, p.root, p.appName); err != nil {
			return fmt.Errorf("platform @%s: %w", c.Name, err)
		}
		platforms[c.Name] = p
	}
	sites := 0
	for _, c := range all {
		if c.Type != aegir.SiteContext || c.Site.Status == aegir.SiteNotInstalled || platforms[aegir.ContextName(c.Site.Platform)] == nil {
			continue
		}
		s, err := t.loadSite(ctx, c)
		if err != nil {
			return fmt.Errorf("site @%s: %w", c.Name, err)
		}
		if _, err := t.certificateStep(s).Do(ctx); err != nil {
			return fmt.Errorf("site @%s: %w", c.Name, err)
		}
		if _, err := svc.WriteSite(ctx, s.vhost()); err != nil {
			return fmt.Errorf("site @%s: %w", c.Name, err)
		}
		sites++
	}
	if len(platforms) > 0 {
		t.log.Infof("wrote the files of %d platforms and %d sites served by @%s", len(platforms), sites, server)
	}
	return nil
}
