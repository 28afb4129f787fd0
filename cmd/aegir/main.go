// Command aegir is the aegir hosting system: the back end (provision) that
// saves named contexts and runs tasks on them, and the tools to set up a
// hosting server.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	humanize "github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/restic"
	"github.com/aegir-hosting/aegir/source"
	"github.com/aegir-hosting/aegir/ssh"
	"github.com/aegir-hosting/aegir/tarball"

	// The standard drivers register themselves.
	_ "github.com/aegir-hosting/aegir/apache"
	_ "github.com/aegir-hosting/aegir/cluster"
	_ "github.com/aegir-hosting/aegir/drupal"
	_ "github.com/aegir-hosting/aegir/mediawiki"
	_ "github.com/aegir-hosting/aegir/mysql"
	_ "github.com/aegir-hosting/aegir/nginx"
	_ "github.com/aegir-hosting/aegir/null"
	_ "github.com/aegir-hosting/aegir/phpapp"
	_ "github.com/aegir-hosting/aegir/ssl"
	_ "github.com/aegir-hosting/aegir/static"
	_ "github.com/aegir-hosting/aegir/wordpress"
)

// defaultHome is $AEGIR_HOME when neither the variable nor --home is set.
const defaultHome = "/var/aegir"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		var usage *usageError
		fmt.Fprintln(m.Stderr, "aegir:", err)
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// Main wires the back end together; tests build it directly.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Geteuid tells whether the command runs as root.
	Geteuid func() int
}

// NewMain returns a Main bound to the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Geteuid: os.Geteuid}
}

// Run runs the command line args (without the program's name).
func (m *Main) Run(ctx context.Context, args []string) error {
	root := m.command()
	if args == nil {
		args = []string{} // cobra reads os.Args when given none
	}
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		registerValueCompletions(root)
	}
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	return root.ExecuteContext(ctx)
}

// paths returns $AEGIR_HOME from --home, the environment or the default.
func (m *Main) paths(home string) aegir.Paths {
	if home == "" {
		home = m.Getenv("AEGIR_HOME")
	}
	if home == "" {
		home = defaultHome
	}
	return aegir.Paths{Home: home}
}

// backend builds the back end on $AEGIR_HOME.
func (m *Main) backend(paths aegir.Paths) *provision.Backend {
	runner := &local.Runner{}
	return &provision.Backend{
		Paths: paths, Contexts: contextfile.New(paths), Runner: runner,
		Transport:   ssh.NewTransport(paths, runner),
		Archiver:    &tarball.Archiver{Options: tarball.Options{MaxBytes: m.restoreLimit()}},
		Builder:     &source.Builder{Runner: runner},
		Projects:    contextfile.NewProjects(paths),
		LoadLimit:   m.loadLimit(),
		SiteUsers:   m.siteUsers(),
		HookTimeout: m.hookTimeout(),
		Offsite: func() (aegir.Offsite, error) {
			// Read at each task, so a target set up later takes effect
			// without restarting the front end.
			repo, err := restic.Open(paths, runner)
			if repo == nil || err != nil {
				return nil, err
			}
			return repo, nil
		},
	}
}

// hookTimeout bounds each task hook's run: $AEGIR_HOOK_TIMEOUT (a Go
// duration, "30s", "5m"), else provision.DefaultHookTimeout.
func (m *Main) hookTimeout() time.Duration {
	if d, err := time.ParseDuration(m.Getenv("AEGIR_HOOK_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return provision.DefaultHookTimeout
}

// restoreLimit is what a restored archive may expand to:
// $AEGIR_RESTORE_MAX_BYTES ("20GB", "500MiB", a number of bytes; "none"
// for no bound), else what the disk can spare (tarball.Options.MaxBytes 0).
func (m *Main) restoreLimit() int64 {
	v := m.Getenv("AEGIR_RESTORE_MAX_BYTES")
	if v == "none" {
		return -1
	}
	if n, err := humanize.ParseBytes(v); err == nil && n > 0 && n < 1<<62 {
		return int64(n)
	}
	return 0
}

// loadLimit is the load average above which heavy tasks are refused:
// $AEGIR_LOAD_CRITICAL, else ten per CPU.
func (m *Main) loadLimit() float64 {
	if v, err := strconv.ParseFloat(m.Getenv("AEGIR_LOAD_CRITICAL"), 64); err == nil {
		return v
	}
	return float64(10 * runtime.NumCPU())
}

// refuseRoot stops back-end commands run as root: files they write must
// belong to the aegir user. AEGIR_ALLOW_ROOT=1 is for containers and tests.
func (m *Main) refuseRoot() error {
	if m.Geteuid() == 0 && m.Getenv("AEGIR_ALLOW_ROOT") != "1" {
		return aegir.Errorf(aegir.EINVALID, "refusing to run as root: run as the aegir user (sudo -u aegir aegir ...), or set AEGIR_ALLOW_ROOT=1 in a container")
	}
	return nil
}

// contextArg returns the one @CONTEXT argument of a command.
func contextArg(args []string, cmd string) (string, error) {
	if len(args) != 1 {
		return "", usageErrorf("usage: aegir %s @NAME", cmd)
	}
	name := aegir.ContextName(args[0])
	if err := aegir.ValidateName("name", name); err != nil {
		return "", err
	}
	return name, nil
}
