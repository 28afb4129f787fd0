package restic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Repo is a restic repository reached through a runner. Open it with
// Open; its zero value is not usable.
type Repo struct {
	cfg    Config
	tgt    *target
	runner aegir.Runner
	cache  string
	// Program is the restic binary; empty is "restic".
	Program string
}

// Open returns the repository offsite.yml names, or nil and no error when
// there is none.
func Open(p aegir.Paths, runner aegir.Runner) (*Repo, error) {
	c, err := LoadConfig(p)
	if c == nil || err != nil {
		return nil, err
	}
	return New(p, *c, runner)
}

// New returns the repository of c.
func New(p aegir.Paths, c Config, runner aegir.Runner) (*Repo, error) {
	if c.KeyFile == "" {
		c.KeyFile = KeyFile(p)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	t, _ := parseRepository("repository", c.Repository)
	return &Repo{cfg: c, tgt: t, runner: runner, cache: p.Home + "/.cache/restic"}, nil
}

// Keep returns the retention offsite.yml sets, with DefaultKeep's for
// what it leaves zero.
func (r *Repo) Keep() aegir.Keep {
	k := r.cfg.Keep
	if k.Daily == 0 {
		k.Daily = DefaultKeep.Daily
	}
	if k.Weekly == 0 {
		k.Weekly = DefaultKeep.Weekly
	}
	if k.Monthly == 0 {
		k.Monthly = DefaultKeep.Monthly
	}
	return k
}

// Target returns the repository's address.
func (r *Repo) Target() string { return r.cfg.Repository }

// run runs restic with args after the global options, the key and the
// credentials in its environment only.
func (r *Repo) run(ctx context.Context, args ...string) ([]byte, error) {
	if _, err := os.Stat(r.cfg.KeyFile); err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "off-site target %s: no key at %s: run aegir offsite init, or put the repository's key there", r.Target(), r.cfg.KeyFile)
	}
	prog := r.Program
	if prog == "" {
		prog = "restic"
	}
	argv := []string{prog, "--repo", r.cfg.Repository, "--no-cache"}
	if r.cache != "" {
		argv = []string{prog, "--repo", r.cfg.Repository, "--cache-dir", r.cache}
	}
	if cmd := r.sftpCommand(); cmd != "" {
		argv = append(argv, "-o", "sftp.command="+cmd)
	}
	env := []string{"RESTIC_PASSWORD_FILE=" + r.cfg.KeyFile, "RESTIC_PROGRESS_FPS=0.2"}
	if r.cfg.S3AccessKeyID != "" {
		env = append(env, "AWS_ACCESS_KEY_ID="+r.cfg.S3AccessKeyID, "AWS_SECRET_ACCESS_KEY="+r.cfg.S3SecretAccessKey)
	}
	out, err := r.runner.Run(ctx, aegir.Command{Args: append(argv, args...), Env: env})
	if err != nil {
		return out, fmt.Errorf("off-site target %s: %w", r.Target(), err)
	}
	return out, nil
}

// sftpCommand is the ssh command line restic opens an SFTP target with,
// when the settings name a port, a key or a known_hosts file; restic
// splits it on white space, which no part of it holds (Validate).
func (r *Repo) sftpCommand() string {
	t := r.tgt
	if t.kind != "sftp" || (t.port == 0 && r.cfg.SSHIdentity == "" && r.cfg.SSHKnownHosts == "") {
		return ""
	}
	args := []string{"ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"}
	if t.port != 0 {
		args = append(args, "-p", strconv.Itoa(t.port))
	}
	if r.cfg.SSHIdentity != "" {
		args = append(args, "-i", r.cfg.SSHIdentity, "-o", "IdentitiesOnly=yes")
	}
	if r.cfg.SSHKnownHosts != "" {
		args = append(args, "-o", "UserKnownHostsFile="+r.cfg.SSHKnownHosts)
	}
	return strings.Join(append(args, t.user+"@"+t.host, "-s", "sftp"), " ")
}

// Init creates the repository.
func (r *Repo) Init(ctx context.Context) error {
	_, err := r.run(ctx, "init")
	return err
}

// checkTags refuses tags restic would split (it reads commas as lists).
func checkTags(tags []string) error {
	for _, t := range tags {
		if t == "" || strings.ContainsAny(t, ", \t\n") {
			return aegir.FieldErrorf("tag", "%q is not a plain tag", t)
		}
	}
	return nil
}

// backupSummary is the last line restic backup --json prints.
type backupSummary struct {
	MessageType string `json:"message_type"`
	SnapshotID  string `json:"snapshot_id"`
	DataAdded   int64  `json:"data_added"`
	TotalBytes  int64  `json:"total_bytes_processed"`
	Message     string `json:"message"` // of an error line
}

// Backup uploads paths as one snapshot.
func (r *Repo) Backup(ctx context.Context, paths, exclude, tags []string) (*aegir.Snapshot, error) {
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	args := []string{"backup", "--json", "--host", "aegir"}
	for _, t := range tags {
		args = append(args, "--tag", t)
	}
	for _, e := range exclude {
		args = append(args, "--exclude", e)
	}
	args = append(args, "--")
	out, err := r.run(ctx, append(args, paths...)...)
	if err != nil {
		return nil, err
	}
	var sum backupSummary
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var line backupSummary
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.MessageType == "summary" {
			sum = line
		}
	}
	if sum.SnapshotID == "" {
		return nil, aegir.Errorf(aegir.EINTERNAL, "off-site target %s: restic backup printed no snapshot", r.Target())
	}
	return &aegir.Snapshot{ID: sum.SnapshotID, Time: time.Now(), Paths: paths, Tags: tags, Added: sum.DataAdded, Size: sum.TotalBytes}, nil
}

// snapshot is an entry of restic snapshots --json.
type snapshot struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	Paths []string  `json:"paths"`
	Tags  []string  `json:"tags"`
}

// Snapshots lists the snapshots that have every one of tags.
func (r *Repo) Snapshots(ctx context.Context, tags []string) ([]aegir.Snapshot, error) {
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	args := []string{"snapshots", "--json"}
	if len(tags) > 0 {
		args = append(args, "--tag", strings.Join(tags, ","))
	}
	out, err := r.run(ctx, args...)
	if err != nil {
		return nil, err
	}
	var list []snapshot
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "off-site target %s: restic snapshots: %v", r.Target(), err)
	}
	snaps := make([]aegir.Snapshot, len(list))
	for i, s := range list {
		snaps[i] = aegir.Snapshot{ID: s.ID, Time: s.Time, Paths: s.Paths, Tags: s.Tags}
	}
	return snaps, nil
}

// forgetGroup is a group of restic forget --json.
type forgetGroup struct {
	Remove []snapshot `json:"remove"`
}

// Forget applies keep to the snapshots with tags, in one group whatever
// their paths (a site moved to another platform is still one site), then
// prunes the data nothing uses any more. Stale locks of restic processes
// that died on this machine are removed first: they would stop the
// exclusive lock forget takes.
func (r *Repo) Forget(ctx context.Context, tags []string, keep aegir.Keep) ([]string, error) {
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, aegir.FieldErrorf("tag", "forget needs tags: it never applies to the whole repository")
	}
	if _, err := r.run(ctx, "unlock"); err != nil {
		return nil, err
	}
	args := []string{"forget", "--json", "--group-by", "", "--tag", strings.Join(tags, ","), "--keep-last", "1"}
	for flag, n := range map[string]int{"--keep-daily": keep.Daily, "--keep-weekly": keep.Weekly, "--keep-monthly": keep.Monthly} {
		if n > 0 {
			args = append(args, flag, strconv.Itoa(n))
		}
	}
	out, err := r.run(ctx, args...)
	if err != nil {
		return nil, err
	}
	var groups []forgetGroup
	if err := json.Unmarshal(out, &groups); err != nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "off-site target %s: restic forget: %v", r.Target(), err)
	}
	var removed []string
	for _, g := range groups {
		for _, s := range g.Remove {
			removed = append(removed, s.ID)
		}
	}
	if len(removed) > 0 {
		if _, err := r.run(ctx, "prune"); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Restore writes the snapshot's files under dest.
func (r *Repo) Restore(ctx context.Context, id, dest string) error {
	if err := aegir.ValidateSnapshotID("snapshot", id); err != nil {
		return err
	}
	_, err := r.run(ctx, "restore", id, "--target", dest)
	return err
}

// Check checks the repository, reading a part of its data too.
func (r *Repo) Check(ctx context.Context) error {
	if _, err := r.run(ctx, "unlock"); err != nil {
		return err
	}
	_, err := r.run(ctx, "check", "--read-data-subset", "1/10")
	return err
}

var _ aegir.Offsite = (*Repo)(nil)
