package provision_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/tarball"

	_ "github.com/aegir-hosting/aegir/drupal"
)

// TestKilledDrupalTasksLeaveThePrivateFilesInOnePlace installs a Drupal 7
// site, whose private files live outside the root, and stops a restore
// after its copy took the site's place, and a migrate to a new name after
// its commit point, as kill -9 would. The verify that follows each puts
// the private files of the site, as they were, in the site's private
// directory, and nowhere else where a site could take them.
func TestKilledDrupalTasksLeaveThePrivateFilesInOnePlace(t *testing.T) {
	t.Parallel()
	teststack.Require(t, "php")
	s := newWebStack(t, aegir.ServiceNginx)
	s.backend.Archiver = &tarball.Archiver{}
	for _, p := range []string{"d7a", "d7b"} {
		root := filepath.Join(s.paths.Platforms(), p)
		if err := teststack.LinkTree(teststack.Fixture(t, "drupal-7.105.tar.xz"), root); err != nil {
			t.Fatal(err)
		}
		s.save("@platform_"+p, aegir.PlatformContext, map[string]string{"root": root})
		s.mustRun(aegir.TaskVerify, "@platform_"+p, nil)
	}
	uri := s.site("priv")
	s.save("@"+uri, aegir.SiteContext, map[string]string{"platform": "@platform_d7a", "profile": "minimal"})
	s.mustRun(aegir.TaskInstall, "@"+uri, nil)
	private := s.paths.SitePrivate(uri)
	inRoot := filepath.Join(s.paths.Platforms(), "d7a", "sites", uri, "private")
	if _, err := os.Lstat(inRoot); err == nil {
		t.Fatalf("%s is in the root", inRoot)
	}
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(private, "x.txt"), []byte(content), 0o660); err != nil {
			t.Fatal(err)
		}
	}
	has := func(dir, content string) {
		t.Helper()
		if got, err := os.ReadFile(filepath.Join(dir, "x.txt")); err != nil || string(got) != content {
			t.Fatalf("%s/x.txt: %q, %v; want %q", dir, got, err, content)
		}
	}
	crash := func(task, name, step string, args map[string]string) {
		t.Helper()
		r, err := s.backend.Run(context.Background(), task, name, aegir.TaskOptions{Args: args, CrashAt: step})
		if err == nil || !strings.Contains(err.Error(), "crash-at") {
			t.Fatalf("%s did not stop before %q: %v\n%s", task, step, err, logText(r))
		}
	}
	write("backed up")
	backup := aegir.PartOf[aegir.BackupMade](s.mustRun(aegir.TaskBackup, "@"+uri, nil).Data).File
	write("now")

	// A restore stopped once the backup's copy is in place, private files
	// included: the verify puts back the site's own.
	crash(aegir.TaskRestore, "@"+uri, "context", map[string]string{"file": backup})
	has(private, "backed up")
	s.mustRun(aegir.TaskVerify, "@"+uri, nil)
	has(private, "now")
	if left, _ := filepath.Glob(private + ".old-*"); len(left) > 0 {
		t.Fatalf("left %v", left)
	}
	// The restore then goes through, and the backup's private files with it.
	s.mustRun(aegir.TaskRestore, "@"+uri, map[string]string{"file": backup})
	has(private, "backed up")

	// A migrate to a new name stopped past its commit point: the verify
	// of the new name finishes it, and the old name's private directory
	// goes aside with its site directory.
	newURI := s.site("moved")
	crash(aegir.TaskMigrate, "@"+uri, "remove old copy", map[string]string{"platform": "@platform_d7b", "new_uri": newURI})
	s.mustRun(aegir.TaskVerify, "@"+newURI, nil)
	has(s.paths.SitePrivate(newURI), "backed up")
	for _, gone := range []string{private, private + ".old-*", filepath.Join(s.paths.Platforms(), "d7b", "sites", newURI, "private")} {
		if left, _ := filepath.Glob(gone); len(left) > 0 {
			t.Errorf("left %v", left)
		}
	}
}
