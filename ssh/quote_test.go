package ssh

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// roundTrip runs Line's output through a real sh -c and returns the
// arguments the program received, one per NUL-terminated record.
func roundTrip(t testing.TB, cmd aegir.Command) []string {
	t.Helper()
	line, err := Line(cmd)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(context.Background(), "/bin/sh", "-c", line).Output()
	if err != nil {
		t.Fatalf("sh -c %s: %v", line, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

func TestLineRoundTripsThroughTheShell(t *testing.T) {
	t.Parallel()
	args := []string{"", "a b", "'", `"$HOME"`, "`id`", "$(id)", "; rm -rf /", "\n", "\\", "-n", "*", "~", "a'b'c", "!x", "ü"}
	got := roundTrip(t, aegir.Command{Args: append([]string{"printf", `%s\0`}, args...)})
	if len(got) != len(args) {
		t.Fatalf("got %d arguments %q, want %d", len(got), got, len(args))
	}
	for i := range args {
		if got[i] != args[i] {
			t.Errorf("argument %d: got %q, want %q", i, got[i], args[i])
		}
	}
}

func TestLineSetsDirAndEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/it's a dir"
	if err := exec.Command("mkdir", dir).Run(); err != nil {
		t.Fatal(err)
	}
	got := roundTrip(t, aegir.Command{Dir: dir, Env: []string{"X=a 'b' $c"},
		Args: []string{"sh", "-c", `printf '%s\0%s\0' "$PWD" "$X"`}})
	if want := []string{dir, "X=a 'b' $c"[2:]}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLineRefusesWhatAShellCannotCarry(t *testing.T) {
	t.Parallel()
	for _, cmd := range []aegir.Command{
		{},
		{Args: []string{"printf", "a\x00b"}},
		{Args: []string{"-c", "id"}},
		{Args: []string{"X=1", "id"}},
		{Args: []string{"id"}, Env: []string{"1X=a"}},
		{Args: []string{"id"}, Env: []string{"X"}},
		{Args: []string{"id"}, Dir: "/tmp/\x00"},
	} {
		if line, err := Line(cmd); err == nil {
			t.Errorf("Line(%q) = %q, want an error", cmd.Args, line)
		}
	}
}

// FuzzLine proves that any argument vector Line accepts reaches the program
// unchanged through a real sh -c.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "'", `'\''`, "$(id)", "a\nb", "\\'", "\"'\"", "${IFS}"} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		cmd := aegir.Command{Args: []string{"printf", `%s\0`, "x" + a, "x" + b}}
		if strings.ContainsRune(a+b, 0) {
			if _, err := Line(cmd); err == nil {
				t.Fatal("a NUL was accepted")
			}
			return
		}
		line, err := Line(cmd)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("/bin/sh", "-c", line).Output()
		if err != nil {
			t.Fatalf("sh -c %q: %v", line, err)
		}
		if want := "x" + a + "\x00x" + b + "\x00"; !bytes.Equal(out, []byte(want)) {
			t.Fatalf("sh -c %q printed %q, want %q", line, out, want)
		}
	})
}
