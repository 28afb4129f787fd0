package aegir

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Command is one external command as an argument vector: never a shell
// string, so no user data is ever parsed by a shell.
type Command struct {
	Args  []string
	Dir   string
	Env   []string // added to the runner's environment, KEY=value
	Stdin io.Reader
	// Stdout, when set, receives the standard output as it comes (a dump
	// streamed into a file) instead of Run returning it.
	Stdout io.Writer
}

// Runner runs commands on a server: local exec here, SSH for remote servers.
type Runner interface {
	// Run runs cmd and returns its standard output. A non-zero exit is an
	// error that carries the command's standard error.
	Run(ctx context.Context, cmd Command) ([]byte, error)
}

// maxFailureOutput bounds what a failed command's error carries of its
// output.
const maxFailureOutput = 4000

var (
	// failureLine is a line that says what went wrong, in the words of PHP,
	// Drush and Symfony's console, MariaDB's clients, nginx and shells.
	failureLine = regexp.MustCompile(`(?i)(fatal error|uncaught|exception|\berror\b|\bfailed\b|^\s*In \S+ line \d+:\s*$)`)
	// traceLine is a line of a PHP stack trace.
	traceLine = regexp.MustCompile(`^\s*#\d+ `)
)

// CommandFailed is the error of a command that ran and failed: its command
// line, err, and its output (standard error, or standard output when that is
// empty), led by the first line that says what went wrong, so a message cut
// to its end (a PHP stack trace's "#26 {main}") still starts with the cause.
// Stack trace lines are left out.
func CommandFailed(args []string, err error, stderr, stdout []byte) error {
	out := strings.TrimSpace(string(stderr))
	if out == "" {
		out = strings.TrimSpace(string(stdout))
	}
	return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, FailureSummary(out))
}

// FailureSummary returns a failed command's output led by its error (see
// CommandFailed), at most maxFailureOutput bytes of it.
func FailureSummary(out string) string {
	var lines []string
	trace := 0
	for _, l := range strings.Split(out, "\n") {
		if traceLine.MatchString(l) {
			trace++
			continue
		}
		lines = append(lines, strings.TrimRight(l, " \t\r"))
	}
	lead := ""
	for i, l := range lines {
		if !failureLine.MatchString(l) {
			continue
		}
		// Symfony's console prints "In File.php line N:" and then the
		// message in a padded block up to an empty line.
		if strings.HasPrefix(strings.TrimSpace(l), "In ") && strings.HasSuffix(l, ":") {
			var block []string
			for _, m := range lines[i+1:] {
				if strings.TrimSpace(m) == "" && len(block) > 0 {
					break
				}
				if t := strings.TrimSpace(m); t != "" {
					block = append(block, t)
				}
			}
			lead = strings.Join(append([]string{strings.TrimSpace(l)}, block...), " ")
		} else {
			lead = strings.TrimSpace(l)
		}
		break
	}
	rest := strings.TrimSpace(strings.Join(lines, "\n"))
	if trace > 0 {
		rest += fmt.Sprintf("\n(%d lines of stack trace left out)", trace)
	}
	if len(lead) > maxFailureOutput/2 {
		lead = lead[:maxFailureOutput/2] + "..."
	}
	// The lead, then as much of the end of the output as fits.
	if room := maxFailureOutput - len(lead); len(rest) > room {
		rest = "..." + rest[len(rest)-room+3:]
	}
	if lead == "" || strings.HasPrefix(rest, lead) {
		return rest
	}
	return lead + "\n" + rest
}
