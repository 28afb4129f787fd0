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
	"sort"
	"strconv"
	"strings"
	"syscall"

	humanize "github.com/dustin/go-humanize"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/tarball"

	// The standard drivers register themselves.
	_ "github.com/aegir-hosting/aegir/apache"
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

// command is one subcommand: its one-line summary and how it runs.
type command struct {
	summary string
	run     func(m *Main, ctx context.Context, args []string) error
}

// commands lists the subcommands; a function, since setup runs verify
// through Run and a package variable would refer to itself.
func commands() map[string]command {
	cmds := map[string]command{
		"save":           {"create, update or delete a named context", (*Main).save},
		"show":           {"print a named context", (*Main).show},
		"list":           {"list named contexts", (*Main).list},
		"setup":          {"turn this machine into a hosting server (as root)", (*Main).setup},
		"site-user":      {"the privileged helper for sites' Unix users (as root, through sudo): ensure | own | remove", (*Main).siteUser},
		"hosting-import": {"bring a context made with the CLI into the front end", (*Main).hostingImport},
		"serve":          {"run the front end: REST API, metrics, task dispatcher [--listen ADDR] [--database URL] [--workers N]", (*Main).serve},
		"token":          {"manage API tokens: create USER [--name NAME] | revoke ID|- | list USER", (*Main).token},
		"user":           {"manage front-end users: create NAME [--role R --email E --clients C] | login-link NAME | disable NAME | enable NAME | list", (*Main).user},
	}
	// The tasks, from the catalog; a batch migrate runs through its own
	// command (it reports on each site).
	for _, tt := range aegir.Tasks() {
		switch {
		case tt.Internal:
		case tt.Name == aegir.TaskMigratePlatform:
			cmds[tt.Name] = command{tt.Summary + ": @FROM @TO [--concurrency=N] [--force]", (*Main).migratePlatform}
		default:
			cmds[tt.Name] = taskCommand(tt)
		}
	}
	return cmds
}

// Run runs the subcommand named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		m.usage(m.Stdout)
		return nil
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		m.usage(m.Stderr)
		return usageErrorf("unknown command %q", args[0])
	}
	return cmd.run(m, ctx, args[1:])
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: aegir COMMAND [@CONTEXT] [--option=value ...]\n\ncommands:")
	all := commands()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, all[n].summary)
	}
	fmt.Fprintln(w, "\nevery command takes --home DIR (default $AEGIR_HOME or /var/aegir)")
}

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// options are the parsed command line of a subcommand: positional
// arguments and --name=value options, in any order.
type options struct {
	args  []string
	flags map[string]string
	order []string
}

// parseOptions reads --name=value, --name value and bare --name (true).
// Names are canonicalised to underscores, as Aegir users type them.
func parseOptions(args []string, boolean ...string) (*options, error) {
	o := &options{flags: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			o.args = append(o.args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		name = aegir.PropertyName(name)
		if name == "" {
			return nil, usageErrorf("bad option %q", a)
		}
		if !hasValue {
			isBool := false
			for _, b := range boolean {
				isBool = isBool || b == name
			}
			if isBool || i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
				value = "true"
			} else {
				i++
				value = args[i]
			}
		}
		if _, dup := o.flags[name]; dup {
			return nil, usageErrorf("option --%s given twice", name)
		}
		o.flags[name] = value
		o.order = append(o.order, name)
	}
	return o, nil
}

// take removes an option and returns its value.
func (o *options) take(name string) (string, bool) {
	v, ok := o.flags[name]
	delete(o.flags, name)
	return v, ok
}

// bool removes a boolean option and returns its value.
func (o *options) bool(name string) (bool, error) {
	v, ok := o.take(name)
	if !ok {
		return false, nil
	}
	switch v {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, usageErrorf("--%s takes no value or true/false, not %q", name, v)
}

// rest returns the options not taken yet, in command-line order.
func (o *options) rest() []string {
	var names []string
	for _, n := range o.order {
		if _, ok := o.flags[n]; ok {
			names = append(names, n)
		}
	}
	return names
}

// noMore fails when options are left that the command does not know.
func (o *options) noMore() error {
	if rest := o.rest(); len(rest) > 0 {
		return usageErrorf("unknown option --%s", rest[0])
	}
	return nil
}

// paths returns $AEGIR_HOME from --home, the environment or the default.
func (m *Main) paths(o *options) aegir.Paths {
	home, _ := o.take("home")
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
	return &provision.Backend{
		Paths: paths, Contexts: contextfile.New(paths), Runner: &local.Runner{},
		Archiver:  &tarball.Archiver{Options: tarball.Options{MaxBytes: m.restoreLimit()}},
		LoadLimit: m.loadLimit(),
		SiteUsers: m.siteUsers(),
	}
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
func contextArg(o *options, cmd string) (string, error) {
	if len(o.args) != 1 {
		return "", usageErrorf("usage: aegir %s @NAME", cmd)
	}
	name := aegir.ContextName(o.args[0])
	if err := aegir.ValidateName("name", name); err != nil {
		return "", err
	}
	return name, nil
}
