package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestOffsiteBackupRestoreAndRecoverAMachine: with an SFTP target set up by
// aegir offsite init, a backup goes off-site too; a restore from it brings
// a site's post back; a machine that lost $AEGIR_HOME (contexts, platform
// code, backups) and the site's database gets the site back serving its
// content with only the repository's address and key; and with the target
// down, a backup fails naming it and keeps its local archive.
func TestOffsiteBackupRestoreAndRecoverAMachine(t *testing.T) {
	teststack.Require(t, "restic")
	s := newStack(t)
	s.setup()
	sshd := teststack.StartSSHD(t)
	repo := "sftp://root@" + sshd.Addr() + "/" + t.TempDir() + "/repo"
	target := []string{"--repo=" + repo, "--ssh_identity=" + sshd.ClientKeyFile, "--ssh_known_hosts=" + sshd.KnownHosts}

	root := s.platform("wp", "/usr/share/wordpress")
	uri := "offsite." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+uri)
	marker := "offsite-" + s.token
	post := s.wpPost(root, uri, marker)

	key := strings.TrimSpace(s.mustAegir(append([]string{"offsite", "init"}, target...)...))
	for _, f := range []string{"offsite.yml", "offsite.key"} {
		if st, err := os.Stat(filepath.Join(s.home, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
	}
	r := s.mustTask("backup", "@"+uri)
	if str(r.Data["offsite_snapshot"]) == "" || !strings.Contains(fmt.Sprint(r.Log), "uploaded "+uri) {
		t.Fatalf("the backup went nowhere off-site: %+v %+v", r.Data, r.Log)
	}
	if out := s.mustAegir("offsite", "snapshots", "@"+uri); !strings.Contains(out, str(r.Data["offsite_snapshot"])[:8]) {
		t.Fatalf("offsite snapshots:\n%s", out)
	}
	for _, e := range r.Log {
		if strings.Contains(e.Message, key) {
			t.Fatalf("the key is in the log: %s", e.Message)
		}
	}

	// A restore from the off-site copy undoes a change to the post.
	s.wpPHP(root, uri, fmt.Sprintf(`wp_update_post(['ID' => %s, 'post_content' => 'changed']);`, post))
	s.mustTask("restore", "@"+uri, "--from=offsite")
	s.mustServe(s.url(uri, "/?p="+post), marker)

	// The machine loses everything: $AEGIR_HOME and the database.
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.dropDatabases()
	if err := os.RemoveAll(s.home); err != nil {
		t.Fatal(err)
	}
	s.setup()
	s.mustAegir(append([]string{"offsite", "connect", "--key_file=" + keyFile}, target...)...)
	out := s.mustAegir("recover", "--from=offsite", "@"+uri)
	if !strings.Contains(out, uri+": recovered") {
		t.Fatalf("recover:\n%s", out)
	}
	s.mustServe(s.url(uri, "/?p="+post), marker)

	// The front end's database and the contexts go off-site on their own.
	s.mustAegir("user", "create", "ops", "--role=administrator")
	if out := s.mustAegir("offsite", "backup-control-plane"); !strings.Contains(out, "uploaded the control plane") {
		t.Fatalf("backup-control-plane: %s", out)
	}
	if out := s.mustAegir("offsite", "snapshots"); !strings.Contains(out, "control") {
		t.Fatalf("no control-plane snapshot:\n%s", out)
	}

	// The target goes down: the backup fails naming it, its archive stays.
	sshd.Stop()
	r, err := s.task("backup", "@"+uri)
	if err == nil || r.Status != "failed" || !strings.Contains(fmt.Sprint(r.Log), repo) {
		t.Fatalf("backup with the target down: %v %+v", err, r.Log)
	}
	if _, err := os.Stat(str(r.Data["backup_file"])); err != nil {
		t.Fatalf("the local backup was not kept: %v (%+v)", err, r.Data)
	}
}
