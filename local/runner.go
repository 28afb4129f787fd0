// Package local runs commands on this machine. It implements aegir.Runner
// with os/exec and must not import other adapters.
package local

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"time"

	"github.com/aegir-hosting/aegir"
)

// Runner runs commands with os/exec, never through a shell.
type Runner struct {
	// Env is added to the process environment of every command.
	Env []string
}

// Run runs cmd and returns its standard output; a failure carries the
// command line and its standard error, led by its error (aegir.CommandFailed).
func (r *Runner) Run(ctx context.Context, cmd aegir.Command) ([]byte, error) {
	if len(cmd.Args) == 0 {
		return nil, aegir.Errorf(aegir.EINTERNAL, "empty command")
	}
	c := exec.CommandContext(ctx, cmd.Args[0], cmd.Args[1:]...)
	c.Dir = cmd.Dir
	c.Env = append(append(os.Environ(), r.Env...), cmd.Env...)
	c.Stdin = cmd.Stdin
	// A killed command's children may hold its output open: stop waiting
	// for them soon after, so a timeout really ends the run.
	c.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if cmd.Stdout != nil {
		c.Stdout = cmd.Stdout
	}
	if err := c.Run(); err != nil {
		return stdout.Bytes(), aegir.CommandFailed(cmd.Args, err, stderr.Bytes(), stdout.Bytes())
	}
	return stdout.Bytes(), nil
}

var _ aegir.Runner = (*Runner)(nil)
