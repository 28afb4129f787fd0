// Package packaging tests the Debian package that `make deb` builds.
package packaging

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestDebPackageInstallsAndRemoves builds the package with `make deb`,
// reads its control data and contents, then (under CI, or with
// AEGIR_TEST_DPKG=1, since it changes the machine) installs it with dpkg:
// the binary runs, the aegir user and home exist, the settings are
// readable by aegir only; remove keeps the settings, purge takes them.
func TestDebPackageInstallsAndRemoves(t *testing.T) {
	teststack.Require(t, "make", "dpkg-deb", "git")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	build := exec.Command("make", "-s", "-C", root, "deb", "DEB_DIR="+out+"/")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "aegir_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v", debs)
	}
	deb := debs[0]

	fields := run(t, "dpkg-deb", "--field", deb, "Package", "Architecture", "Version", "Recommends")
	for _, want := range []string{"Package: aegir", "Architecture: " + runtime.GOARCH, "Version: ", "Recommends: nginx | apache2"} {
		if !strings.Contains(fields, want) {
			t.Errorf("control has no %q:\n%s", want, fields)
		}
	}
	contents := run(t, "dpkg-deb", "--contents", deb)
	for _, want := range []string{"-rwxr-xr-x root/root", "./usr/bin/aegir", "./lib/systemd/system/aegir.service", "./etc/default/aegir"} {
		if !strings.Contains(contents, want) {
			t.Errorf("contents have no %q:\n%s", want, contents)
		}
	}
	control := t.TempDir()
	run(t, "dpkg-deb", "--control", deb, control)
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		if fi, err := os.Stat(filepath.Join(control, script)); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("maintainer script %s: %v", script, err)
		}
	}
	if conffiles, _ := os.ReadFile(filepath.Join(control, "conffiles")); !strings.Contains(string(conffiles), "/etc/default/aegir") {
		t.Errorf("/etc/default/aegir is not a conffile: %q", conffiles)
	}
	unit, err := os.ReadFile(filepath.Join(root, "packaging", "deb", "aegir.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=aegir", "ExecStart=/usr/bin/aegir serve", "Restart=on-failure"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit has no %q", want)
		}
	}

	if os.Getenv("CI") != "true" && os.Getenv("AEGIR_TEST_DPKG") != "1" {
		t.Log("not installing the package: set AEGIR_TEST_DPKG=1 to let the test install and purge it on this machine")
		return
	}
	if os.Geteuid() != 0 {
		teststack.Missing(t, "installing the package needs root")
	}
	if exec.Command("dpkg-query", "-W", "-f=${Status}", "aegir").Run() == nil {
		t.Skip("a package named aegir is installed on this machine: not replacing it")
	}
	_, userErr := user.Lookup("aegir")
	hadUser := userErr == nil
	_, homeErr := os.Stat("/var/aegir")
	hadHome := homeErr == nil
	t.Cleanup(func() {
		exec.Command("dpkg", "--purge", "aegir").Run()
		if !hadUser {
			exec.Command("userdel", "aegir").Run()
			exec.Command("groupdel", "aegir").Run()
		}
		if !hadHome {
			os.RemoveAll("/var/aegir")
		}
	})

	run(t, "dpkg", "--install", deb)
	listed := strings.Fields(run(t, "dpkg", "--listfiles", "aegir"))
	for _, want := range []string{"/usr/bin/aegir", "/lib/systemd/system/aegir.service", "/etc/default/aegir"} {
		if !slices.Contains(listed, want) {
			t.Errorf("dpkg -L aegir has no %s: %v", want, listed)
		}
	}
	if version, err := exec.Command("/usr/bin/aegir", "--version").CombinedOutput(); err != nil || !strings.HasPrefix(string(version), "aegir version ") {
		t.Errorf("the installed binary does not run: %v %s", err, version)
	}
	u, err := user.Lookup("aegir")
	if err != nil {
		t.Fatalf("no aegir user after install: %v", err)
	}
	if fi, err := os.Stat(u.HomeDir); err != nil || !fi.IsDir() {
		t.Errorf("the aegir user's home %s: %v", u.HomeDir, err)
	}
	if fi, err := os.Stat("/etc/default/aegir"); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("/etc/default/aegir: %v %v, want mode 0640", fi.Mode(), err)
	}

	run(t, "dpkg", "--remove", "aegir")
	if _, err := os.Stat("/usr/bin/aegir"); !os.IsNotExist(err) {
		t.Errorf("the binary stays after remove: %v", err)
	}
	if _, err := os.Stat("/etc/default/aegir"); err != nil {
		t.Errorf("remove took the settings: %v", err)
	}
	run(t, "dpkg", "--purge", "aegir")
	if _, err := os.Stat("/etc/default/aegir"); !os.IsNotExist(err) {
		t.Errorf("the settings stay after purge: %v", err)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
	return string(b)
}
