package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// Recovered is what Recover did for one site.
type Recovered struct {
	Site     string `json:"site"`
	Snapshot string `json:"snapshot"`
	Backup   string `json:"backup_file"`
	Error    string `json:"error,omitempty"`
}

// Recover rebuilds sites from the off-site target on a machine that has
// lost them (or never had them): for each site (every site the target
// holds when sites is empty), from its newest snapshot, the named contexts
// it needs that are missing here, its platform's code when the platform's
// root is missing, then its database and files by a restore, and a verify.
// Contexts that exist here are kept (aegir setup's server_master, for one).
// It goes on with the next site when one fails, and returns an error
// naming those that failed.
func (b *Backend) Recover(ctx context.Context, sites []string, opts aegir.TaskOptions) ([]Recovered, error) {
	t := b.newRun(opts)
	repo, err := t.offsite()
	if err != nil {
		return nil, err
	}
	if repo == nil {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no off-site target: run aegir offsite connect --repo=URL --key_file=FILE first")
	}
	for _, s := range sites {
		if err := aegir.ValidateURI("site", s); err != nil {
			return nil, err
		}
	}
	snaps, err := repo.Snapshots(ctx, []string{"kind=site"})
	if err != nil {
		return nil, err
	}
	newest := map[string]*aegir.Snapshot{}
	for i := range snaps {
		newest[snaps[i].Tag("site")] = &snaps[i] // oldest first: the last wins
	}
	if len(sites) == 0 {
		for uri := range newest {
			if aegir.ValidateURI("site", uri) == nil {
				sites = append(sites, uri)
			}
		}
		sort.Strings(sites)
	}
	var out []Recovered
	var failed []string
	for _, uri := range sites {
		r := Recovered{Site: uri}
		snap := newest[uri]
		if snap == nil {
			err = aegir.Errorf(aegir.ENOTFOUND, "%s has no snapshot of %s", repo.Target(), uri)
		} else {
			r.Snapshot = snap.ID
			r.Backup, err = b.recoverSite(ctx, t, repo, snap, opts)
		}
		if err != nil {
			r.Error = err.Error()
			failed = append(failed, uri)
		}
		out = append(out, r)
	}
	if len(failed) > 0 {
		return out, aegir.Errorf(aegir.EINTERNAL, "recovering %s failed", strings.Join(failed, ", "))
	}
	return out, nil
}

// recoverSite brings back one site from snap and returns the local backup
// it restored.
func (b *Backend) recoverSite(ctx context.Context, t *run, repo aegir.Offsite, snap *aegir.Snapshot, opts aegir.TaskOptions) (string, error) {
	uri := snap.Tag("site")
	scratch, err := os.MkdirTemp(b.Paths.Backups(), ".recover-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	if err := repo.Restore(ctx, snap.ID, scratch); err != nil {
		return "", err
	}
	for _, p := range snap.Paths {
		if !strings.HasSuffix(p, ".yml") {
			continue
		}
		if err := placeContext(filepath.Join(scratch, p), filepath.Join(b.Paths.Contexts(), filepath.Base(p))); err != nil {
			return "", err
		}
	}
	c, err := b.Contexts.Get(ctx, uri)
	if err != nil || c.Type != aegir.SiteContext {
		return "", fmt.Errorf("the snapshot holds no usable context of %s: %v", uri, err)
	}
	pc, err := t.typed(ctx, c.Site.Platform, aegir.PlatformContext)
	if err != nil {
		return "", err
	}
	pc.Platform.Defaults()
	if err := b.recoverPlatform(ctx, t, repo, pc); err != nil {
		return "", err
	}
	file, err := t.fetchOffsite(ctx, repo, snap)
	if err != nil {
		return "", err
	}
	for _, step := range []struct {
		task, name string
		args       map[string]string
	}{
		{aegir.TaskVerify, pc.Platform.WebServer, nil},
		{aegir.TaskVerify, pc.Name, nil},
		{aegir.TaskRestore, uri, map[string]string{"file": file}},
		{aegir.TaskVerify, uri, nil},
	} {
		o := opts
		o.Args = step.args
		if _, err := b.Run(ctx, step.task, aegir.ContextName(step.name), o); err != nil {
			return file, fmt.Errorf("%s of @%s: %w", step.task, aegir.ContextName(step.name), err)
		}
	}
	return file, nil
}

// recoverPlatform restores the platform's code from its newest snapshot
// when its root is missing here.
func (b *Backend) recoverPlatform(ctx context.Context, t *run, repo aegir.Offsite, pc *aegir.Context) error {
	root := pc.Platform.Root
	if _, err := os.Stat(root); err == nil {
		return nil
	}
	snaps, err := repo.Snapshots(ctx, []string{"kind=platform", "platform=" + pc.Name})
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		return aegir.Errorf(aegir.ENOTFOUND, "%s holds no code of @%s and %s is missing: build the platform first", repo.Target(), pc.Name, root)
	}
	snap := snaps[len(snaps)-1]
	scratch, err := os.MkdirTemp(b.Paths.Backups(), ".recover-platform-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	if err := repo.Restore(ctx, snap.ID, scratch); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(scratch, root), root); err != nil {
		return fmt.Errorf("put the code of @%s in place: %w", pc.Name, err)
	}
	t.log.Infof("restored the code of @%s into %s from snapshot %s", pc.Name, root, short(snap.ID))
	return nil
}

// placeContext copies a context file into the contexts directory unless
// one of that name is there, 0600 (server contexts hold credentials).
func placeContext(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o600)
}
