package provision

import (
	"context"
	"os"

	"github.com/aegir-hosting/aegir"
)

// importSite adopts a site found on its platform: reads its settings,
// records the credentials, and verifies it. Steps:
//
//	read settings   app.ReadSettings; db.DatabaseExists of the database they name   no undo
//	private directory  privateDirStep (steps_private.go): sites/<uri>/private moved
//	                out of the root, for an app that keeps it there   undo: moved back
//	site directory  siteDirStep                          no undo
//	php pool        poolStep (steps_pool.go), when the server gives each site its own pool
//	                undo: the pool removed
//	settings        settingsStep: app.WriteSettings      undo: the previous file
//	permissions     permissionsStep                      no undo
//	certificate     certificateStep: CertificateService.Obtain   undo: removes one it created
//	vhost           vhostStep: http.WriteSite            undo: the previous vhost
//	context         contextStep: ContextStore.Put, status enabled, the credentials read
//	                undo: the previous context
//	packages        packagesStep: app.Packages           no undo
func (t *run) importSite(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadSite(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.site.Status != aegir.SiteNotInstalled && !t.opts.Force {
		return nil, aegir.Errorf(aegir.ECONFLICT, "site @%s is already installed", c.Name)
	}
	if _, err := os.Stat(s.siteDir()); err != nil {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no site directory at %s", s.siteDir())
	}
	return []aegir.Step{
		{Name: "read settings", Do: func(ctx context.Context) (aegir.Undo, error) {
			settings, err := s.platform.app.ReadSettings(ctx, s.appSite())
			if err != nil {
				return nil, err
			}
			if settings.DB.Name != "" {
				ok, err := s.db.DatabaseExists(ctx, settings.DB.Name)
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, aegir.Errorf(aegir.ENOTFOUND, "database %s named in the settings does not exist on @%s", settings.DB.Name, aegir.ContextName(s.site.DBServer))
				}
			}
			s.site.DBName, s.site.DBUser, s.site.DBPassword = settings.DB.Name, settings.DB.User, settings.DB.Password
			if settings.Profile != "" {
				s.site.Profile = settings.Profile
			}
			if settings.Language != "" {
				s.site.Language = settings.Language
			}
			report(t, func(f *aegir.SiteFacts) { f.DBName = settings.DB.Name })
			t.log.Infof("read the settings of %s: database %q, profile %s, language %s", s.site.URI, settings.DB.Name, s.site.Profile, s.site.Language)
			return nil, nil
		}},
		t.privateDirStep(s),
		t.siteDirStep(s),
		t.poolStep(s, false),
		t.settingsStep(s),
		t.permissionsStep(s),
		t.certificateStep(s),
		t.vhostStep(s),
		t.contextStep(s, aegir.SiteEnabled, t.orig),
		t.packagesStep(s),
	}, nil
}
