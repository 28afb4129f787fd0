package main

import (
	"errors"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// aegirCLI runs a command line on a Main whose $AEGIR_HOME is home and
// returns what it printed.
func aegirCLI(t *testing.T, home string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	m, out, errOut := testMain(home)
	err = m.Run(t.Context(), args)
	return out.String(), errOut.String(), err
}

// TestGlobalOptionsGoBeforeOrAfterTheCommand: --home works before the
// command, after it, and between its arguments, as --home DIR or
// --home=DIR, for the commands cobra parses and for save, which reads its
// own command line.
func TestGlobalOptionsGoBeforeOrAfterTheCommand(t *testing.T) {
	t.Parallel()
	home, elsewhere := t.TempDir(), t.TempDir()
	for _, args := range [][]string{
		{"--home", home, "save", "@server_master", "--context_type=server", "--http_service_type=null", "--db_service_type=null"},
		{"save", "--home=" + home, "@platform_a", "--context_type", "platform", "--root=/var/aegir/platforms/a"},
		{"save", "@ok.test", "--context-type=site", "--platform=@platform_a", "--home", home, "--client-email=me@example.com"},
	} {
		if _, errOut, err := aegirCLI(t, elsewhere, args...); err != nil {
			t.Fatalf("aegir %v: %v %s", args, err, errOut)
		}
	}
	for _, args := range [][]string{
		{"--home", home, "list"},
		{"--home=" + home, "list"},
		{"list", "--home", home},
	} {
		out, _, err := aegirCLI(t, elsewhere, args...)
		if err != nil || !strings.Contains(out, "@ok.test") || !strings.Contains(out, "@platform_a") {
			t.Errorf("aegir %v: %v %q", args, err, out)
		}
	}
	out, _, err := aegirCLI(t, elsewhere, "--home", home, "show", "@ok.test")
	if err != nil || !strings.Contains(out, "client_email: me@example.com") {
		t.Errorf("show after --home: %v %q", err, out)
	}
	if out, _, _ := aegirCLI(t, elsewhere, "list"); out != "" {
		t.Errorf("$AEGIR_HOME was not left alone: %q", out)
	}
	// --home given twice, with two values, is a mistake.
	var usage *usageError
	if _, _, err := aegirCLI(t, elsewhere, "--home", home, "list", "--home", elsewhere); !errors.As(err, &usage) {
		t.Errorf("two homes: %v", err)
	}
}

// TestCommandLineMistakesAreUsageErrors: each mistake exits with status 2,
// in the words aegir has always used.
func TestCommandLineMistakesAreUsageErrors(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"lst"}, "did you mean list?"},
		{[]string{"verify", "@x", "--colour=red"}, "unknown option --colour"},
		{[]string{"backup", "@x", "--format=gz", "--format", "zst"}, "option --format given twice"},
		{[]string{"backup", "@x", "--format"}, "option --format takes a value"},
		{[]string{"install", "@x", "--force=maybe"}, "--force takes no value or true/false"},
		{[]string{"migrate", "@x"}, "usage: aegir migrate @NAME PLATFORM [NEW_URI] [--db_server=DB_SERVER] [--force]"},
		{[]string{"migrate", "@x", "@p", "new.test", "more"}, "usage: aegir migrate"},
		{[]string{"backup-delete", "@x"}, "usage: aegir backup-delete @NAME FILES..."},
		{[]string{"verify"}, "usage: aegir verify @NAME [--renew]"},
		{[]string{"show"}, "usage: aegir show @NAME"},
		{[]string{"list", "x"}, "usage: aegir list"},
		{[]string{"user", "frobnicate", "ann"}, `unknown command "frobnicate" for aegir user`},
	} {
		_, _, err := aegirCLI(t, home, tc.args...)
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("aegir %v: %v, want a usage error saying %q", tc.args, err, tc.want)
		}
	}
}

// TestEveryCatalogTaskHasACommand: each task of the catalog but the
// internal ones is a command, with an option for each argument that is not
// positional, --force when the task takes it, and --json.
func TestEveryCatalogTaskHasACommand(t *testing.T) {
	t.Parallel()
	m, _, _ := testMain(t.TempDir())
	root := m.command()
	for _, tt := range aegir.Tasks() {
		cmd, _, err := root.Find([]string{tt.Name})
		if tt.Internal {
			if err == nil && cmd != root {
				t.Errorf("internal task %s has a command", tt.Name)
			}
			continue
		}
		if err != nil || cmd.Name() != tt.Name {
			t.Errorf("task %s has no command: %v", tt.Name, err)
			continue
		}
		if cmd.Short != tt.Summary || cmd.GroupID != groupTasks {
			t.Errorf("%s: summary %q in group %q", tt.Name, cmd.Short, cmd.GroupID)
		}
		options := []string{"json"}
		if tt.Force {
			options = append(options, "force")
		}
		for _, a := range tt.Args {
			if !a.Positional {
				options = append(options, a.Name)
			} else if cmd.Flags().Lookup(a.Name) != nil {
				t.Errorf("%s: positional argument %s is also an option", tt.Name, a.Name)
			}
		}
		for _, name := range options {
			if cmd.Flags().Lookup(name) == nil {
				t.Errorf("%s has no --%s", tt.Name, name)
			}
		}
		if got := cmd.Flags().Lookup("force") != nil; got != tt.Force {
			t.Errorf("%s: --force is there: %v, the catalog says %v", tt.Name, got, tt.Force)
		}
	}
}

// TestTaskHelpIsItsCatalogRow: aegir help TASK and aegir TASK --help show
// the task's summary, what it runs on, and its arguments with their docs in
// their positional order.
func TestTaskHelpIsItsCatalogRow(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	for _, args := range [][]string{{"help", "migrate"}, {"migrate", "--help"}, {"migrate", "-h"}} {
		out, _, err := aegirCLI(t, home, args...)
		if err != nil {
			t.Fatalf("aegir %v: %v", args, err)
		}
		tt, _ := aegir.LookupTask(aegir.TaskMigrate)
		wants := []string{tt.Summary, "Runs on a site.", "Heavy", "aegir migrate @NAME PLATFORM [NEW_URI]", "--force", "--json", "--home DIR"}
		for _, a := range tt.Args {
			wants = append(wants, a.Doc)
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("aegir %v lacks %q:\n%s", args, want, out)
			}
		}
		if strings.Index(out, "  PLATFORM") > strings.Index(out, "  [NEW_URI]") {
			t.Errorf("aegir %v: arguments out of order:\n%s", args, out)
		}
		if strings.Contains(out, "fail_at") {
			t.Errorf("aegir %v shows the test hook --fail_at:\n%s", args, out)
		}
	}
	// Options that are task arguments carry their docs and values.
	out, _, _ := aegirCLI(t, home, "help", "backup")
	if !strings.Contains(out, "--format gz|zst") || !strings.Contains(out, "the archive's compression") {
		t.Errorf("backup's help lacks --format:\n%s", out)
	}
	// save's help lists the properties of each type.
	out, _, _ = aegirCLI(t, home, "save", "--help")
	for _, want := range []string{"--root", "--http_port", "--aliases", "--context_type"} {
		if !strings.Contains(out, want) {
			t.Errorf("save --help lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--db_passwd") {
		t.Errorf("save --help offers an internal property:\n%s", out)
	}
}

// TestVersionComesFromTheBuild: --version and the version command print
// the version the go command stamped, "devel" when it stamped none.
func TestVersionComesFromTheBuild(t *testing.T) {
	t.Parallel()
	info, _ := debug.ReadBuildInfo()
	want := "aegir version " + versionOf(info) + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, _, err := aegirCLI(t, t.TempDir(), args...)
		if err != nil || !strings.HasPrefix(out, want) {
			t.Errorf("aegir %v: %v %q, want %q", args, err, out, want)
		}
	}
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{nil, "devel"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260101120000-0123456789ab+dirty"}, Settings: vcs("0123456789abcdef", "true")},
			"v0.0.0-20260101120000-0123456789ab+dirty"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef", "false")}, "devel-0123456789ab"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef", "true")}, "devel-0123456789ab-dirty"},
	} {
		if got := versionOf(tc.info); got != tc.want {
			t.Errorf("versionOf(%+v) = %q, want %q", tc.info, got, tc.want)
		}
	}
}

// TestCompletionScriptsAndContextNames: aegir completion writes cobra's
// bash and zsh scripts, and the shell's requests complete @names from the
// context files, of the types the argument takes.
func TestCompletionScriptsAndContextNames(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	for shell, want := range map[string]string{"bash": "__start_aegir", "zsh": "#compdef aegir"} {
		out, _, err := aegirCLI(t, home, "completion", shell)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: %v, no %q in %d bytes", shell, err, want, len(out))
		}
	}
	for _, args := range [][]string{
		{"save", "@server_master", "--context_type=server", "--http_service_type=null", "--db_service_type=null"},
		{"save", "@platform_a", "--context_type=platform", "--root=/var/aegir/platforms/a"},
		{"save", "@ok.test", "--context_type=site", "--platform=@platform_a"},
		{"save", "@other.test", "--context_type=site", "--platform=@platform_a"},
	} {
		if _, errOut, err := aegirCLI(t, home, args...); err != nil {
			t.Fatalf("aegir %v: %v %s", args, err, errOut)
		}
	}
	complete := func(args ...string) []string {
		t.Helper()
		out, _, err := aegirCLI(t, home, append([]string{"__complete"}, args...)...)
		if err != nil {
			t.Fatalf("__complete %v: %v", args, err)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(line, ":") {
				got = append(got, strings.SplitN(line, "\t", 2)[0])
			}
		}
		return got
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", ""}, "@ok.test @other.test @platform_a @server_master"},
		{[]string{"install", "@"}, "@ok.test @other.test"},
		{[]string{"install", "@o"}, "@ok.test @other.test"},
		{[]string{"migrate", "@ok.test", ""}, "@platform_a"},
		{[]string{"migrate-platform", ""}, "@platform_a"},
		{[]string{"show", "@ok"}, "@ok.test"},
		{[]string{"save", "@s"}, "@server_master"},
		{[]string{"save", "@x", "--plat"}, "--platform="},
		{[]string{"save", "@x", "--context_type=p"}, "platform"},
		{[]string{"backup", "@ok.test", "--format", ""}, "gz zst"},
		{[]string{"list", "--type="}, "server platform site"},
		{[]string{"--home", home + "/nowhere", "verify", "@"}, ""},
		{[]string{"verify", "@../"}, ""},
	} {
		if got := strings.Join(complete(tc.args...), " "); got != tc.want {
			t.Errorf("completing %q: %q, want %q", tc.args, got, tc.want)
		}
	}
}
