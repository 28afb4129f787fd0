package provision

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// clone copies a site under a new name, on its platform or another, with
// its own database and files; aliases and redirection are not copied. A
// failed clone leaves no directory, database, vhost, context or backup.
// Steps:
//
//	package check                 sourcePackageCheck (steps_move.go): app.SitePackages and
//	                              app.Packages; an error stops it unless --force   no undo
//	(moveSteps)                   steps_move.go; on the same web and db servers: database, dump
//	                              database, archive, unpack, import (copySteps), swap in …
//	                              packages (bringUpSteps), choose backup, remove dump; otherwise:
//	                              dump database, archive, remove dump (backupSteps), choose
//	                              backup, database … packages (deploySteps)
//	                              undo: as each of those
//	remove task record            the record the database step wrote (record.go)   no undo
func (t *run) clone(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	newURI := t.opts.Args["new_uri"]
	if newURI == s.site.URI {
		return nil, aegir.FieldErrorf("new_uri", "a clone needs a name of its own")
	}
	platform := t.opts.Args["platform"]
	if platform == "" {
		platform = s.site.Platform
	}
	target, _, err := t.targetSite(ctx, c, platform, newURI, "")
	if err != nil {
		return nil, err
	}
	if target.platform.appName != s.platform.appName {
		return nil, aegir.FieldErrorf("platform", "@%s is a %s platform, the site is %s", target.platform.name, target.platform.appName, s.platform.appName)
	}
	target.site.Aliases, target.site.Redirection = nil, ""
	// The clone's names are its own: it starts without SSL, like without
	// aliases, and gets a certificate of its own once SSL is turned on.
	target.site.SSLEnabled, target.site.SSLKey, target.site.SSLProvider, target.site.HSTS = aegir.SSLOff, "", "", false
	target.site.DBName, target.site.DBUser, target.site.DBPassword = "", "", ""
	report(t, func(r *aegir.MoveResult) { r.NewURI = newURI })
	var file string
	d := &deployment{target: target, source: s, oldURI: s.site.URI, oldURL: s.url()}
	steps := []aegir.Step{t.sourcePackageCheck(s, d)}
	steps = append(steps, t.moveSteps(s, d, &file)...)
	// A clone leaves its source as it was: nothing to clean up but its
	// record.
	return append(steps, aegir.Step{Name: "remove task record", Do: func(context.Context) (aegir.Undo, error) {
		if err := d.record.end(); err != nil {
			t.log.Warnf("remove the task's record: %v", err)
		}
		return nil, nil
	}}), nil
}
