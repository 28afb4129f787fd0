package dispatch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Statuses the dispatcher gives records, beside the domain's.
const (
	// SiteFound marks the record of a site that a platform verify found
	// on disk and the front end did not know: it is offered for import
	// (an import task adopts it) and nothing else runs on it until then.
	SiteFound = "found"
	// Verified marks a server or platform whose last verify succeeded; a
	// failed verify marks it aegir.SiteFailed ("failed").
	Verified = "verified"
)

// record writes what a finished task changed into the store, from its
// result (of the type its catalog row names) and the contexts it left.
func (d *Dispatcher) record(ctx context.Context, task *aegir.Task, res any, failed bool, lw *logWriter) error {
	switch task.ObjectType {
	case aegir.SiteContext:
		return d.recordSite(ctx, task, res, failed, lw)
	case aegir.PlatformContext:
		if task.Type == aegir.TaskMigratePlatform {
			return nil // each site was recorded as it moved
		}
		return d.recordPlatform(ctx, task, res, failed, lw)
	case aegir.ServerContext:
		return d.recordServer(ctx, task, failed)
	}
	return nil
}

func (d *Dispatcher) recordServer(ctx context.Context, task *aegir.Task, failed bool) error {
	switch task.Type {
	case aegir.TaskVerify:
		r, err := d.Store.GetServer(ctx, task.Object)
		if err != nil {
			return err
		}
		r.Status = verifyStatus(failed)
		return d.Store.UpdateServer(ctx, r)
	case aegir.TaskDelete:
		if !failed {
			if err := d.Store.DeleteServer(ctx, task.Object); aegir.ErrorCode(err) != aegir.ENOTFOUND {
				return err
			}
		}
	}
	return nil
}

func verifyStatus(failed bool) string {
	if failed {
		return aegir.SiteFailed
	}
	return Verified
}

func (d *Dispatcher) recordPlatform(ctx context.Context, task *aegir.Task, res any, failed bool, lw *logWriter) error {
	switch task.Type {
	case aegir.TaskVerify:
		r, err := d.Store.GetPlatform(ctx, task.Object)
		if err != nil {
			return err
		}
		found := aegir.PartOf[aegir.PlatformVerifyResult](res)
		if found != nil && found.App != "" {
			r.App, r.Version = found.App, found.Version
		}
		r.Status = verifyStatus(failed)
		if err := d.Store.UpdatePlatform(ctx, r); err != nil {
			return err
		}
		if pkgs := aegir.PartOf[aegir.PackagesFound](res); pkgs != nil && pkgs.Packages != nil {
			if err := d.Store.SetPlatformPackages(ctx, r.Name, pkgs.Packages); err != nil {
				return err
			}
		}
		if !failed && found != nil {
			return d.offerSites(ctx, r.Name, found.Sites, lw)
		}
	case aegir.TaskDelete:
		if !failed {
			if err := d.Store.DeletePlatform(ctx, task.Object); aegir.ErrorCode(err) != aegir.ENOTFOUND {
				return err
			}
		}
	}
	return nil
}

// offerSites records the sites found on a platform that the front end
// does not know, with status SiteFound: Aegir offers them for import and
// does not import them by itself.
func (d *Dispatcher) offerSites(ctx context.Context, platform string, sites []string, lw *logWriter) error {
	var offered []string
	for _, name := range sites {
		r, err := d.Store.GetSite(ctx, name)
		switch {
		case err == nil && r.Status != aegir.SiteDeleted:
			continue // known
		case err != nil && aegir.ErrorCode(err) != aegir.ENOTFOUND:
			return err
		}
		found := &aegir.SiteRecord{Name: name, Site: aegir.Site{URI: name, Platform: "@" + platform}, Status: SiteFound}
		if err := d.Store.CreateSite(ctx, found); aegir.ErrorCode(err) == aegir.ECONFLICT || aegir.ErrorCode(err) == aegir.EINVALID {
			lw.infof("sites/%s on @%s is not offered for import: %v", name, platform, err)
			continue
		} else if err != nil {
			return err
		}
		offered = append(offered, name)
	}
	if len(offered) > 0 {
		lw.infof("%d sites found on @%s that the front end did not know are offered for import (run an import task on each): %s",
			len(offered), platform, strings.Join(offered, ", "))
	}
	return nil
}

// recordSite records a site task: the backups it made, the site's status
// and database credentials as the back end left them in its context, its
// packages, and the new site of a clone or a renaming migrate.
func (d *Dispatcher) recordSite(ctx context.Context, task *aegir.Task, res any, failed bool, lw *logWriter) error {
	var errs []error
	// The backup task, and the safety backups of delete, restore, migrate,
	// clone and update-db, which stay on disk.
	backedUp := false
	if made := aegir.PartOf[aegir.BackupMade](res); made != nil && made.File != "" {
		b := &aegir.Backup{Site: task.Object, File: made.File, Size: made.Size, SHA256: made.SHA256}
		if err := d.Store.AddBackup(ctx, b); err != nil {
			errs = append(errs, fmt.Errorf("record backup %s: %w", made.File, err))
		} else {
			backedUp = true
		}
	}
	// A backup-verify's proof, on the backup's row: one the front end does
	// not know (taken by hand, its row deleted) is only logged.
	if v := aegir.PartOf[aegir.BackupVerified](res); v != nil && !failed && v.VerifiedFile != "" {
		err := d.Store.SetBackupVerified(ctx, task.Object, v.VerifiedFile, v.VerifiedAt)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			lw.infof("%s is verified; the front end has no record of it", v.VerifiedFile)
		} else if err != nil {
			errs = append(errs, fmt.Errorf("record the verify of %s: %w", v.VerifiedFile, err))
		}
	}
	r, err := d.Store.GetSite(ctx, task.Object)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		lw.warnf("the record of site @%s went away while the task ran: nothing recorded", task.Object)
		return errors.Join(errs...)
	} else if err != nil {
		return errors.Join(append(errs, err)...)
	}
	c, err := d.Backend.ContextStore().Get(ctx, task.Object)
	if err != nil && aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return errors.Join(append(errs, err)...)
	}
	if c != nil && c.Type != aegir.SiteContext {
		c = nil
	}
	// What the record held, to leave an unchanged record alone (a verify of
	// a site that is fine changes nothing). The changes below set fields,
	// never what a field points to, so a shallow copy tells.
	before := *r
	if c != nil {
		// What tasks set, not users: status and database credentials.
		r.Site.Status, r.Site.DBName, r.Site.DBUser, r.Site.DBPassword = c.Site.Status, c.Site.DBName, c.Site.DBUser, c.Site.DBPassword
		if !failed && (c.Site.Status == aegir.SiteEnabled || c.Site.Status == aegir.SiteDisabled) {
			r.Status = c.Site.Status
		}
	}
	now := time.Now()
	newURI := ""
	moved := aegir.PartOf[aegir.MoveResult](res)
	switch task.Type {
	case aegir.TaskInstall:
		if failed {
			r.Status = aegir.SiteFailed
		}
	case aegir.TaskDelete:
		if !failed {
			r.Status = aegir.SiteDeleted
		}
	case aegir.TaskCron:
		if !failed {
			r.LastCron = &now
		}
	case aegir.TaskBackupDelete:
		if !failed {
			if deleted := aegir.PartOf[aegir.BackupDeleteResult](res); deleted != nil {
				if err := d.deleteBackupRows(ctx, r.Name, deleted.Deleted); err != nil {
					errs = append(errs, err)
				}
			}
		}
	case aegir.TaskMigrate:
		if failed {
			break
		}
		if moved != nil && moved.NewURI != "" && moved.NewURI != r.Name {
			newURI = moved.NewURI
			r.Status = aegir.SiteDeleted
		} else if c != nil {
			r.Site.Platform = c.Site.Platform
		}
	case aegir.TaskDeployCode:
		if failed || c == nil {
			break
		}
		// The platform the deploy built is recorded before the site moves
		// onto it, so the next task writes the site's context as it is.
		if dc := aegir.PartOf[aegir.DeployCodeResult](res); dc != nil && dc.NewPlatform != "" {
			if err := d.recordBuiltPlatform(ctx, aegir.ContextName(dc.NewPlatform), r); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
		r.Site.Platform = c.Site.Platform
	case aegir.TaskClone:
		if !failed && moved != nil {
			newURI = moved.NewURI
		}
	}
	// Any backup the task left is the site's last, whatever task took it
	// (backup, or the safety backup of another), so the site's "last
	// backup" never says none beside a listed one.
	if backedUp && !failed {
		r.LastBackup = &now
	}
	if !reflect.DeepEqual(&before, r) {
		if err := d.Store.UpdateSite(ctx, r); err != nil {
			return errors.Join(append(errs, fmt.Errorf("update site @%s: %w", r.Name, err))...)
		}
	}
	target := r.Name
	if newURI != "" {
		if err := d.recordNewSite(ctx, r, newURI, task.Type == aegir.TaskMigrate); err != nil {
			return errors.Join(append(errs, err)...)
		}
		target = newURI
	}
	if pkgs := aegir.PartOf[aegir.PackagesFound](res); pkgs != nil && pkgs.Packages != nil && !failed && !d.samePackages(ctx, target, pkgs.Packages) {
		if err := d.Store.SetSitePackages(ctx, target, pkgs.Packages); err != nil {
			errs = append(errs, fmt.Errorf("record the packages of @%s: %w", target, err))
		}
	}
	return errors.Join(errs...)
}

// samePackages reports whether the site's package list is pkgs already,
// so that a verify that found nothing new writes nothing.
func (d *Dispatcher) samePackages(ctx context.Context, site string, pkgs []aegir.Package) bool {
	old, err := d.Store.SitePackages(ctx, site)
	if err != nil || len(old) != len(pkgs) {
		return false
	}
	return len(pkgs) == 0 || reflect.DeepEqual(old, pkgs)
}

// recordNewSite records the site a clone or a renaming migrate made, from
// its context: owned by the client of the source site and, for a rename,
// with its history. A record of that name that is not deleted (one found
// on disk) is replaced.
func (d *Dispatcher) recordNewSite(ctx context.Context, src *aegir.SiteRecord, name string, renamed bool) error {
	c, err := d.Backend.ContextStore().Get(ctx, name)
	if err != nil {
		return fmt.Errorf("read the context of the new site @%s: %w", name, err)
	}
	if c.Type != aegir.SiteContext {
		return fmt.Errorf("the context @%s is a %s, not a site", name, c.Type)
	}
	r := &aegir.SiteRecord{Name: name, Site: *c.Site, Client: src.Client, Status: aegir.SiteEnabled}
	if c.Site.Status == aegir.SiteDisabled {
		r.Status = aegir.SiteDisabled
	}
	if renamed {
		r.LastCron, r.LastBackup, r.DiskFiles, r.DiskDB = src.LastCron, src.LastBackup, src.DiskFiles, src.DiskDB
	}
	old, err := d.Store.GetSite(ctx, name)
	switch {
	case err == nil && old.Status != aegir.SiteDeleted:
		err = d.Store.UpdateSite(ctx, r)
	case err == nil || aegir.ErrorCode(err) == aegir.ENOTFOUND:
		err = d.Store.CreateSite(ctx, r)
	}
	if err != nil {
		return fmt.Errorf("record the new site @%s: %w", name, err)
	}
	return nil
}

// deleteBackupRows removes the records of the backup files a backup-delete
// removed: absolute paths, or names in the backups directory.
func (d *Dispatcher) deleteBackupRows(ctx context.Context, site string, files []string) error {
	if len(files) == 0 {
		return nil
	}
	gone := map[string]bool{}
	for _, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(d.Backend.HomePaths().Backups(), f)
		}
		gone[filepath.Clean(f)] = true
	}
	list, err := d.Store.ListBackups(ctx, site)
	if err != nil {
		return err
	}
	for _, b := range list {
		if gone[filepath.Clean(b.File)] {
			if err := d.Store.DeleteBackup(ctx, b.ID); err != nil && aegir.ErrorCode(err) != aegir.ENOTFOUND {
				return fmt.Errorf("delete the record of backup %s: %w", b.File, err)
			}
		}
	}
	return nil
}

// recordMigrated moves the record of a site a batch migrate moved to the
// target platform, with the credentials its context now holds, and
// records the backup its migrate left. The dispatcher calls it as each
// site moves (aegir.TaskOptions.SiteMigrated).
func (d *Dispatcher) recordMigrated(ctx context.Context, o aegir.SiteOutcome, lw *logWriter) error {
	if o.Backup != nil {
		b := &aegir.Backup{Site: o.Site, File: o.Backup.Path, Size: o.Backup.Size, SHA256: o.Backup.SHA256}
		if err := d.Store.AddBackup(ctx, b); err != nil {
			return fmt.Errorf("record backup %s: %w", b.File, err)
		}
	}
	r, err := d.Store.GetSite(ctx, o.Site)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		lw.warnf("site @%s was migrated but has no record in the front end: import it to manage it here", o.Site)
		return nil
	} else if err != nil {
		return err
	}
	c, err := d.Backend.ContextStore().Get(ctx, o.Site)
	if err != nil {
		return err
	}
	r.Site.Platform, r.Site.Status = c.Site.Platform, c.Site.Status
	r.Site.DBName, r.Site.DBUser, r.Site.DBPassword = c.Site.DBName, c.Site.DBUser, c.Site.DBPassword
	if err := d.Store.UpdateSite(ctx, r); err != nil {
		return fmt.Errorf("update site @%s: %w", r.Name, err)
	}
	lw.infof("recorded @%s on %s", r.Name, r.Site.Platform)
	return nil
}

// recordBuiltPlatform records the platform a deploy-code built for site,
// from its context, with the old platform's clients and app.
func (d *Dispatcher) recordBuiltPlatform(ctx context.Context, name string, site *aegir.SiteRecord) error {
	if _, err := d.Store.GetPlatform(ctx, name); err == nil {
		return nil
	} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return err
	}
	c, err := d.Backend.ContextStore().Get(ctx, name)
	if err != nil {
		return fmt.Errorf("the platform @%s the deploy built: %w", name, err)
	}
	if c.Type != aegir.PlatformContext {
		return aegir.Errorf(aegir.EINTERNAL, "@%s is a %s, not a platform", name, c.Type)
	}
	p := &aegir.PlatformRecord{Name: name, Platform: *c.Platform}
	if old, err := d.Store.GetPlatform(ctx, aegir.ContextName(site.Site.Platform)); err == nil {
		p.App, p.Version, p.Clients, p.Status = old.App, old.Version, old.Clients, old.Status
	}
	if err := d.Store.CreatePlatform(ctx, p); err != nil {
		return fmt.Errorf("record the platform @%s the deploy built: %w", name, err)
	}
	return nil
}
