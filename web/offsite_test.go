package web

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/restic"
)

// TestSiteOffsiteSnapshots lists a site's snapshots in a real off-site
// repository (restic on a private SFTP server), and none without a target.
func TestSiteOffsiteSnapshots(t *testing.T) {
	teststack.Require(t, "restic")
	sshd := teststack.StartSSHD(t)
	p := aegir.Paths{Home: t.TempDir()}
	key, err := restic.NewKey()
	must(t, err)
	must(t, restic.WriteKey(restic.KeyFile(p), key))
	repo, err := restic.New(p, restic.Config{Repository: "sftp://root@" + sshd.Addr() + "/" + t.TempDir() + "/repo",
		SSHIdentity: sshd.ClientKeyFile, SSHKnownHosts: sshd.KnownHosts}, &local.Runner{})
	must(t, err)
	ctx := context.Background()
	must(t, repo.Init(ctx))
	dir := filepath.Join(t.TempDir(), "site")
	teststack.WriteFiles(t, dir, map[string]string{"database.sql": "-- dump"})
	snap, err := repo.Backup(ctx, []string{dir}, nil, []string{"kind=site", "site=example.com", "backup=example.com-20261208.010000"})
	must(t, err)
	_, err = repo.Backup(ctx, []string{dir}, nil, []string{"kind=site", "site=other.example"})
	must(t, err)

	forEachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		b.do(t, "POST", "/api/sites", map[string]any{"uri": "example.com", "platform": "platform_wp"}).want(t, 201)
		a := b.do(t, "GET", "/api/sites/example.com/offsite-snapshots", nil).want(t, 200)
		if list, _ := a.body["snapshots"].([]any); len(list) != 0 {
			t.Fatalf("snapshots without a target: %s", a.raw)
		}
		b.srv.Offsite = func() (aegir.Offsite, error) { return repo, nil }
		a = b.do(t, "GET", "/api/sites/example.com/offsite-snapshots", nil).want(t, 200)
		list, _ := a.body["snapshots"].([]any)
		if len(list) != 1 || !strings.HasPrefix(fmt.Sprint(list[0].(map[string]any)["id"]), snap.ID) || list[0].(map[string]any)["backup"] != "example.com-20261208.010000" || a.body["target"] != repo.Target() {
			t.Fatalf("snapshots: %s", a.raw)
		}
		b.do(t, "GET", "/api/sites/nope.example/offsite-snapshots", nil).wantError(t, 404, "not_found", "")
	})
}
