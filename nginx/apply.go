package nginx

// This file is nginx's side of making the changes of WriteSite, DeleteSite
// and their undos live. The engine is internal/webconf, whose package
// documentation explains the design: changes made at the same time are
// coalesced behind one nginx -t and one reload, each caller is told its
// own result, and a broken vhost never reaches the running nginx. What
// is nginx's own is here: a new vhost is first tested on its own, in a
// small configuration made of the live server file with only the batch's
// new vhosts in place of vhost.d (nginx -t of it takes a few milliseconds
// when the batch is small), and a reload is live once the new generation
// answers and the old workers are gone, or rejected when the master
// starts no new workers (nginx.go).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/webconf"
)

// target is what the engine needs to make this server's changes live,
// together with whatever changes of the same server other callers submit
// meanwhile (see webconf.Submit).
func (n *Nginx) target() webconf.Target {
	cmd := func(args []string) string { return strings.Join(args, " ") }
	return webconf.Target{
		Dir: n.confDir(),
		Key: n.applyKey(),
		Words: webconf.Words{
			Server:      "nginx",
			Test:        cmd(n.server.HTTPTestCmd),
			Reloaded:    fmt.Sprintf("reloaded nginx (%s)", cmd(n.server.HTTPRestartCmd)),
			Unconfirmed: fmt.Sprintf("nginx did not confirm the reload within %s", liveTimeout),
			Pretest:     "nginx -t",
		},
		Server: applier{n},
		Log:    n.env.Log,
		Wait:   n.env.Wait,
	}
}

// applyKey names what a batch shares: the configuration directory and how
// nginx is tested, reloaded and asked.
func (n *Nginx) applyKey() string { return webconf.Key(n.confDir(), n.server) }

// applier is how the engine tests and reloads nginx.
type applier struct{ *Nginx }

// Generation writes a new generation token (writeGeneration).
func (a applier) Generation() (string, error) { return a.writeGeneration() }

// Test runs the test command.
func (a applier) Test(ctx context.Context) error { return a.test(ctx) }

// Reload runs the restart command and waits until the new configuration
// answers, with an error when the master rejected it (waitLive).
func (a applier) Reload(ctx context.Context, generation string) (bool, error) {
	old := a.workers(ctx)
	if err := a.reload(ctx); err != nil {
		return false, err
	}
	return a.waitLive(ctx, generation, old)
}

// Pretest tests new vhosts on their own (pretest).
func (a applier) Pretest(ctx context.Context, cands []*webconf.Change) map[*webconf.Change]bool {
	return a.pretest(ctx, cands)
}

// Files returns how many vhosts vhost.d holds.
func (a applier) Files() int { return a.vhostCount() }

// vhostCount returns how many vhosts vhost.d holds (*.conf files, not the
// staged ones).
func (n *Nginx) vhostCount() int {
	f, err := os.Open(filepath.Join(n.confDir(), "vhost.d"))
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	count := 0
	for _, name := range names {
		if strings.HasSuffix(name, ".conf") && !strings.HasPrefix(name, ".") {
			count++
		}
	}
	return count
}

// pretestArgs returns the command that runs nginx -t on another
// configuration: the test command up to and including the nginx binary
// (so a "sudo" before it stays). It returns nil when the test command
// does not run nginx itself (a wrapper script), or nginx runs elsewhere.
func (n *Nginx) pretestArgs() []string {
	if !n.local() {
		return nil
	}
	for i, a := range n.server.HTTPTestCmd {
		if base := filepath.Base(a); base == "nginx" || strings.HasPrefix(base, "nginx-") {
			return append([]string(nil), n.server.HTTPTestCmd[:i+1]...)
		}
	}
	return nil
}

// pretest tests the new vhosts of cands on their own and returns those
// that fail. It runs nginx -t on a small configuration: the live server
// file with its include of vhost.d replaced by includes of the spares of
// the vhosts tested, so nothing is copied. All of them are tested at once;
// only when that fails is the set halved until the failing vhosts are
// found. It returns nil when it cannot tell: no server file yet, a test
// command that does not run nginx, or a small configuration that fails
// without any vhost (the server file relies on something of the system's
// nginx.conf).
func (n *Nginx) pretest(ctx context.Context, cands []*webconf.Change) map[*webconf.Change]bool {
	if len(cands) == 0 {
		return nil
	}
	args := n.pretestArgs()
	server, err := os.ReadFile(n.ServerFile())
	include := []byte("include " + filepath.Join(n.confDir(), "vhost.d") + "/*.conf;")
	if args == nil || err != nil || !bytes.Contains(server, include) {
		return nil
	}
	dir, err := os.MkdirTemp(n.confDir(), ".pretest-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	runs := 0
	try := func(set []*webconf.Change) error {
		runs++
		var includes bytes.Buffer
		includes.WriteString("# the vhosts tested on their own\n")
		for _, c := range set {
			path, ok := c.Spare()
			if !ok {
				// The spare is gone (renamed over the file, and put back).
				path = filepath.Join(dir, fmt.Sprintf("vhost%d-%s", runs, filepath.Base(c.Path)))
				if err := os.WriteFile(path, c.Data, 0o600); err != nil {
					return err
				}
			}
			fmt.Fprintf(&includes, "include %s;\n", path)
		}
		conf := bytes.Replace(server, include, includes.Bytes(), 1)
		server := filepath.Join(dir, fmt.Sprintf("server%d.conf", runs))
		if err := os.WriteFile(server, conf, 0o600); err != nil {
			return err
		}
		main := filepath.Join(dir, fmt.Sprintf("nginx%d.conf", runs))
		text := fmt.Sprintf("# nginx -t of new vhosts on their own, by aegir\npid %s/nginx.pid;\nevents {}\nhttp {\n    include %s;\n}\n", dir, server)
		if err := os.WriteFile(main, []byte(text), 0o600); err != nil {
			return err
		}
		_, err := n.env.Runner.Run(ctx, aegir.Command{Args: append(args[:len(args):len(args)],
			"-t", "-q", "-p", dir+"/", "-c", main, "-e", filepath.Join(dir, "error.log"))})
		return err
	}
	if try(cands) == nil {
		return nil
	}
	if try(nil) != nil {
		return nil
	}
	suspect := map[*webconf.Change]bool{}
	var bisect func(set []*webconf.Change)
	bisect = func(set []*webconf.Change) {
		if len(set) == 1 {
			suspect[set[0]] = true
			return
		}
		h := len(set) / 2
		for _, half := range [][]*webconf.Change{set[:h], set[h:]} {
			if try(half) != nil {
				bisect(half)
			}
		}
	}
	bisect(cands)
	return suspect
}

// Sync copies the configuration to a remote server again after a batch,
// so what the batch put back here is put back there.
func (a applier) Sync(ctx context.Context) error { return webconf.Push(ctx, a.env, a.serverDir()) }

var _ webconf.Syncer = applier{}
