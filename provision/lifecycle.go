package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"time"

	"github.com/aegir-hosting/aegir"
)

// loadInstalledSite loads a site that must be installed.
func (t *run) loadInstalledSite(ctx context.Context, c *aegir.Context) (*siteEnv, error) {
	s, err := t.loadSite(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.site.Status == aegir.SiteNotInstalled {
		return nil, aegir.Errorf(aegir.EINVALID, "site @%s is not installed", c.Name)
	}
	report(t, func(f *aegir.SiteFacts) { f.DBName = s.site.DBName })
	return s, nil
}

// backupFile returns the backup a task was given, which must exist.
func (t *run) backupFile() (string, error) {
	file := t.opts.Args["file"]
	if file == "" {
		return "", aegir.FieldErrorf("file", "name the backup to use")
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(t.b.Paths.Backups(), file)
	}
	if st, err := os.Stat(file); err != nil || st.IsDir() {
		return "", aegir.FieldErrorf("file", "%s is not a backup file", file)
	}
	return file, nil
}

// restore takes a backup of the site, then deploys the chosen backup in
// its place with a new database; the old database goes last.
func (t *run) restore(ctx context.Context, c *aegir.Context) error {
	return t.deployInPlace(ctx, c, true)
}

// deploy unpacks a backup into the site without taking a backup first.
func (t *run) deploy(ctx context.Context, c *aegir.Context) error {
	return t.deployInPlace(ctx, c, false)
}

// deployInPlace deploys the backup named by the file arg into the site
// itself, after a safety backup when asked. The old_uri arg names the site
// the backup was taken from, when it was another.
func (t *run) deployInPlace(ctx context.Context, c *aegir.Context, backupFirst bool) error {
	file, err := t.backupFile()
	if err != nil {
		return err
	}
	load := t.loadSite
	if backupFirst {
		load = t.loadInstalledSite
	}
	s, err := load(ctx, c)
	if err != nil {
		return err
	}
	d := &deployment{target: s, file: file, oldURI: s.site.URI, oldURL: s.url(), oldURLGuessed: true, before: t.orig}
	if u := t.opts.Args["old_uri"]; u != "" {
		if err := aegir.ValidateURI("old_uri", u); err != nil {
			return err
		}
		d.oldURI, d.oldURL = u, "http://"+u
	}
	var steps []aegir.Step
	if backupFirst {
		if err := t.noteLostDatabase(ctx, s); err != nil {
			return err
		}
		// The safety backup reads the site while the backup to restore is
		// unpacked and imported beside it; it is complete before the new
		// copy takes the site's place.
		var safety string
		start, join := t.sideBackupSteps(s, &safety)
		steps = append(steps, start)
		d.beforeSwap = join
	}
	steps = append(steps, t.deploySteps(d)...)
	steps = append(steps, t.cleanupStep(d, s.db, nil))
	return t.steps.Run(ctx, steps)
}

// targetSite builds the site a migrate or clone deploys into: a copy of
// the source context on another platform and/or under another name.
func (t *run) targetSite(ctx context.Context, src *aegir.Context, platform, uri string) (*siteEnv, *aegir.Context, error) {
	if err := aegir.ValidateURI("new_uri", uri); err != nil {
		return nil, nil, err
	}
	var before *aegir.Context
	if uri != src.Name {
		existing, err := t.b.Contexts.Get(ctx, uri)
		if err == nil {
			return nil, nil, aegir.FieldErrorf("new_uri", "context @%s already exists (a %s)", uri, existing.Type)
		} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
			return nil, nil, err
		}
	} else {
		before = t.orig
	}
	tc := src.Clone()
	tc.Name, tc.Site.URI = uri, uri
	tc.Site.Platform = "@" + aegir.ContextName(platform)
	if err := aegir.CheckReferences(ctx, t.b.Contexts, tc); err != nil {
		return nil, nil, err
	}
	target, err := t.loadSite(ctx, tc)
	if err != nil {
		return nil, nil, err
	}
	return target, before, nil
}

// migrate moves a site to another platform, optionally renaming it: check
// packages, back up, deploy onto the target, then remove the old copy.
func (t *run) migrate(ctx context.Context, c *aegir.Context) error {
	platform := t.opts.Args["platform"]
	if platform == "" {
		return aegir.FieldErrorf("platform", "name the target platform")
	}
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	newURI := t.opts.Args["new_uri"]
	if newURI == "" {
		newURI = s.site.URI
	}
	target, before, err := t.targetSite(ctx, c, platform, newURI)
	if err != nil {
		return err
	}
	renamed := newURI != s.site.URI
	if target.platform.root == s.platform.root && !renamed {
		return aegir.FieldErrorf("platform", "@%s is already on @%s", c.Name, target.platform.name)
	}
	if target.platform.appName != s.platform.appName {
		return aegir.FieldErrorf("platform", "@%s is a %s platform, the site is %s", target.platform.name, target.platform.appName, s.platform.appName)
	}
	if renamed {
		// The new name stops being an alias; the site keeps its others.
		target.site.Aliases = without(target.site.Aliases, newURI)
		if target.site.Redirection == newURI || target.site.Redirection == s.site.URI {
			target.site.Redirection = ""
		}
	}
	report(t, func(r *aegir.MoveResult) { r.OldPlatform, r.NewURI = "@"+s.platform.name, newURI })
	var file string
	d := &deployment{target: target, oldURI: s.site.URI, oldURL: s.url(), before: before, moveData: true}
	steps := append([]aegir.Step{t.sourcePackageCheck(s, d)}, t.moveSteps(s, d, &file)...)
	// The deploy took the old database for its own: it is the source site's,
	// dropped once the new copy serves.
	d.oldDB.name, d.oldDB.user = s.site.DBName, s.site.DBUser
	var aside string
	steps = append(steps, t.retireSteps(s, target, renamed, &aside)...)
	steps = append(steps, t.cleanupStep(d, s.db, func(ctx context.Context) error {
		if err := s.platform.app.DeleteSite(ctx, s.appSite()); err != nil {
			return err
		}
		if err := removeIfExists(movedTablesPath(s.siteDir())); err != nil {
			return err
		}
		return os.RemoveAll(aside)
	}))
	return t.steps.Run(ctx, steps)
}

// moveSteps back up the source site of a migrate or clone and deploy it
// into the target: on the same machine by copying it directly (see
// copySteps), else through the backup.
func (t *run) moveSteps(s *siteEnv, d *deployment, file *string) []aegir.Step {
	if sameMachine(s, d.target) {
		before, after := t.copySteps(s, d, file)
		return append(append(before, t.bringUpSteps(d)...), after...)
	}
	steps := t.backupSteps(s, file)
	steps = append(steps, aegir.Step{Name: "choose backup", Do: func(context.Context) (aegir.Undo, error) {
		d.file = *file
		return nil, nil
	}})
	return append(steps, t.deploySteps(d)...)
}

// sourcePackageCheck checks the packages of the source site of a migrate
// or clone against the target's codebase. The deploy that follows carries
// a copy of the same database, so it keeps this check rather than make it
// again on the copy.
func (t *run) sourcePackageCheck(s *siteEnv, d *deployment) aegir.Step {
	return aegir.Step{Name: "package check", Do: func(ctx context.Context) (aegir.Undo, error) {
		var err error
		d.pkgs, err = t.checkPackages(ctx, s, d.target)
		return nil, err
	}}
}

// retireSteps take the source site of a migrate out of service once its
// copy serves: its vhost (unless the copy took over the same name and
// server), its context (when renamed), and its directory, set aside at
// *aside until the final cleanup removes it.
func (t *run) retireSteps(s, target *siteEnv, renamed bool, aside *string) []aegir.Step {
	sameVhost := !renamed && s.webName == target.webName
	return []aegir.Step{
		{Name: "remove old vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
			if sameVhost {
				return nil, nil
			}
			return s.http.DeleteSite(ctx, s.site.URI)
		}},
		{Name: "release old certificates", Do: func(ctx context.Context) (aegir.Undo, error) {
			if !renamed {
				return nil, nil
			}
			return t.release(ctx, s, s.site.URI, nil)
		}},
		{Name: "remove old context", Do: func(ctx context.Context) (aegir.Undo, error) {
			if !renamed {
				return nil, nil
			}
			before := t.orig
			if err := t.b.Contexts.Delete(ctx, s.ctx.Name); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return t.b.Contexts.Put(ctx, before) }, nil
		}},
		{Name: "set aside old site directory", Do: func(context.Context) (aegir.Undo, error) {
			dir := s.siteDir()
			*aside = fmt.Sprintf("%s.old-%d", dir, time.Now().UnixNano())
			if err := os.Rename(dir, *aside); err != nil {
				return nil, err
			}
			return func(context.Context) error { return os.Rename(*aside, dir) }, nil
		}},
	}
}

func without(list []string, item string) []string {
	var out []string
	for _, v := range list {
		if v != item {
			out = append(out, v)
		}
	}
	return out
}

// clone copies a site under a new name, on its platform or another, with
// its own database and files; aliases and redirection are not copied.
func (t *run) clone(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	newURI := t.opts.Args["new_uri"]
	if newURI == s.site.URI {
		return aegir.FieldErrorf("new_uri", "a clone needs a name of its own")
	}
	platform := t.opts.Args["platform"]
	if platform == "" {
		platform = s.site.Platform
	}
	target, _, err := t.targetSite(ctx, c, platform, newURI)
	if err != nil {
		return err
	}
	if target.platform.appName != s.platform.appName {
		return aegir.FieldErrorf("platform", "@%s is a %s platform, the site is %s", target.platform.name, target.platform.appName, s.platform.appName)
	}
	target.site.Aliases, target.site.Redirection = nil, ""
	// The clone's names are its own: it starts without SSL, like without
	// aliases, and gets a certificate of its own once SSL is turned on.
	target.site.SSLEnabled, target.site.SSLKey, target.site.SSLProvider, target.site.HSTS = aegir.SSLOff, "", "", false
	target.site.DBName, target.site.DBUser, target.site.DBPassword = "", "", ""
	report(t, func(r *aegir.MoveResult) { r.NewURI = newURI })
	var file string
	d := &deployment{target: target, oldURI: s.site.URI, oldURL: s.url()}
	steps := append([]aegir.Step{t.sourcePackageCheck(s, d)}, t.moveSteps(s, d, &file)...)
	return t.steps.Run(ctx, steps)
}

// setEnabled disables or enables a site: its status in the context and a
// vhost that serves it or says it is disabled.
func (t *run) setEnabled(ctx context.Context, c *aegir.Context, enabled bool) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	before := t.orig
	status := aegir.SiteDisabled
	if enabled {
		status = aegir.SiteEnabled
	}
	steps := []aegir.Step{
		{Name: "context", Do: func(ctx context.Context) (aegir.Undo, error) {
			s.site.Status = status
			return t.putContext(ctx, c, before)
		}},
		t.certificateStep(s),
	}
	vhost := aegir.Step{Name: "vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
		v := s.vhost()
		v.DisabledURL = t.opts.Args["disabled_url"]
		return s.http.WriteSite(ctx, v)
	}}
	// A site that serves again serves at its URL of now, which its data
	// must hold (SSL may have been turned on while it was disabled); a
	// disabled one shows none of its pages, and its next enable or verify
	// moves the address.
	if enabled {
		return t.steps.Run(ctx, append(steps, t.vhostSteps(s, vhost)...))
	}
	return t.steps.Run(ctx, append(steps, vhost))
}

// deleteSite backs the site up, then removes its vhost, directory,
// database and context. Past the backup it can only be undone by restoring
// that backup, so the removals come last.
func (t *run) deleteSite(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	if err := t.noteLostDatabase(ctx, s); err != nil {
		return err
	}
	var file string
	steps := t.backupSteps(s, &file)
	steps = append(steps,
		aegir.Step{Name: "remove vhost", Do: func(ctx context.Context) (aegir.Undo, error) {
			return s.http.DeleteSite(ctx, s.site.URI)
		}},
		t.releaseStep(s),
		aegir.Step{Name: "remove site directory", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := s.platform.app.DeleteSite(ctx, s.appSite()); err != nil {
				return nil, err
			}
			return nil, os.RemoveAll(s.siteDir())
		}},
		aegir.Step{Name: "drop database", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, s.db.DropDatabase(ctx, s.site.DBName, s.site.DBUser)
		}},
		aegir.Step{Name: "remove context", Do: func(ctx context.Context) (aegir.Undo, error) {
			return nil, t.b.Contexts.Delete(ctx, c.Name)
		}},
	)
	return t.steps.Run(ctx, steps)
}

// deleteContext removes a platform or server context that nothing uses.
func (t *run) deleteContext(ctx context.Context, c *aegir.Context) error {
	all, err := t.b.Contexts.List(ctx, "")
	if err != nil {
		return err
	}
	for _, other := range all {
		for _, ref := range other.WithDefaults().References() {
			if aegir.ContextName(ref.Name) == c.Name {
				return aegir.Errorf(aegir.ECONFLICT, "@%s is still used by %s @%s: delete or migrate it first", c.Name, other.Type, other.Name)
			}
		}
	}
	t.log.Infof("removed context @%s", c.Name)
	return t.b.Contexts.Delete(ctx, c.Name)
}

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
			report(t, func(f *aegir.SiteFacts) { f.DBName = settings.DB.Name })
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

// loginReset makes a one-time admin login link.
func (t *run) loginReset(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	link, err := s.platform.app.LoginLink(ctx, s.appSite())
	if err != nil {
		return err
	}
	report(t, func(f *aegir.LoginLinkMade) { f.LoginLink = link })
	t.log.Successf("login link: %s", link)
	return nil
}

// cron runs the app's periodic jobs for the site.
func (t *run) cron(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	if s.site.Status == aegir.SiteDisabled {
		return aegir.Errorf(aegir.EINVALID, "site @%s is disabled", c.Name)
	}
	return s.platform.app.Cron(ctx, s.appSite())
}
