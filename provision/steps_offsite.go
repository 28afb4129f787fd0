package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// contextCopy is where a backup puts a copy of the site's named context,
// inside the site directory beside the dump, so the tarball (and the
// off-site snapshot) can rebuild the site without the front end. Like the
// dump it is 0600 and removed from the live site after the backup.
const contextCopy = "aegir-context.yml"

// offsite opens the off-site target, nil when none is configured.
func (t *run) offsite() (aegir.Offsite, error) {
	if t.b.Offsite == nil {
		return nil, nil
	}
	return t.b.Offsite()
}

// siteContexts are the files of the named contexts a site needs to be
// rebuilt: its own, its platform's and its servers'.
func (t *run) siteContexts(s *siteEnv) []string {
	names := []string{s.ctx.Name, s.platform.name, s.webName}
	if s.site.DBServer != "" {
		names = append(names, aegir.ContextName(s.site.DBServer))
	}
	var files []string
	seen := map[string]bool{}
	for _, n := range names {
		f := filepath.Join(t.b.Paths.Contexts(), n+".yml")
		if n == "" || seen[f] {
			continue
		}
		seen[f] = true
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	return files
}

// copyContextStep copies the site's context into its directory for the
// archive. Step:
//
//	copy context  the site's contexts/<uri>.yml to sites/<uri>/aegir-context.yml, 0600
//	              undo: remove the copy
func (t *run) copyContextStep(s *siteEnv) aegir.Step {
	dst := filepath.Join(s.siteDir(), contextCopy)
	return aegir.Step{Name: "copy context", Do: func(context.Context) (aegir.Undo, error) {
		undo := func(context.Context) error { return removeIfExists(dst) }
		src := filepath.Join(t.b.Paths.Contexts(), s.ctx.Name+".yml")
		b, err := os.ReadFile(src)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // a context the front end holds only in memory: nothing to copy
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			return nil, fmt.Errorf("copy context: %w", err)
		}
		return undo, nil
	}}
}

// keepLocal wraps the archive step of a backup so that its undo (deleting
// the archive) is skipped once *keep is set: a failed upload or retention
// fails the task, but the local backup it made stays.
func keepLocal(step aegir.Step, keep *bool) aegir.Step {
	do := step.Do
	step.Do = func(ctx context.Context) (aegir.Undo, error) {
		undo, err := do(ctx)
		if undo == nil {
			return undo, err
		}
		return func(ctx context.Context) error {
			if *keep {
				return nil
			}
			return undo(ctx)
		}, err
	}
	return step
}

// offsiteSteps upload the site's directory (with its dump and context
// copy) and the contexts it needs as one snapshot, and the platform's code
// (without the sites' own directories) as another, then apply the
// target's retention to the site's snapshots. Either failing sets *keep,
// so the local backup stays, and fails the task naming the target. Steps:
//
//	upload off-site  Offsite.Backup: sites/<uri>/ + contexts, tagged kind=site, site, task,
//	                 backup; the platform root tagged kind=platform   no undo: a snapshot is
//	                 a backup, harmless to keep
//	off-site retention  Offsite.Forget of the site's snapshots by its Keep   no undo
func (t *run) offsiteSteps(s *siteEnv, repo aegir.Offsite, file *string, keep *bool) []aegir.Step {
	fail := func(err error) error {
		*keep = true
		report(t, func(o *aegir.OffsiteMade) { o.Target, o.Error = repo.Target(), err.Error() })
		return err
	}
	return []aegir.Step{
		{Name: "upload off-site", Do: func(ctx context.Context) (aegir.Undo, error) {
			backup := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(*file), ".tar.gz"), ".tar.zst")
			paths := append([]string{s.siteDir()}, t.siteContexts(s)...)
			tags := []string{"kind=site", "site=" + s.site.URI, "task=" + t.task, "backup=" + backup, "platform=" + s.platform.name}
			snap, err := repo.Backup(ctx, paths, nil, tags)
			if err != nil {
				return nil, fail(err)
			}
			t.log.Infof("uploaded %s to %s: snapshot %s, %d bytes added of %d", s.site.URI, repo.Target(), short(snap.ID), snap.Added, snap.Size)
			report(t, func(o *aegir.OffsiteMade) { o.Target, o.Snapshot, o.Added = repo.Target(), snap.ID, snap.Added })
			// The platform's code, for a recovery on a machine that has
			// none; the sites' own directories (named by their URIs, with
			// a dot, unlike sites/default and sites/all) go with each site.
			exclude := []string{filepath.Join(s.platform.root, "sites", "*.*")}
			psnap, err := repo.Backup(ctx, []string{s.platform.root}, exclude, []string{"kind=platform", "platform=" + s.platform.name})
			if err != nil {
				return nil, fail(err)
			}
			t.log.Infof("uploaded the code of @%s to %s: snapshot %s, %d bytes added", s.platform.name, repo.Target(), short(psnap.ID), psnap.Added)
			return nil, nil
		}},
		{Name: "off-site retention", Do: func(ctx context.Context) (aegir.Undo, error) {
			k := repo.Keep()
			gone, err := repo.Forget(ctx, []string{"kind=site", "site=" + s.site.URI}, k)
			if err != nil {
				return nil, fail(err)
			}
			if len(gone) > 0 {
				t.log.Infof("off-site retention (keep %d daily, %d weekly, %d monthly) removed %d snapshots of %s", k.Daily, k.Weekly, k.Monthly, len(gone), s.site.URI)
			}
			report(t, func(o *aegir.OffsiteMade) { o.Forgotten = gone })
			return nil, nil
		}},
	}
}

// short is a snapshot ID as restic prints it.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// removeContextStep removes the context copy from the live site once the
// backup holds it. Step:
//
//	remove context copy  -  no undo
func removeContextStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "remove context copy", Do: func(context.Context) (aegir.Undo, error) {
		return nil, removeIfExists(filepath.Join(s.siteDir(), contextCopy))
	}}
}
