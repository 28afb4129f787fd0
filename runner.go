package aegir

import (
	"context"
	"io"
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
