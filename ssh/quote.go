package ssh

import (
	"regexp"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// envName is a variable name a POSIX shell and env(1) accept.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Line makes cmd into one command line for the remote POSIX shell (sshd
// runs it with the user's shell -c): `cd -- DIR && exec env K=V ARGS...`,
// every word single-quoted. It is the one place where a shell line is made
// from data, audited as such: inside single quotes a POSIX shell interprets
// nothing, and a quote itself is written as '\” (close, escaped quote,
// reopen). Refused: a NUL (it cannot pass through a shell, argv or the
// environment), an invalid variable name, and a program name that starts
// with "-" or holds "=" (exec or env would read it as an option or an
// assignment).
func Line(cmd aegir.Command) (string, error) {
	if len(cmd.Args) == 0 {
		return "", aegir.Errorf(aegir.EINTERNAL, "empty command")
	}
	if p := cmd.Args[0]; p == "" || strings.HasPrefix(p, "-") || strings.Contains(p, "=") {
		return "", aegir.Errorf(aegir.EINVALID, "program name %q is empty, starts with \"-\" or holds \"=\"", p)
	}
	var words []string
	quote := func(s string) error {
		if strings.IndexByte(s, 0) >= 0 {
			return aegir.Errorf(aegir.EINVALID, "a command argument holds a NUL byte")
		}
		words = append(words, "'"+strings.ReplaceAll(s, "'", `'\''`)+"'")
		return nil
	}
	if cmd.Dir != "" {
		words = append(words, "cd", "--")
		if err := quote(cmd.Dir); err != nil {
			return "", err
		}
		words = append(words, "&&")
	}
	words = append(words, "exec")
	if len(cmd.Env) > 0 {
		words = append(words, "env")
		for _, kv := range cmd.Env {
			if k, _, ok := strings.Cut(kv, "="); !ok || !envName.MatchString(k) {
				return "", aegir.Errorf(aegir.EINVALID, "environment entry %q is not NAME=value", k)
			}
			if err := quote(kv); err != nil {
				return "", err
			}
		}
	}
	for _, a := range cmd.Args {
		if err := quote(a); err != nil {
			return "", err
		}
	}
	return strings.Join(words, " "), nil
}
