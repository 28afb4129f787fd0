package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSaveRejectsInvalidInputBeforeWriting runs bad save commands and
// checks each exits non-zero, names the property at fault, and writes
// nothing.
func TestSaveRejectsInvalidInputBeforeWriting(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	run := func(args ...string) (string, error) {
		s := &stack{t: t, home: home}
		return s.aegir(args...)
	}
	if _, err := run("save", "@server_master", "--context_type=server", "--http_service_type=null", "--master_db=mysql://root:@127.0.0.1:3306"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("save", "@platform_a", "--context_type=platform", "--root=/var/aegir/platforms/a"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 64) + ".test"
	cases := []struct {
		name string
		args []string
		want string // the property named in the error
	}{
		{"uppercase uri", []string{"save", "@Example.com", "--context_type=site", "--platform=@platform_a"}, "name"},
		{"uri with ..", []string{"save", "@a..b.com", "--context_type=site", "--platform=@platform_a"}, "name"},
		{"uri with ;", []string{"save", "@a;b.com", "--context_type=site", "--platform=@platform_a"}, "name"},
		{"uri with quote", []string{"save", "@a'b.com", "--context_type=site", "--platform=@platform_a"}, "name"},
		{"uri with space", []string{"save", "@a b.com", "--context_type=site", "--platform=@platform_a"}, "name"},
		{"uri with slash", []string{"save", "@a/b.com", "--context_type=site", "--platform=@platform_a"}, "name"},
		{"over-long label", []string{"save", "@" + long, "--context_type=site", "--platform=@platform_a"}, "uri"},
		{"uri with underscore", []string{"save", "@a_b.com", "--context_type=site", "--platform=@platform_a"}, "uri"},
		{"uri differs from name", []string{"save", "@ok.test", "--context_type=site", "--platform=@platform_a", "--uri=other.test"}, "uri"},
		{"bad alias", []string{"save", "@ok.test", "--context_type=site", "--platform=@platform_a", "--aliases=good.test,Bad.test"}, "aliases"},
		{"redirection not an alias", []string{"save", "@ok.test", "--context_type=site", "--platform=@platform_a", "--aliases=www.ok.test", "--redirection=elsewhere.test"}, "redirection"},
		{"unknown property", []string{"save", "@ok.test", "--context_type=site", "--platform=@platform_a", "--colour=blue"}, "colour"},
		{"internal property", []string{"save", "@ok.test", "--context_type=site", "--platform=@platform_a", "--db_passwd=x"}, "db_passwd"},
		{"missing platform", []string{"save", "@ok.test", "--context_type=site", "--platform=@platform_nope"}, "platform"},
		{"platform is a server", []string{"save", "@ok.test", "--context_type=site", "--platform=@server_master"}, "platform"},
		{"missing db server", []string{"save", "@ok.test", "--context_type=site", "--platform=@platform_a", "--db_server=@server_nope"}, "db_server"},
		{"no platform", []string{"save", "@ok.test", "--context_type=site"}, "platform"},
		{"no type", []string{"save", "@new.test", "--platform=@platform_a"}, "context_type"},
		{"bad type", []string{"save", "@new.test", "--context_type=planet"}, "context_type"},
		{"port not a number", []string{"save", "@server_x", "--context_type=server", "--http_port=eighty"}, "http_port"},
		{"port out of range", []string{"save", "@server_x", "--context_type=server", "--http_port=70000"}, "http_port"},
		{"bad http service", []string{"save", "@server_x", "--context_type=server", "--http_service_type=iis"}, "http_service_type"},
		{"bad master_db", []string{"save", "@server_x", "--context_type=server", "--master_db=postgres://x"}, "master_db"},
		{"bad bool", []string{"save", "@server_x", "--context_type=server", "--db_grant_all_hosts=maybe"}, "db_grant_all_hosts"},
		{"relative root", []string{"save", "@platform_b", "--context_type=platform", "--root=platforms/b"}, "root"},
		{"web server missing", []string{"save", "@platform_b", "--context_type=platform", "--root=/srv/b", "--web_server=@server_gone"}, "web_server"},
		{"bad profile", []string{"save", "@ok.test", "--context_type=site", "--platform=@platform_a", "--profile=../x"}, "profile"},
		{"retype", []string{"save", "@platform_a", "--context_type=site"}, "context_type"},
	}
	before := listDir(t, filepath.Join(home, "contexts"))
	for _, tc := range cases {
		out, err := run(tc.args...)
		if err == nil {
			t.Errorf("%s: accepted: %s", tc.name, out)
			continue
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s: error does not name %q: %s", tc.name, tc.want, out)
		}
		if after := listDir(t, filepath.Join(home, "contexts")); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Fatalf("%s: contexts changed: %v -> %v", tc.name, before, after)
		}
	}

	// A good site saves; a second save changes only what it names; null resets.
	if _, err := run("save", "@ok.test", "--context_type=site", "--platform=@platform_a", "--aliases=www.ok.test", "--profile=minimal"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("save", "@ok.test", "--client-email=me@example.com", "--profile=null"); err != nil {
		t.Fatal(err)
	}
	out, err := run("show", "@ok.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aliases: [www.ok.test]", "client_email: me@example.com", "profile: standard", "platform: @platform_a"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	// A platform in use cannot be deleted; an unused site can.
	if out, err := run("save", "@platform_a", "--delete"); err == nil || !strings.Contains(out, "ok.test") {
		t.Errorf("deleting a platform in use: %v %s", err, out)
	}
	if _, err := run("save", "@ok.test", "--delete"); err != nil {
		t.Fatal(err)
	}
	if out, _ := run("list", "--type", "site"); strings.Contains(out, "ok.test") {
		t.Errorf("deleted site still listed: %s", out)
	}
	// Back-end commands refuse root without AEGIR_ALLOW_ROOT.
	if os.Geteuid() == 0 {
		cmd := exec.Command(aegirBin, "verify", "@server_master")
		cmd.Env = append(os.Environ(), "AEGIR_HOME="+home, "AEGIR_ALLOW_ROOT=")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "refusing to run as root") {
			t.Errorf("verify as root without AEGIR_ALLOW_ROOT: %v %s", err, out)
		}
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
