package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// verifyServer checks a server's services and writes their configuration.
// Steps:
//
//	config tree   MakeHome: $AEGIR_HOME's directories and modes   no undo
//	http service  http.VerifyServer (server file, includes, link, test, reload), then
//	              rewriteServer: http.WritePlatform and WriteSite of all it serves
//	              no undo; the driver puts back its previous server file and link
//	              when the web server rejects them
//	db service    db.Verify (connect, create and drop a test database and user)   no undo
func (t *run) verifyServer(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	if isTrue(t.opts.Args["rebuild"]) {
		return nil, aegir.FieldErrorf("rebuild", "rebuilds a platform, not a server")
	}
	server := c.Server
	server.Defaults()
	report(t, func(r *aegir.ServerVerifyResult) {
		r.HTTPServiceType, r.DBServiceType = server.HTTPServiceType, server.DBServiceType
	})
	return []aegir.Step{
		{Name: "config tree", Do: func(context.Context) (aegir.Undo, error) {
			return nil, MakeHome(t.b.Paths)
		}},
		{Name: "http service", Do: func(ctx context.Context) (aegir.Undo, error) {
			svc, err := aegir.NewHTTPService(server, c.Name, t.serverEnv(c.Name, server))
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
			db, err := aegir.NewDBService(server, t.env())
			if err != nil {
				return nil, err
			}
			defer db.Close() // nothing after this step uses it

			t.log.Infof("verifying %s db service", server.DBServiceType)
			return nil, db.Verify(ctx)
		}},
	}, nil
}

// verifyPlatform checks a platform's codebase and writes its web server
// file. Steps:
//
//	build            buildRootStep (steps_build.go): when the root does not exist (or
//	                 with --rebuild) and a source is set, Builder.Build into a temporary
//	                 directory beside it, moved (swapped) into place   undo: removed (swapped back)
//	codebase         detect (platform.go): the root exists, aegir.DetectApp names the
//	                 app and its version                  no undo
//	sites directory  app.VerifyPlatform, sites/ writable  no undo
//	push code        pushPlatformStep (steps_fleet.go): to a remote web server  no undo
//	http platform    http.WritePlatform                   undo: the driver's
//	packages         app.Packages, recorded               no undo
//	sites            sitesOnDisk (platform.go)            no undo
//	old root         oldRootStep: a rebuild's old tree removed   no undo
func (t *run) verifyPlatform(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	c.Platform.Defaults()
	var p *platformInfo
	var http aegir.HTTPService
	var old string // the tree a rebuild swapped out
	return []aegir.Step{
		t.buildRootStep(c.Platform, isTrue(t.opts.Args["rebuild"]), &old),
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
		t.pushPlatformStep(c.Platform.WebServer, func() string { return p.root }),
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
		t.oldRootStep(&old),
	}, nil
}

// verifySite checks an installed site and writes its files, address and
// vhost again. Steps:
//
//	recover               recoverRecords (record.go): undoes, or past its commit point
//	                      finishes, a deploy that died, from the record it kept beside
//	                      the site (tables moved back, a half-restored directory put
//	                      back, a clone's copy set aside); after a migrate to a new
//	                      name that had taken over, the steps below do nothing
//	                      no undo
//	set aside strays      setAsideStrays (strays.go): what a dead task left   no undo
//	database              databaseStep (steps_database.go): db.DatabaseExists, DatabaseSize;
//	                      a lost database puts the site in maintenance and fails   no undo
//	private directory     privateDirStep (steps_private.go): sites/<uri>/private moved out
//	                      of the root, for an app that keeps it there   undo: moved back
//	site directory        siteDirStep                          no undo
//	php pool              poolStep (steps_pool.go): the site's user, directory group and own
//	                      php-fpm pool, when its server gives each site one (a site still in
//	                      the shared pool moves to its own)   undo: the pool removed (the directory
//	                      stays its user's group, which the web server's user is in)
//	settings              settingsStep: app.WriteSettings      undo: the previous file
//	permissions           permissionsStep                      no undo
//	certificate           certificateStep: CertificateService.Obtain   undo: removes one it created
//	push site             pushSiteStep (steps_fleet.go): to a remote web server, without
//	                      files/ and private/   undo: removes what it made
//	site address, vhost   vhostSteps: app.RewriteURI when the data holds another address
//	                      of the site, and vhostStep: http.WriteSite, the vhost first when
//	                      the site requires https     undo: rewritten back; the previous vhost
//	release certificates  releaseStep: CertificateService.Release of those it no longer uses
//	                      undo: put back
//	packages              packagesStep: app.Packages           no undo
func (t *run) verifySite(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	if isTrue(t.opts.Args["rebuild"]) {
		return nil, aegir.FieldErrorf("rebuild", "rebuilds a platform, not a site")
	}
	s, err := t.loadSite(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.site.Status == aegir.SiteNotInstalled {
		return nil, aegir.Errorf(aegir.EINVALID, "site @%s is not installed: run aegir install @%s", c.Name, c.Name)
	}
	report(t, func(f *aegir.SiteFacts) { f.DBName = s.site.DBName })
	// A migrate to a new name that stopped after its copy took over has
	// the site's new name finish it: the site is retired, nothing is left
	// to verify under this name, and the steps after recover do nothing.
	var retired bool
	recover := aegir.Step{Name: "recover", Do: func(ctx context.Context) (aegir.Undo, error) {
		var err error
		retired, err = t.recoverRecords(ctx, s)
		return nil, err
	}}
	steps := []aegir.Step{
		{Name: "set aside strays", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.setAsideStrays(ctx, s)
		}},
		t.databaseStep(s),
		t.privateDirStep(s),
		t.siteDirStep(s),
		t.poolStep(s, false),
		t.settingsStep(s),
		t.permissionsStep(s),
		t.certificateStep(s),
		t.pushSiteStep(s, false),
	}
	// The site's URL may have changed scheme or port since the data was
	// written (SSL turned on or off): the address step moves it.
	steps = append(steps, t.vhostSteps(s, t.vhostStep(s))...)
	steps = append(steps,
		t.releaseStep(s),
		t.packagesStep(s),
	)
	return append([]aegir.Step{recover}, unless(&retired, steps)...), nil
}

// unless makes each of steps do nothing once *skip is true: the steps of
// a verify after a recover that retired the site.
func unless(skip *bool, steps []aegir.Step) []aegir.Step {
	out := make([]aegir.Step, len(steps))
	for i, st := range steps {
		do := st.Do
		out[i] = aegir.Step{Name: st.Name, Do: func(ctx context.Context) (aegir.Undo, error) {
			if *skip {
				return nil, nil
			}
			return do(ctx)
		}}
	}
	return out
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
	sites, shared := 0, 0
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
		v := s.vhost()
		if user := s.phpUser(); user != "" {
			// A site whose own pool its verify has not written yet stays in
			// the shared pool until then, rather than lose its PHP.
			if _, err := os.Stat(filepath.Join(t.b.Paths.PHPPoolDir(server), user+".conf")); err != nil {
				v.PHPSocket = ""
				shared++
			}
		}
		if _, err := svc.WriteSite(ctx, v); err != nil {
			return fmt.Errorf("site @%s: %w", c.Name, err)
		}
		sites++
	}
	if shared > 0 {
		t.log.Infof("%d sites stay in the shared php-fpm pool until their own verify gives them theirs", shared)
	}
	if len(platforms) > 0 {
		t.log.Infof("wrote the files of %d platforms and %d sites served by @%s", len(platforms), sites, server)
	}
	return nil
}
