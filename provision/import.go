package provision

import (
	"context"
	"os"

	"github.com/aegir-hosting/aegir"
)

// importSite adopts a site found on its platform: reads its settings,
// records the credentials, and verifies it.
func (t *run) importSite(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadSite(ctx, c)
	if err != nil {
		return err
	}
	if s.site.Status != aegir.SiteNotInstalled && !t.opts.Force {
		return aegir.Errorf(aegir.ECONFLICT, "site @%s is already installed", c.Name)
	}
	if _, err := os.Stat(s.siteDir()); err != nil {
		return aegir.Errorf(aegir.ENOTFOUND, "no site directory at %s", s.siteDir())
	}
	before := t.orig
	return t.steps.Run(ctx, []aegir.Step{
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
			t.data["db_name"] = settings.DB.Name
			t.log.Infof("read the settings of %s: database %q, profile %s, language %s", s.site.URI, settings.DB.Name, s.site.Profile, s.site.Language)
			return nil, nil
		}},
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
		{Name: "vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
			return s.http.WriteSite(ctx, s.vhost())
		}},
		{Name: "context", Do: func(ctx context.Context) (aegir.Undo, error) {
			s.site.Status = aegir.SiteEnabled
			return t.putContext(ctx, c, before)
		}},
		{Name: "packages", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.packages(ctx, s)
		}},
	})
}
