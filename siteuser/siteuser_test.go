package siteuser

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestTheHelperRefusesWhatIsNotASiteUsersOrASiteDirectory checks the
// arguments the privileged helper refuses before it touches anything.
func TestTheHelperRefusesWhatIsNotASiteUsersOrASiteDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	site := filepath.Join(dir, "sites", "a.example")
	if err := os.MkdirAll(site, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "sites", "b.example")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	l := Local{Caller: os.Getuid()}
	for _, name := range []string{"root", "www-data", "s-", "s-0123456789abc", "s-0123456789AB", "s-0123456789ab\n", "../s-0123456789ab"} {
		if _, err := l.Ensure(ctx, name, "www-data"); err == nil {
			t.Errorf("Ensure(%q) was accepted", name)
		}
		if err := l.Remove(ctx, name); err == nil {
			t.Errorf("Remove(%q) was accepted", name)
		}
		if err := l.Own(ctx, name, site, nil); err == nil {
			t.Errorf("Own(%q) was accepted", name)
		}
	}
	if _, err := l.Ensure(ctx, "s-0123456789ab", "www data"); err == nil {
		t.Error("Ensure accepted a web user with a space")
	}
	for _, d := range []string{
		"/etc", "/", "relative/sites/a.example", dir, filepath.Join(dir, "sites"),
		site + "/", site + "/../a.example", filepath.Join(site, "files"), link,
		filepath.Join(dir, "sites", "Bad_Name"),
	} {
		if err := CheckSiteDir(d, os.Getuid()); err == nil {
			t.Errorf("CheckSiteDir(%q) was accepted", d)
		}
	}
	if err := CheckSiteDir(site, os.Getuid()); err != nil {
		t.Errorf("CheckSiteDir refused a site directory: %v", err)
	}
	// A site's private directory outside the root is one too.
	private := filepath.Join(dir, "private", "a.example")
	if err := os.MkdirAll(private, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckSiteDir(private, os.Getuid()); err != nil {
		t.Errorf("CheckSiteDir refused a private directory: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "other", "a.example"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckSiteDir(filepath.Join(dir, "other", "a.example"), os.Getuid()); err == nil {
		t.Error("CheckSiteDir accepted a directory neither under sites nor under private")
	}
	if err := CheckSiteDir(site, os.Getuid()+1); err == nil {
		t.Error("CheckSiteDir accepted a directory of another user's")
	}
	for _, w := range []string{"../x", "/etc"} {
		if err := l.Own(ctx, "s-0123456789ab", site, []string{w}); err == nil {
			t.Errorf("Own accepted the writable directory %q", w)
		}
	}
}

// TestOwnGivesTheTreeToTheSiteGroupAndLeavesLinksAlone runs as root: it
// makes a site user, gives it a site directory holding a symbolic link to
// a file outside and a hard link of one, and checks the modes and groups
// Own sets, and that neither link's target changed.
func TestOwnGivesTheTreeToTheSiteGroupAndLeavesLinksAlone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes a Unix user")
	}
	ctx := context.Background()
	name := aegir.SiteUser(fmt.Sprintf("own-%d.test", os.Getpid()))
	l := Local{Caller: 0}
	if _, err := l.Ensure(ctx, name, "www-data"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Remove(context.Background(), name) })
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(g.Gid)

	dir := t.TempDir()
	outside := filepath.Join(dir, "outside.txt")
	site := filepath.Join(dir, "sites", "a.example")
	for _, d := range []string{filepath.Join(site, "files", "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string) {
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(outside)
	write(filepath.Join(site, "settings.php"))
	write(filepath.Join(site, "files", "sub", "up.jpg"))
	if err := os.Symlink(outside, filepath.Join(site, "files", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(site, "files", "hard")); err != nil {
		t.Fatal(err)
	}
	if err := l.Own(ctx, name, site, []string{"files"}); err != nil {
		t.Fatal(err)
	}
	// A private directory PHP writes into is writable itself.
	private := filepath.Join(dir, "private", "a.example")
	if err := os.MkdirAll(filepath.Join(private, "temp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.Own(ctx, name, private, []string{".", "temp"}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{
		site:                                          0o750 | fs.ModeSetgid | fs.ModeDir,
		filepath.Join(site, "settings.php"):           0o644,
		filepath.Join(site, "files"):                  0o775 | fs.ModeSetgid | fs.ModeDir,
		filepath.Join(site, "files", "sub"):           0o775 | fs.ModeSetgid | fs.ModeDir,
		filepath.Join(site, "files", "sub", "up.jpg"): 0o664,
		private:                        0o775 | fs.ModeSetgid | fs.ModeDir,
		filepath.Join(private, "temp"): 0o775 | fs.ModeSetgid | fs.ModeDir,
	} {
		info, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
		if got := int(info.Sys().(*syscall.Stat_t).Gid); got != gid {
			t.Errorf("%s: group %d, want %d", path, got, gid)
		}
	}
	info, _ := os.Stat(outside)
	if st := info.Sys().(*syscall.Stat_t); int(st.Gid) == gid || info.Mode().Perm() != 0o644 {
		t.Errorf("the file outside, linked in, was changed: group %d, mode %v", st.Gid, info.Mode())
	}
}

// recordingRunner records the commands it is given and answers out.
type recordingRunner struct {
	cmds [][]string
	out  string
}

func (r *recordingRunner) Run(_ context.Context, cmd aegir.Command) ([]byte, error) {
	r.cmds = append(r.cmds, cmd.Args)
	return []byte(r.out), nil
}

func TestSudoRunsTheHelperWithArgumentVectors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := &recordingRunner{out: "created\n"}
	s := Sudo{Runner: r, Program: "/usr/bin/aegir"}
	created, err := s.Ensure(ctx, "s-0123456789ab", "www-data")
	if err != nil || !created {
		t.Fatalf("Ensure: %v, created %v", err, created)
	}
	r.out = "exists\n"
	if created, _ := s.Ensure(ctx, "s-0123456789ab", "www-data"); created {
		t.Error("Ensure said created when the helper said exists")
	}
	if err := s.Own(ctx, "s-0123456789ab", "/srv/p/sites/a.example", []string{"files", "private"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "s-0123456789ab"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"sudo -n /usr/bin/aegir site-user ensure s-0123456789ab www-data",
		"sudo -n /usr/bin/aegir site-user ensure s-0123456789ab www-data",
		"sudo -n /usr/bin/aegir site-user own s-0123456789ab /srv/p/sites/a.example files private",
		"sudo -n /usr/bin/aegir site-user remove s-0123456789ab",
	}
	for i, cmd := range r.cmds {
		if i >= len(want) || strings.Join(cmd, " ") != want[i] {
			t.Errorf("command %d: %q", i, cmd)
		}
	}
	for _, cmd := range r.cmds {
		if err := aegir.ValidateCommand("site_user", cmd); err != nil {
			t.Errorf("%q fails ValidateCommand: %v", cmd, err)
		}
	}
}
