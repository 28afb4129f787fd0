package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// restoreSource checks the restore's from, file and snapshot args and,
// from the off-site target, fetches the snapshot into a local backup that
// the file arg then names.
func (t *run) restoreSource(ctx context.Context, uri string) error {
	args := t.opts.Args
	switch args["from"] {
	case "", "local":
		if args["snapshot"] != "" {
			return aegir.FieldErrorf("snapshot", "a snapshot is restored with --from=offsite")
		}
		if args["file"] == "" {
			return aegir.FieldErrorf("file", "name the backup to restore, or restore from the off-site target (--from=offsite)")
		}
		return nil
	case "offsite":
	default:
		return aegir.FieldErrorf("from", "%q is not local or offsite", args["from"])
	}
	if args["file"] != "" {
		return aegir.FieldErrorf("file", "a restore from the off-site target takes a snapshot, not a file")
	}
	repo, err := t.offsite()
	if err != nil {
		return err
	}
	if repo == nil {
		return aegir.FieldErrorf("from", "no off-site target is configured (aegir offsite init)")
	}
	snap, err := pickSnapshot(ctx, repo, uri, args["snapshot"])
	if err != nil {
		return err
	}
	file, err := t.fetchOffsite(ctx, repo, snap)
	if err != nil {
		return err
	}
	if t.opts.Args == nil {
		t.opts.Args = map[string]string{}
	}
	t.opts.Args["file"] = file
	return nil
}

// pickSnapshot returns the site's snapshot id, or its newest when id is "".
func pickSnapshot(ctx context.Context, repo aegir.Offsite, uri, id string) (*aegir.Snapshot, error) {
	if id != "" {
		if err := aegir.ValidateSnapshotID("snapshot", id); err != nil {
			return nil, err
		}
	}
	snaps, err := repo.Snapshots(ctx, []string{"kind=site", "site=" + uri})
	if err != nil {
		return nil, err
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		if id == "" || strings.HasPrefix(snaps[i].ID, id) {
			return &snaps[i], nil
		}
	}
	if id != "" {
		return nil, aegir.FieldErrorf("snapshot", "%s has no snapshot %s of %s", repo.Target(), id, uri)
	}
	return nil, aegir.Errorf(aegir.ENOTFOUND, "%s has no snapshot of %s", repo.Target(), uri)
}

// fetchOffsite restores a site snapshot into a scratch directory under
// backups/ and archives its site directory as a local backup,
// backups/<uri>-offsite-<id>.tar.gz, which it returns (kept: it is a
// backup like the others). The scratch directory is removed.
func (t *run) fetchOffsite(ctx context.Context, repo aegir.Offsite, snap *aegir.Snapshot) (string, error) {
	uri, dir := snap.Tag("site"), siteDirOf(snap)
	if aegir.ValidateURI("site", uri) != nil || dir == "" {
		return "", aegir.Errorf(aegir.EINVALID, "snapshot %s of %s is not a site backup", short(snap.ID), repo.Target())
	}
	scratch, err := os.MkdirTemp(t.b.Paths.Backups(), ".offsite-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	if err := repo.Restore(ctx, snap.ID, scratch); err != nil {
		return "", err
	}
	file := filepath.Join(t.b.Paths.Backups(), fmt.Sprintf("%s-offsite-%s.tar.gz", uri, short(snap.ID)))
	if _, err := os.Stat(file); err == nil {
		t.log.Infof("%s was fetched from %s before: using it", file, repo.Target())
		return file, nil
	}
	info, err := t.b.Archiver.Create(ctx, file, filepath.Join(scratch, dir))
	if err != nil {
		return "", err
	}
	t.log.Infof("fetched snapshot %s of %s from %s into %s (%d bytes)", short(snap.ID), uri, repo.Target(), info.Path, info.Size)
	return info.Path, nil
}

// siteDirOf is the site directory a site snapshot holds: its one path
// that is not a context file.
func siteDirOf(snap *aegir.Snapshot) string {
	for _, p := range snap.Paths {
		if !strings.HasSuffix(p, ".yml") {
			return p
		}
	}
	return ""
}
