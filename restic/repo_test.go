package restic

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// targets start each kind of target a repository lives on, as a real
// server: versitygw for S3, OpenSSH's internal-sftp for SFTP.
var targets = map[string]func(t *testing.T, home string) Config{
	"s3": func(t *testing.T, home string) Config {
		s3 := teststack.StartS3(t)
		return Config{Repository: "s3:" + s3.URL() + "/aegir-" + strings.ToLower(teststack.RandomHex(t, 3)),
			S3AccessKeyID: s3.AccessKey, S3SecretAccessKey: s3.SecretKey}
	},
	"sftp": func(t *testing.T, home string) Config {
		sshd := teststack.StartSSHD(t)
		dir := t.TempDir()
		return Config{Repository: "sftp://root@" + sshd.Addr() + "/" + dir + "/repo",
			SSHIdentity: sshd.ClientKeyFile, SSHKnownHosts: sshd.KnownHosts}
	},
}

// setup makes a repository on a fresh target of kind, with its key.
func setup(t *testing.T, kind string) (*Repo, aegir.Paths) {
	t.Helper()
	teststack.Require(t, "restic")
	p := aegir.Paths{Home: t.TempDir()}
	c := targets[kind](t, p.Home)
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteKey(KeyFile(p), key); err != nil {
		t.Fatal(err)
	}
	if err := SaveConfig(p, &c); err != nil {
		t.Fatal(err)
	}
	r, err := Open(p, &local.Runner{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, p
}

// TestRepositoryOnEachTarget uploads a directory twice (the second adds
// almost nothing), lists it by tag, restores it, refuses a wrong key
// without deleting anything, and checks the repository, on S3 and SFTP.
func TestRepositoryOnEachTarget(t *testing.T) {
	for _, kind := range []string{"s3", "sftp"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			r, p := setup(t, kind)
			dir := filepath.Join(t.TempDir(), "site")
			teststack.WriteFiles(t, dir, map[string]string{"settings.php": "<?php // x", "files/a.txt": strings.Repeat("payload ", 1<<16)})
			tags := []string{"site=a.example", "task=backup"}
			first, err := r.Backup(ctx, []string{dir}, nil, append(tags, "backup=a-1"))
			if err != nil {
				t.Fatal(err)
			}
			second, err := r.Backup(ctx, []string{dir}, nil, append(tags, "backup=a-2"))
			if err != nil {
				t.Fatal(err)
			}
			if first.Size < 1<<19 || second.Added > first.Size/20 {
				t.Fatalf("first upload %d bytes, second (unchanged) added %d", first.Size, second.Added)
			}
			snaps, err := r.Snapshots(ctx, []string{"site=a.example"})
			if err != nil {
				t.Fatal(err)
			}
			if len(snaps) != 2 || snaps[1].Tag("backup") != "a-2" {
				t.Fatalf("snapshots %+v", snaps)
			}
			if other, _ := r.Snapshots(ctx, []string{"site=b.example"}); len(other) != 0 {
				t.Fatalf("another site's snapshots: %+v", other)
			}
			dest := filepath.Join(t.TempDir(), "restored")
			if err := r.Restore(ctx, second.ID, dest); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dest, dir, "files/a.txt")); err != nil || len(b) != 8<<16 {
				t.Fatalf("restored file: %d bytes, %v", len(b), err)
			}

			// A wrong key: a clear error, and nothing deleted.
			good, _ := os.ReadFile(KeyFile(p))
			if err := os.WriteFile(KeyFile(p), []byte("not-the-key\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Forget(ctx, tags, aegir.Keep{Daily: 1}); err == nil || !strings.Contains(err.Error(), "wrong password") || !strings.Contains(err.Error(), r.Target()) {
				t.Fatalf("forget with a wrong key: %v", err)
			}
			if err := os.WriteFile(KeyFile(p), good, 0o600); err != nil {
				t.Fatal(err)
			}
			if snaps, err := r.Snapshots(ctx, tags); err != nil || len(snaps) != 2 {
				t.Fatalf("after a wrong key: %d snapshots, %v", len(snaps), err)
			}
			if err := r.Check(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestForgetRemovesExactlyWhatThePolicySays seeds snapshots of one site
// over two months and one of another site, applies keep 3 daily, 2 weekly
// and 2 monthly, and checks the survivors one by one.
func TestForgetRemovesExactlyWhatThePolicySays(t *testing.T) {
	ctx := context.Background()
	r, _ := setup(t, "sftp")
	dir := t.TempDir()
	teststack.WriteFiles(t, dir, map[string]string{"f": "x"})
	// Noon on days before Tuesday 2026-03-10 (ISO week 11).
	newest := time.Date(2026, 3, 10, 12, 0, 0, 0, time.Local)
	for _, back := range []int{60, 45, 35, 27, 20, 13, 8, 5, 3, 2, 1, 0} {
		when := newest.AddDate(0, 0, -back).Format("2006-01-02 15:04:05")
		if _, err := r.run(ctx, "backup", "--host", "aegir", "--time", when, "--tag", "site=a.example", "--tag", "day="+strings.ReplaceAll(when[:10], "-", ""), dir); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.run(ctx, "backup", "--host", "aegir", "--tag", "site=b.example", dir); err != nil {
		t.Fatal(err)
	}
	removed, err := r.Forget(ctx, []string{"site=a.example"}, aegir.Keep{Daily: 3, Weekly: 2, Monthly: 2})
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := r.Snapshots(ctx, []string{"site=a.example"})
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, s := range snaps {
		days = append(days, s.Tag("day"))
	}
	// Daily: 10, 9, 8 March; weekly: week 11's newest (10th), week 10's
	// (Sunday the 8th); monthly: March's (10th), February's (25th).
	want := []string{"20260225", "20260308", "20260309", "20260310"}
	if !slices.Equal(days, want) || len(removed) != 8 {
		t.Fatalf("kept %v (want %v), removed %d", days, want, len(removed))
	}
	if other, _ := r.Snapshots(ctx, []string{"site=b.example"}); len(other) != 1 {
		t.Fatalf("the other site's snapshot was touched: %+v", other)
	}
}

// TestUnreachableTargetIsNamed: a target that is down fails with its
// address in the error.
func TestUnreachableTargetIsNamed(t *testing.T) {
	ctx := context.Background()
	r, _ := setup(t, "sftp")
	down := fmt.Sprintf("127.0.0.1:%d", teststack.FreePort(t)) // nothing listens there
	r.cfg.Repository = "sftp://root@" + down + "//srv/repo"
	r.tgt, _ = parseRepository("repository", r.cfg.Repository)
	_, err := r.Backup(ctx, []string{t.TempDir()}, nil, []string{"site=a.example"})
	if err == nil || !strings.Contains(err.Error(), r.Target()) {
		t.Fatalf("backup to a target that is down: %v", err)
	}
}

// TestKilledUploadLeavesARepositoryTheNextBackupCompletes: restic killed
// (SIGKILL, as a context's end does) in the middle of an upload leaves a
// stale lock and partial data; the next backup, retention (which removes
// our own stale lock first) and check all pass, and the snapshot taken
// before is still whole.
func TestKilledUploadLeavesARepositoryTheNextBackupCompletes(t *testing.T) {
	ctx := context.Background()
	r, _ := setup(t, "sftp")
	dir := t.TempDir()
	teststack.WriteFiles(t, dir, map[string]string{"small": "before"})
	tags := []string{"site=a.example"}
	before, err := r.Backup(ctx, []string{dir}, nil, tags)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 48<<20)
	if _, err := rand.Read(big); err != nil { // incompressible, so the upload takes a while
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	repoDir := strings.SplitN(strings.TrimPrefix(r.cfg.Repository, "sftp://"), "/", 2)[1]
	packs := func() int {
		n := 0
		filepath.WalkDir(filepath.Join(repoDir, "data"), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	had := packs()
	kctx, kill := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := r.Backup(kctx, []string{dir}, nil, tags)
		done <- err
	}()
	for deadline := time.Now().Add(time.Minute); packs() == had; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("restic wrote nothing in a minute")
		}
	}
	kill()
	if err := <-done; err == nil {
		t.Fatal("the killed backup finished")
	}
	if locks, _ := os.ReadDir(filepath.Join(repoDir, "locks")); len(locks) == 0 {
		t.Log("the killed restic left no lock (it died before taking one)")
	}
	if _, err := r.Backup(ctx, []string{dir}, nil, tags); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if err := r.Restore(ctx, before.ID, dest); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, dir, "small")); err != nil || string(b) != "before" {
		t.Fatalf("the earlier snapshot: %q %v", b, err)
	}
	// Retention takes the exclusive lock the stale one would block.
	if _, err := r.Forget(ctx, tags, aegir.Keep{Daily: 7}); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
