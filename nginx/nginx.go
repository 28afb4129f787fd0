package nginx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/phpfpm"
	"github.com/aegir-hosting/aegir/internal/webconf"
)

func init() {
	aegir.RegisterHTTP(aegir.ServiceNginx, New)
}

// File modes of what the driver writes. Vhosts hold database passwords, so
// only their owner reads them: the nginx master process reads its
// configuration as root, and its workers never read it.
const (
	configDirMode  = 0o711 // $AEGIR_HOME/config: traversable, not listable
	serverDirMode  = 0o711
	includeDirMode = 0o755
	includeMode    = 0o644
	serverFileMode = 0o644
	vhostMode      = 0o600
)

// Nginx is the nginx http service of one server. Its files live under
// config/<server>/ and config/includes/ of $AEGIR_HOME; they are written on
// this machine, and commands run through the Runner of the environment.
type Nginx struct {
	server *aegir.Server
	name   string
	env    aegir.Env
	// rejectAfter, when set, replaces rejectTimeout (tests).
	rejectAfter time.Duration
}

// New returns the nginx service of the server named serverName. The server
// must have its defaults applied (port, test and restart commands, conf
// link, PHP-FPM socket).
func New(server *aegir.Server, serverName string, env aegir.Env) (aegir.HTTPService, error) {
	if err := webconf.CheckServer(server, serverName, env.Paths, "nginx"); err != nil {
		return nil, err
	}
	if env.Runner == nil || env.Log == nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "nginx: environment without runner or log")
	}
	return &Nginx{server: server, name: serverName, env: env}, nil
}

// serverDir is config/<server>.
func (n *Nginx) serverDir() string { return n.env.Paths.ServerConfig(n.name) }

// ServerFile returns the path of the server file, the one file the system
// nginx includes (through the conf link) inside its http block.
func (n *Nginx) ServerFile() string { return filepath.Join(n.serverDir(), "nginx.conf") }

// confDir is config/<server>/nginx, which holds the included directories.
func (n *Nginx) confDir() string { return filepath.Join(n.serverDir(), "nginx") }

// includedDirs are the directories the server file includes, in order.
var includedDirs = []string{"pre.d", "platform.d", "vhost.d", "post.d"}

// VhostFile returns the path of the vhost of the site uri.
func (n *Nginx) VhostFile(uri string) string {
	return filepath.Join(n.confDir(), "vhost.d", uri+".conf")
}

// renderServer returns the content of the server file.
func (n *Nginx) renderServer() ([]byte, error) {
	return render(serverTemplate, serverData{
		Server: n.name, Dir: n.confDir(), Port: n.server.HTTPPort, PHPFPMSocket: n.server.PHPFPMSocket,
	})
}

// renderVhost validates v and returns the content of its vhost.
func (n *Nginx) renderVhost(v *aegir.Vhost) ([]byte, error) {
	d, err := n.vhostData(v)
	if err != nil {
		return nil, err
	}
	return render(vhostTemplate, d)
}

// VerifyServer creates the configuration tree, writes the include snippets
// and the server file, links the server file at http_conf_link, tests the
// whole nginx configuration and reloads nginx. When the test fails, the
// previous files and link are put back and the error carries nginx's
// message.
func (n *Nginx) VerifyServer(ctx context.Context) error {
	if err := n.makeDirs(); err != nil {
		return err
	}
	unlock, err := webconf.Lock(n.confDir())
	if err != nil {
		return err
	}
	defer unlock()
	// A remote server's include link is its own, made by bootstrap (or
	// by hand) as root there.
	remote := n.env.Remote()
	if err := webconf.CheckLinkPlace(n.server.HTTPConfLink, "nginx"); err != nil && !remote {
		return err
	}

	type file struct {
		path string
		data []byte
		mode fs.FileMode
	}
	var files []file
	for _, name := range includeNames() {
		data, err := render(name+".tmpl", nil)
		if err != nil {
			return err
		}
		files = append(files, file{filepath.Join(n.env.Paths.Includes(), name), data, includeMode})
	}
	data, err := n.renderServer()
	if err != nil {
		return err
	}
	files = append(files, file{n.ServerFile(), data, serverFileMode})

	var before []webconf.Snapshot
	for _, f := range files {
		s, err := webconf.TakeSnapshot(f.path)
		if err != nil {
			return err
		}
		before = append(before, s)
	}
	link, err := webconf.TakeLinkSnapshot(n.server.HTTPConfLink)
	if err != nil {
		return err
	}
	putBack := func() error {
		// The link first, so nginx never includes a server file that is gone.
		errs := []error{link.Restore()}
		for _, s := range before {
			errs = append(errs, s.Restore())
		}
		// And there: what a remote server was sent goes back too.
		errs = append(errs, webconf.Push(ctx, n.env, n.serverDir()))
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("put back the previous nginx configuration: %w", err)
		}
		n.env.Log.Infof("put back the previous nginx configuration of server %s", n.name)
		return nil
	}

	for _, f := range files {
		if err := webconf.WriteFile(f.path, f.data, f.mode); err != nil {
			return errors.Join(err, putBack())
		}
	}
	n.env.Log.Infof("wrote %s and %d include snippets in %s", n.ServerFile(), len(files)-1, n.env.Paths.Includes())
	if !remote {
		if err := webconf.Symlink(n.ServerFile(), n.server.HTTPConfLink); err != nil {
			return errors.Join(aegir.FieldErrorf("http_conf_link", "link %s to %s: %v", n.server.HTTPConfLink, n.ServerFile(), err), putBack())
		}
		n.env.Log.Infof("linked %s to %s", n.server.HTTPConfLink, n.ServerFile())
	}
	// The configuration is valid once tested: a failed reload leaves it in
	// place for the next start of nginx.
	if err := n.testAndReload(ctx); err != nil && errors.Is(err, errRejected) {
		return errors.Join(err, putBack())
	} else if err != nil {
		return err
	}
	return nil
}

// makeDirs creates the configuration tree and sets its modes.
func (n *Nginx) makeDirs() error {
	dirs := []struct {
		path string
		mode fs.FileMode
	}{
		{n.env.Paths.Config(), configDirMode},
		{n.env.Paths.Includes(), includeDirMode},
		{n.serverDir(), serverDirMode},
		{n.confDir(), serverDirMode},
	}
	// The snippets directory is the user's: created here, never written.
	for _, d := range append(slices.Clone(includedDirs), webconf.SnippetsDir) {
		dirs = append(dirs, struct {
			path string
			mode fs.FileMode
		}{filepath.Join(n.confDir(), d), serverDirMode})
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return fmt.Errorf("create %s: %w", d.path, err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return fmt.Errorf("chmod %s: %w", d.path, err)
		}
	}
	return nil
}

// WritePlatform writes nothing and returns a nil Undo. Unlike Apache's
// <Directory> blocks, nginx has no per-codebase configuration: everything a
// platform needs (its root and its app's include snippet) is written into
// the server block of each of its sites. The platform.d directory the
// server file includes is left for hand-written directives. It still
// reports an app that has no include snippet, since none of the
// platform's sites could be served.
func (n *Nginx) WritePlatform(ctx context.Context, name, root, app string) (aegir.Undo, error) {
	if !webconf.IsApp(app) || !hasAppInclude(app) {
		return nil, aegir.FieldErrorf("app", "nginx has no include snippet for app %q", app)
	}
	return nil, nil
}

// WriteSite writes the vhost of v, tests the whole configuration and
// reloads nginx. When the test or the reload fails, the previous vhost is
// put back (or the new one removed), nothing is reloaded, and the error
// carries nginx's message. The returned Undo puts back the previous vhost,
// or removes the vhost when there was none, then tests and reloads.
//
// Calls made at the same time (by the tasks of one process) share one
// test and one reload; a new vhost is first tested on its own, so a
// broken one fails alone and never holds up, or reaches, the others. See
// apply.go.
func (n *Nginx) WriteSite(ctx context.Context, v *aegir.Vhost) (aegir.Undo, error) {
	data, err := n.renderVhost(v)
	if err != nil {
		return nil, err
	}
	return webconf.Write(ctx, n.target(), n.VhostFile(v.URI), data, vhostMode)
}

// DeleteSite removes the vhost of the site uri, tests and reloads; a
// missing vhost is not an error. When the test or the reload fails, the
// vhost is put back. The returned Undo writes the vhost back, tests and
// reloads. Like WriteSite, calls made at the same time share a reload.
func (n *Nginx) DeleteSite(ctx context.Context, uri string) (aegir.Undo, error) {
	if err := aegir.ValidateURI("uri", uri); err != nil {
		return nil, err
	}
	return webconf.Remove(ctx, n.target(), n.VhostFile(uri))
}

// WritePool writes the php-fpm pool of a site of this server into
// config/<server>/php-fpm, tests php-fpm's configuration and reloads it,
// as WriteSite does a vhost (internal/phpfpm). The Undo puts back the
// previous pool, or removes it.
func (n *Nginx) WritePool(ctx context.Context, p *aegir.PHPPool) (aegir.Undo, error) {
	return phpfpm.New(n.server, n.name, n.env).Write(ctx, p)
}

// DeletePool removes the pool of user, tests and reloads php-fpm; a
// missing pool is not an error. The Undo writes it back.
func (n *Nginx) DeletePool(ctx context.Context, user string) (aegir.Undo, error) {
	return phpfpm.New(n.server, n.name, n.env).Delete(ctx, user)
}

// writeGeneration writes a new token into the file the default server
// answers /.aegir/generation with (followed by the answering worker's
// pid), and returns it.
func (n *Nginx) writeGeneration() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	return token, webconf.WriteFile(n.generationFile(), []byte("return 200 \""+token+" $pid\\n\";\n"), includeMode)
}

func (n *Nginx) generationFile() string { return filepath.Join(n.confDir(), "generation.conf") }

// liveTimeout bounds the wait for a reload to go live.
const liveTimeout = 5 * time.Second

// local reports whether nginx runs on this machine, where it can be asked.
func (n *Nginx) local() bool {
	return n.server.IsLocal()
}

// probe asks the default server which generation it serves and which
// worker answered.
func (n *Nginx) probe(ctx context.Context) (generation string, worker int, ok bool) {
	url := fmt.Sprintf("http://127.0.0.1:%d/.aegir/generation", n.server.HTTPPort)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, false
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 100))
	var pid int
	if _, err := fmt.Sscanf(string(body), "%s %d", &generation, &pid); err != nil {
		return "", 0, false
	}
	return generation, pid, true
}

// workers returns the pids of the running nginx's worker processes: the
// children of the master of a worker that answers the probe.
func (n *Nginx) workers(ctx context.Context) []int {
	if !n.local() {
		return nil
	}
	_, worker, ok := n.probe(ctx)
	if !ok {
		return nil
	}
	master, ok := parentPID(worker)
	if !ok {
		return nil
	}
	return childPIDs(master)
}

// rejectTimeout bounds the wait for the master to start the workers of
// a new configuration after the restart command: a master that has not
// by then did not take it (a reload by signal returns before the master
// reads the configuration, and a master that fails to load it only says
// so in its error log).
const rejectTimeout = 30 * time.Second

// waitLive waits, for a few seconds at most, until nginx answers with the
// generation just written and the workers of the previous configuration
// are gone: nginx applies a reload asynchronously, and an old worker would
// otherwise go on serving the previous configuration (say, a database the
// task is about to drop). When the master has started new workers but the
// new generation does not answer in time, waitLive reports false, and the
// caller warns, since the reload was taken. When the master starts no new
// workers at all (it rejected the configuration), waitLive returns an
// error after rejectTimeout.
func (n *Nginx) waitLive(ctx context.Context, generation string, old []int) (bool, error) {
	if !n.local() {
		return true, nil
	}
	start := time.Now()
	for ctx.Err() == nil {
		if g, _, ok := n.probe(ctx); ok && g == generation && !anyAlive(old) {
			return true, nil
		}
		if waited := time.Since(start); waited > liveTimeout {
			started, known := newWorkers(old)
			if started || !known {
				return false, nil
			}
			limit := rejectTimeout
			if n.rejectAfter > 0 {
				limit = n.rejectAfter
			}
			if waited > limit {
				return false, fmt.Errorf("nginx did not load the new configuration: its master started no new workers within %s of the reload (%s); it rejected the configuration, see nginx's error log",
					limit, strings.Join(n.server.HTTPRestartCmd, " "))
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false, nil
}

// newWorkers reports whether the master of the old workers has started
// others, and whether that can be told (the old workers are known and
// their master runs).
func newWorkers(old []int) (started, known bool) {
	if len(old) == 0 {
		return false, false
	}
	master := 0
	for _, pid := range old {
		if ppid, ok := parentPID(pid); ok {
			master = ppid
			break
		}
	}
	if master <= 1 {
		return false, false
	}
	for _, pid := range childPIDs(master) {
		if !slices.Contains(old, pid) {
			return true, true
		}
	}
	return false, true
}

// parentPID reads the parent of a process from /proc.
func parentPID(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces and parentheses: the fields that
	// matter follow the last ")": state, then the parent's pid.
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[i+1:]))
	if i < 0 || len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// childPIDs lists the processes whose parent is pid.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentPID(child); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// anyAlive reports whether any of the processes still runs (a zombie
// counts as gone).
func anyAlive(pids []int) bool {
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(data), ')')
		if fields := strings.Fields(string(data[i+1:])); len(fields) > 0 && fields[0] != "Z" {
			return true
		}
	}
	return false
}

// testAndReload tests the whole nginx configuration and, only when it
// passes, reloads nginx and waits until the new configuration answers.
// VerifyServer goes live through it; site changes go through the batches
// of apply.go, which do the same for many changes at once.
func (n *Nginx) testAndReload(ctx context.Context) error {
	generation, err := n.writeGeneration()
	if err != nil {
		return err
	}
	if err := n.test(ctx); err != nil {
		return err
	}
	n.env.Log.Infof("nginx configuration test passed (%s)", strings.Join(n.server.HTTPTestCmd, " "))
	old := n.workers(ctx)
	if err := n.reload(ctx); err != nil {
		return err
	}
	n.env.Log.Infof("reloaded nginx (%s)", strings.Join(n.server.HTTPRestartCmd, " "))
	confirmed, err := n.waitLive(ctx, generation, old)
	if err != nil {
		return err
	}
	if !confirmed {
		n.env.Log.Warnf("nginx did not confirm the reload within %s", liveTimeout)
	}
	return nil
}

// errRejected marks a configuration that failed nginx's test.
var errRejected = errors.New("nginx rejected the configuration, nothing was reloaded")

// test runs the test command; its error carries nginx's message.
func (n *Nginx) test(ctx context.Context) error {
	if err := webconf.Push(ctx, n.env, n.serverDir()); err != nil {
		return err
	}
	if _, err := n.env.Runner.Run(ctx, aegir.Command{Args: n.server.HTTPTestCmd}); err != nil {
		return &aegir.Error{Code: aegir.EINVALID, Message: fmt.Errorf("%w: %v", errRejected, err).Error(), Cause: errRejected}
	}
	return nil
}

// reload runs the restart command.
func (n *Nginx) reload(ctx context.Context) error {
	if _, err := n.env.Runner.Run(ctx, aegir.Command{Args: n.server.HTTPRestartCmd}); err != nil {
		return fmt.Errorf("reload nginx: %w", err)
	}
	return nil
}

var (
	_ aegir.HTTPService = (*Nginx)(nil)
	_ aegir.PHPPools    = (*Nginx)(nil)
)
