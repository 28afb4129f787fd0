package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestOffsiteRefusesBadSettingsAndLeavesNothing: a bad repository, a
// password in an address or an unreachable target is a clear error
// naming the setting or the target, and leaves no settings and no key.
func TestOffsiteRefusesBadSettingsAndLeavesNothing(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	for _, tc := range []struct {
		args  []string
		field string
		text  string
	}{
		{[]string{"offsite", "init", "--repo=ftp://host/x"}, "repository", "neither"},
		{[]string{"offsite", "init", "--repo=s3:http://key:secret@host/bucket"}, "repository", "credentials"},
		{[]string{"offsite", "init", "--repo=sftp://u:pw@host//srv"}, "repository", "password"},
		{[]string{"offsite", "init", "--repo=sftp:u@host:/srv", "--ssh_identity=relative/key"}, "ssh_identity", "absolute"},
		{[]string{"offsite", "init", "--repo=sftp:u@host:/srv", "--keep_daily=many"}, "keep_daily", "not a number"},
		{[]string{"offsite", "restore"}, "", "unknown"},
		{[]string{"recover", "--from=tape", "--all"}, "from", "off-site"},
	} {
		m, _, _ := testMain(home)
		err := m.Run(t.Context(), tc.args)
		var e *aegir.Error
		if tc.field != "" && (!errors.As(err, &e) || e.Field != tc.field) {
			t.Errorf("%v: %v, want an error on %s", tc.args, err, tc.field)
		}
		if err == nil || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%v: %v, want %q in it", tc.args, err, tc.text)
		}
	}
	// A target nobody answers: the error names it; no key is left.
	teststack.Require(t, "restic")
	m, _, _ := testMain(home)
	repo := fmt.Sprintf("sftp://root@127.0.0.1:%d//srv/repo", teststack.FreePort(t))
	err := m.Run(t.Context(), []string{"offsite", "init", "--repo=" + repo})
	if err == nil || !strings.Contains(err.Error(), repo) {
		t.Errorf("init on a target that is down: %v", err)
	}
	for _, f := range []string{"offsite.yml", "offsite.key"} {
		if _, err := os.Stat(filepath.Join(home, f)); err == nil {
			t.Errorf("%s was left behind", f)
		}
	}
}
