package siteuser

import (
	"context"
	"os"
	"path/filepath"
	"testing"
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
	if err := CheckSiteDir(site, os.Getuid()+1); err == nil {
		t.Error("CheckSiteDir accepted a directory of another user's")
	}
	for _, w := range []string{"../x", "/etc"} {
		if err := l.Own(ctx, "s-0123456789ab", site, []string{w}); err == nil {
			t.Errorf("Own accepted the writable directory %q", w)
		}
	}
}
