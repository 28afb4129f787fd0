package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestSiteUserHelperRefusesCallersAndArgumentsItDoesNotTrust: the helper
// runs only as root, and refuses names that are not site users' and
// directories that are not site directories before doing anything.
func TestSiteUserHelperRefusesCallersAndArgumentsItDoesNotTrust(t *testing.T) {
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "1000" }}
	m.Geteuid = func() int { return 1000 }
	if err := m.Run(context.Background(), []string{"site-user", "remove", "s-0123456789ab"}); err == nil {
		t.Error("site-user ran without root")
	}
	m.Geteuid = func() int { return 0 }
	for _, args := range [][]string{
		{"ensure", "root", "www-data"},
		{"remove", "www-data"},
		{"own", "s-0123456789ab", "/etc"},
		{"own", "s-0123456789ab", "/"},
		{"unknown", "s-0123456789ab"},
		{"ensure", "s-0123456789ab"},
	} {
		if err := m.Run(context.Background(), append([]string{"site-user"}, args...)); err == nil {
			t.Errorf("site-user %v was accepted", args)
		}
	}
}

// TestSiteUserHelperMakesGivesAndRemovesASiteUser runs the helper as root
// through its command line, as sudo would: ensure, own a site directory of
// the caller's (SUDO_UID), remove.
func TestSiteUserHelperMakesGivesAndRemovesASiteUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes a Unix user")
	}
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &bytes.Buffer{}, Getenv: func(k string) string {
		if k == "SUDO_UID" {
			return "0"
		}
		return ""
	}, Geteuid: func() int { return 0 }}
	ctx := context.Background()
	name := aegir.SiteUser(fmt.Sprintf("helper-%d.test", os.Getpid()))
	t.Cleanup(func() { m.Run(context.Background(), []string{"site-user", "remove", name}) })
	if err := m.Run(ctx, []string{"site-user", "ensure", name, "www-data"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "created\n" {
		t.Errorf("ensure printed %q", got)
	}
	out.Reset()
	if err := m.Run(ctx, []string{"site-user", "ensure", name, "www-data"}); err != nil || out.String() != "exists\n" {
		t.Errorf("ensure again: %v, printed %q", err, out.String())
	}
	site := filepath.Join(t.TempDir(), "sites", "a.example")
	if err := os.MkdirAll(filepath.Join(site, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx, []string{"site-user", "own", name, site, "files"}); err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(site, "files"))
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Sys().(*syscall.Stat_t); fmt.Sprint(st.Gid) != g.Gid || info.Mode()&0o070 != 0o070 {
		t.Errorf("files: group %d, mode %v; want group %s, group rwx", st.Gid, info.Mode(), g.Gid)
	}
	if err := m.Run(ctx, []string{"site-user", "remove", name}); err != nil {
		t.Fatal(err)
	}
	if _, err := user.Lookup(name); err == nil {
		t.Error("remove left the user")
	}
}
