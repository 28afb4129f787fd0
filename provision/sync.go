package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aegir-hosting/aegir"
)

// sync copies an installed site's data into another installed site of the
// same app (an environment of a project into another): its database, its
// files, or both (neither flag: both). The target is backed up first; a
// protected target (a live environment) is refused without --force.
// Steps:
//
//	fetch files, dump database, archive
//	                         backupSteps (steps_backup.go) of the target; the dump stays
//	                         for the undo of copy database        undo: the archive removed
//	copy database            dumpAndImport (steps_move.go) of the source's database into
//	                         the target's                         undo: the target's dump imported
//	rewrite uri              app.RewriteURI: the source's address becomes the target's
//	                         no undo (copy database's puts the data back)
//	copy files               each of app.WritableDirs copied (cp -a) beside the target's,
//	                         then swapped in                       undo: the target's swapped back
//	sanitize                 the sanitize commands of the target platform's .aegir.yml
//	                         (runProjectCommands, deploy_code.go)            no undo (ditto)
//	flush cache              flushCacheStep: app.FlushCache        no undo
//	remove dump              the target's dump and the set-aside directories removed   no undo
func (t *run) sync(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	name := aegir.ContextName(t.opts.Args["target"])
	if name == "" {
		return nil, aegir.FieldErrorf("target", "name the site to write into")
	}
	if name == c.Name {
		return nil, aegir.FieldErrorf("target", "@%s is the site copied from", name)
	}
	tc, err := t.typed(ctx, name, aegir.SiteContext)
	if err != nil {
		return nil, aegir.FieldErrorf("target", "%v", err)
	}
	if tc.Site.Protected && !t.opts.Force {
		return nil, aegir.FieldErrorf("target", "@%s is protected (a live environment): give --force to write into it", name)
	}
	target, err := t.loadInstalledSite(ctx, tc)
	if err != nil {
		return nil, err
	}
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.platform.appName != target.platform.appName {
		return nil, aegir.FieldErrorf("target", "@%s is a %s site, @%s a %s one", name, target.platform.appName, c.Name, s.platform.appName)
	}
	db, files := isTrue(t.opts.Args["db"]), isTrue(t.opts.Args["files"])
	if !db && !files {
		db, files = true, true
	}
	report(t, func(r *aegir.SyncResult) { r.Target = "@" + name })
	var file string
	// The target's backup keeps its dump, for copy database's undo; the
	// last step removes it.
	backup := slices.DeleteFunc(t.backupSteps(target, &file), func(st aegir.Step) bool { return st.Name == "remove dump" })
	dump := filepath.Join(target.siteDir(), dumpFile)
	copied := filepath.Join(target.siteDir(), "sync-"+dumpFile)
	var asides []string
	steps := append(backup, []aegir.Step{
		{Name: "copy database", Do: func(ctx context.Context) (aegir.Undo, error) {
			if !db {
				return nil, nil
			}
			report(t, func(r *aegir.SyncResult) { r.TargetBackup = file })
			err := t.dumpAndImport(ctx, s.db, s.site.DBName, target, copied)
			removeIfExists(copied)
			undo := func(ctx context.Context) error { return t.importDump(ctx, target, dump) }
			if err != nil {
				// The import may have begun: the target's data goes back.
				return nil, errors.Join(err, undo(ctx))
			}
			return undo, nil
		}},
		{Name: "rewrite uri", Do: func(ctx context.Context) (aegir.Undo, error) {
			if !db {
				return nil, nil
			}
			return nil, target.platform.app.RewriteURI(ctx, target.appSite(), s.site.URI, s.url())
		}},
		{Name: "copy files", Do: func(ctx context.Context) (aegir.Undo, error) {
			if !files {
				return nil, nil
			}
			return t.copyFiles(ctx, s, target, &asides)
		}},
		{Name: "sanitize", Do: func(ctx context.Context) (aegir.Undo, error) {
			if !db {
				return nil, nil
			}
			f, err := readProjectFile(target.platform.root)
			if err != nil || f == nil {
				return nil, err
			}
			return nil, t.runProjectCommands(ctx, target, "sanitize", f.Sanitize, f)
		}},
		t.flushCacheStep(target),
		{Name: "remove dump", Do: func(ctx context.Context) (aegir.Undo, error) {
			errs := []error{removeIfExists(dump)}
			for _, a := range asides {
				errs = append(errs, os.RemoveAll(a))
			}
			return nil, errors.Join(errs...)
		}},
	}...)
	return steps, nil
}

// copyFiles copies each writable directory of the source site beside the
// target's, then swaps the copies in, setting the target's aside (in
// *asides, which the last step removes). Undo: the target's back.
func (t *run) copyFiles(ctx context.Context, s, target *siteEnv, asides *[]string) (aegir.Undo, error) {
	stamp := fmt.Sprintf(".sync-%d", time.Now().UnixNano())
	type swap struct{ dir, aside string }
	var done []swap
	undo := func(context.Context) error {
		var errs []error
		for i := len(done) - 1; i >= 0; i-- {
			sw := done[i]
			errs = append(errs, os.RemoveAll(sw.dir))
			if sw.aside != "" {
				errs = append(errs, os.Rename(sw.aside, sw.dir))
			}
		}
		*asides = nil
		return errors.Join(errs...)
	}
	// What the source's PHP made is aegir's to read.
	t.giveBack(ctx, s.web, s.site.URI, s.siteDir())
	for _, rel := range target.platform.app.WritableDirs() {
		from, to := filepath.Join(s.siteDir(), rel), filepath.Join(target.siteDir(), rel)
		if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		staging := to + stamp
		if _, err := t.b.Runner.Run(ctx, aegir.Command{Args: []string{"cp", "-a", "--", from, staging}}); err != nil {
			os.RemoveAll(staging)
			return nil, errors.Join(err, undo(ctx))
		}
		sw := swap{dir: to}
		if _, err := os.Lstat(to); err == nil {
			sw.aside = to + stamp + ".old"
			if err := os.Rename(to, sw.aside); err != nil {
				os.RemoveAll(staging)
				return nil, errors.Join(err, undo(ctx))
			}
			*asides = append(*asides, sw.aside)
		}
		if err := os.Rename(staging, to); err != nil {
			if sw.aside != "" {
				os.Rename(sw.aside, to)
			}
			os.RemoveAll(staging)
			return nil, errors.Join(err, undo(ctx))
		}
		done = append(done, sw)
		t.log.Infof("copied %s of @%s into @%s", rel, s.site.URI, target.site.URI)
	}
	return undo, nil
}
