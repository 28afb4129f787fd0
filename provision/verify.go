package provision

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

func (t *run) verifyServer(ctx context.Context, c *aegir.Context) error {
	server := c.Server
	server.Defaults()
	var db aegir.DBService
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	t.data["http_service_type"] = server.HTTPServiceType
	t.data["db_service_type"] = server.DBServiceType
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
			t.data["app"], t.data["version"], t.data["root"] = p.appName, p.version, p.root
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
			t.data["packages"] = pkgs
			t.log.Infof("found %d packages", len(pkgs))
			return nil, nil
		}},
		{Name: "sites", Do: func(context.Context) (aegir.Undo, error) {
			sites, err := sitesOnDisk(p)
			if err != nil {
				return nil, err
			}
			t.data["sites"] = sites
			if len(sites) > 0 {
				t.log.Infof("sites found on the platform: %v", sites)
			}
			return nil, nil
		}},
	})
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

func (t *run) verifySite(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadSite(ctx, c)
	if err != nil {
		return err
	}
	if s.site.Status == aegir.SiteNotInstalled {
		return aegir.Errorf(aegir.EINVALID, "site @%s is not installed: run aegir install @%s", c.Name, c.Name)
	}
	t.data["db_name"] = s.site.DBName
	steps := []aegir.Step{
		{Name: "recover", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.recoverMovedTables(ctx, s)
		}},
		{Name: "set aside strays", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.setAsideStrays(ctx, s)
		}},
		t.databaseStep(s),
		{Name: "site directory", Do: func(context.Context) (aegir.Undo, error) {
			return nil, t.siteDirectories(s)
		}},
		{Name: "settings", Do: func(ctx context.Context) (aegir.Undo, error) {
			return t.writeSettings(ctx, s)
		}},
		{Name: "permissions", Do: func(context.Context) (aegir.Undo, error) {
			return nil, t.permissions(s)
		}},
		t.certificateStep(s),
	}
	// The site's URL may have changed scheme or port since the data was
	// written (SSL turned on or off): the address step moves it.
	steps = append(steps, t.vhostSteps(s, aegir.Step{Name: "vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
		return s.http.WriteSite(ctx, s.vhost())
	}})...)
	steps = append(steps,
		t.releaseStep(s),
		aegir.Step{Name: "packages", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.packages(ctx, s)
		}},
	)
	return t.steps.Run(ctx, steps)
}
