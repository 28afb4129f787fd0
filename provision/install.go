package provision

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// install creates a site: its directory, database, settings and vhost,
// with the app's installer, and a login link for its admin. An installed
// site, or settings already there, are refused unless forced. Steps:
//
//	site directory  createSiteDir           undo: removed with all in it, unless it was there
//	php pool        poolStep (steps_pool.go): SiteUsers.Ensure, Own, PHPPools.WritePool,
//	                when the server gives each site its own pool   undo: the pool and a new user removed
//	database        createDatabase (steps_database.go): db.CreateDatabase under a name
//	                from the URI, its user and grants   undo: db.DropDatabase, with its user
//	settings        settingsStep: app.WriteSettings     undo: the previous file, or none
//	permissions     permissionsStep                     no undo
//	app install     app.Install, then the permissions again   no undo (the files and database go)
//	certificate     certificateStep: CertificateService.Obtain   undo: removes one it created
//	vhost           vhostStep: http.WriteSite           undo: the previous vhost, or none
//	context         ContextStore.Put, status enabled, the credentials   undo: the site as it was
//	packages        packagesStep: app.Packages          no undo
//	login link      app.LoginLink; a failure is only a warning   no undo
func (t *run) install(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadSite(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := t.refuseReinstall(s); err != nil {
		return nil, err
	}
	before := *t.orig.Site
	admin := aegir.Admin{Name: "admin", Email: s.adminEmail()}
	return []aegir.Step{
		{Name: "site directory", Do: func(context.Context) (aegir.Undo, error) {
			return t.createSiteDir(s)
		}},
		t.poolStep(s, true),
		{Name: "database", Do: func(ctx context.Context) (aegir.Undo, error) {
			return t.createDatabase(ctx, s)
		}},
		t.settingsStep(s),
		t.permissionsStep(s),
		{Name: "app install", Do: func(ctx context.Context) (aegir.Undo, error) {
			var err error
			if admin.Password, err = Password(20); err != nil {
				return nil, err
			}
			t.log.Infof("installing %s site %s with profile %s, language %s", s.platform.appName, s.site.URI, s.site.Profile, s.site.Language)
			if err := s.platform.app.Install(ctx, s.appSite(), admin); err != nil {
				return nil, err
			}
			// The installer wrote files as this user: give them back to the web group.
			return nil, t.permissions(s)
		}},
		t.certificateStep(s),
		t.pushSiteStep(s, true),
		t.vhostStep(s),
		{Name: "context", Do: func(ctx context.Context) (aegir.Undo, error) {
			c.Site.Status = aegir.SiteEnabled
			if err := t.b.Contexts.Put(ctx, c); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				*c.Site = before
				return t.b.Contexts.Put(ctx, c)
			}, nil
		}},
		t.packagesStep(s),
		{Name: "login link", Do: func(ctx context.Context) (aegir.Undo, error) {
			link, err := s.platform.app.LoginLink(ctx, s.appSite())
			if err != nil {
				t.log.Warnf("no login link: %v", err)
				return nil, nil
			}
			report(t, func(f *aegir.LoginLinkMade) { f.LoginLink = link })
			t.log.Successf("login link: %s", link)
			return nil, nil
		}},
	}, nil
}

// refuseReinstall stops an install over an installed site or existing
// settings unless forced, so a typo never wipes a live site.
func (t *run) refuseReinstall(s *siteEnv) error {
	if t.opts.Force {
		return nil
	}
	if s.site.Status != aegir.SiteNotInstalled {
		return aegir.Errorf(aegir.ECONFLICT, "site @%s is already installed (status %s)", s.site.URI, s.site.Status)
	}
	if rel := s.platform.app.SettingsFile(); rel != "" {
		path := filepath.Join(s.siteDir(), rel)
		if _, err := os.Stat(path); err == nil {
			return aegir.Errorf(aegir.ECONFLICT, "settings already exist at %s: import the site, or install with --force", path)
		}
	}
	return nil
}

// createSiteDir creates sites/<uri>; its undo removes the directory and all
// the install put in it, unless it was there before.
func (t *run) createSiteDir(s *siteEnv) (aegir.Undo, error) {
	dir := s.siteDir()
	_, err := os.Stat(dir)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := t.siteDirectories(s); err != nil {
		return nil, err
	}
	if existed {
		return nil, nil
	}
	t.log.Infof("created %s", dir)
	return func(context.Context) error { return os.RemoveAll(dir) }, nil
}
