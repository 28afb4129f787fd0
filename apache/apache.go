package apache

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
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/phpfpm"
	"github.com/aegir-hosting/aegir/internal/webconf"
)

func init() {
	aegir.RegisterHTTP(aegir.ServiceApache, New)
}

// File modes of what the driver writes. Vhosts hold database passwords, so
// only their owner reads them: the Apache parent process reads its
// configuration as root, and its children never read it. Children do read
// the generation and challenge files they serve.
const (
	configDirMode  = 0o711 // $AEGIR_HOME/config: traversable, not listable
	serverDirMode  = 0o711
	servedDirMode  = 0o755
	serverFileMode = 0o644
	platformMode   = 0o644
	servedFileMode = 0o644
	vhostMode      = 0o600
)

// The defaults of a server's properties for Apache on Debian, used in
// place of the nginx ones that aegir.Server.Defaults fills in.
var (
	nginxTestCmd      = []string{"nginx", "-t"}
	nginxRestartCmd   = []string{"nginx", "-s", "reload"} // the default before aegir.NginxRestartCmd
	nginxConfLink     = "/etc/nginx/conf.d/aegir.conf"
	defaultTestCmd    = []string{"apache2ctl", "configtest"}
	defaultRestartCmd = []string{"apache2ctl", "graceful"}
	defaultConfLink   = "/etc/apache2/conf-enabled/aegir.conf"
)

// includedDirs are the directories the server file includes, in order.
var includedDirs = []string{"pre.d", "platform.d", "vhost.d", "post.d"}

// liveTimeout bounds the wait for a graceful restart to go live.
const liveTimeout = 5 * time.Second

// generationLiveFile is the file, in the generation directory, that
// /.aegir/generation/<token> is an alias of.
const generationLiveFile = "live.txt"

// errRejected marks a configuration that failed Apache's test.
var errRejected = errors.New("apache rejected the configuration, nothing was reloaded")

// Apache is the Apache http service of one server. Its files live under
// config/<server>/ of $AEGIR_HOME; they are written on this machine, and
// commands run through the Runner of the environment.
type Apache struct {
	server *aegir.Server // a copy, with the Apache defaults applied
	name   string
	env    aegir.Env
}

// New returns the Apache service of the server named serverName. The
// server must have its defaults applied (port, test and restart commands,
// conf link, PHP-FPM socket). Where those are still nginx's defaults
// (nginx -t, nginx -s reload, /etc/nginx/conf.d/aegir.conf), the service
// uses Apache's instead: apache2ctl configtest, apache2ctl graceful and
// /etc/apache2/conf-enabled/aegir.conf. The server itself is not changed.
func New(server *aegir.Server, serverName string, env aegir.Env) (aegir.HTTPService, error) {
	s := *server
	if slices.Equal(s.HTTPTestCmd, nginxTestCmd) {
		s.HTTPTestCmd = slices.Clone(defaultTestCmd)
	}
	if slices.Equal(s.HTTPRestartCmd, nginxRestartCmd) || slices.Equal(s.HTTPRestartCmd, aegir.NginxRestartCmd()) {
		s.HTTPRestartCmd = slices.Clone(defaultRestartCmd)
	}
	if s.HTTPConfLink == nginxConfLink {
		s.HTTPConfLink = defaultConfLink
	}
	if err := webconf.CheckServer(&s, serverName, env.Paths, "Apache"); err != nil {
		return nil, err
	}
	if env.Runner == nil || env.Log == nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "apache: environment without runner or log")
	}
	return &Apache{server: &s, name: serverName, env: env}, nil
}

// serverDir is config/<server>.
func (a *Apache) serverDir() string { return a.env.Paths.ServerConfig(a.name) }

// ServerFile returns the path of the server file, the one file the system
// Apache includes (through the conf link) at server level.
func (a *Apache) ServerFile() string { return filepath.Join(a.serverDir(), "apache.conf") }

// confDir is config/<server>/apache, which holds the included directories.
func (a *Apache) confDir() string { return filepath.Join(a.serverDir(), "apache") }

// ChallengeDir returns the directory the default virtual host serves
// /.well-known/acme-challenge/ from, for http-01 certificate challenges.
func (a *Apache) ChallengeDir() string { return filepath.Join(a.serverDir(), "acme-challenge") }

// VhostFile returns the path of the vhost of the site uri.
func (a *Apache) VhostFile(uri string) string {
	return filepath.Join(a.confDir(), "vhost.d", uri+".conf")
}

// PlatformFile returns the path of the file of the platform name.
func (a *Apache) PlatformFile(name string) string {
	return filepath.Join(a.confDir(), "platform.d", name+".conf")
}

// listens reports whether the server file must listen on the port itself:
// the system Apache already listens on 80 and 443 (Debian's ports.conf),
// and a second Listen of a port is an error.
func (a *Apache) listens() bool { return a.server.HTTPPort != 80 && a.server.HTTPPort != 443 }

// renderServer returns the content of the server file.
func (a *Apache) renderServer() ([]byte, error) {
	return render(serverTemplate, serverData{
		Server: a.name, Dir: a.confDir(), ChallengeDir: a.ChallengeDir(),
		Port: a.server.HTTPPort, Listen: a.listens(), HTTPSPort: a.server.HTTPSPort,
	})
}

// renderPlatform validates a platform and returns the content of its file.
func (a *Apache) renderPlatform(name, root, app string) ([]byte, error) {
	d, err := a.platformData(name, root, app)
	if err != nil {
		return nil, err
	}
	return render(platformTemplate(app), d)
}

// renderVhost validates v and returns the content of its vhost.
func (a *Apache) renderVhost(v *aegir.Vhost) ([]byte, error) {
	d, err := a.vhostData(v)
	if err != nil {
		return nil, err
	}
	return render(vhostTemplate, d)
}

// VerifyServer creates the configuration tree, writes the server file,
// links it at http_conf_link, tests the whole Apache configuration and
// restarts Apache gracefully. When the test fails, the previous file and
// link are put back and the error carries Apache's message.
func (a *Apache) VerifyServer(ctx context.Context) error {
	if err := a.makeDirs(); err != nil {
		return err
	}
	unlock, err := webconf.Lock(a.confDir())
	if err != nil {
		return err
	}
	defer unlock()
	// A remote server's include link is its own, made by bootstrap (or
	// by hand) as root there.
	remote := a.env.Remote()
	if err := webconf.CheckLinkPlace(a.server.HTTPConfLink, "apache"); err != nil && !remote {
		return err
	}
	live := filepath.Join(a.confDir(), "generation", generationLiveFile)
	if err := webconf.WriteFile(live, []byte("live\n"), servedFileMode); err != nil {
		return err
	}
	data, err := a.renderServer()
	if err != nil {
		return err
	}
	before, err := webconf.TakeSnapshot(a.ServerFile())
	if err != nil {
		return err
	}
	link, err := webconf.TakeLinkSnapshot(a.server.HTTPConfLink)
	if err != nil {
		return err
	}
	putBack := func() error {
		// The link first, so Apache never includes a server file that is gone.
		// And there: what a remote server was sent goes back too.
		if err := errors.Join(link.Restore(), before.Restore(), webconf.Push(ctx, a.env, a.serverDir())); err != nil {
			return fmt.Errorf("put back the previous apache configuration: %w", err)
		}
		a.env.Log.Infof("put back the previous apache configuration of server %s", a.name)
		return nil
	}
	if err := webconf.WriteFile(a.ServerFile(), data, serverFileMode); err != nil {
		return errors.Join(err, putBack())
	}
	a.env.Log.Infof("wrote %s", a.ServerFile())
	if !remote {
		if err := webconf.Symlink(a.ServerFile(), a.server.HTTPConfLink); err != nil {
			return errors.Join(aegir.FieldErrorf("http_conf_link", "link %s to %s: %v", a.server.HTTPConfLink, a.ServerFile(), err), putBack())
		}
		a.env.Log.Infof("linked %s to %s", a.server.HTTPConfLink, a.ServerFile())
	}
	// The configuration is valid once tested: a failed restart leaves it in
	// place for the next start of Apache.
	if err := a.testAndReload(ctx); err != nil && errors.Is(err, errRejected) {
		return errors.Join(err, putBack())
	} else if err != nil {
		return err
	}
	return nil
}

// makeDirs creates the configuration tree and sets its modes.
func (a *Apache) makeDirs() error {
	type dir struct {
		path string
		mode fs.FileMode
	}
	dirs := []dir{
		{a.env.Paths.Config(), configDirMode},
		{a.serverDir(), serverDirMode},
		{a.confDir(), serverDirMode},
		{filepath.Join(a.confDir(), "generation"), servedDirMode},
		{a.ChallengeDir(), servedDirMode},
	}
	// The snippets directory is the user's: created here, never written.
	for _, d := range append(slices.Clone(includedDirs), webconf.SnippetsDir) {
		dirs = append(dirs, dir{filepath.Join(a.confDir(), d), serverDirMode})
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

// WritePlatform writes the platform file of the codebase at root: a
// <Directory> block that grants access to it and holds the app's rules
// (front controller, PHP through php-fpm, denied paths), since Apache
// reads no .htaccess there. It then tests and restarts like WriteSite. The
// vhost of a site refuses to load without its platform's file, so a
// platform is written before its sites. The returned Undo puts back the
// previous file, or removes it, then tests and restarts.
func (a *Apache) WritePlatform(ctx context.Context, name, root, app string) (aegir.Undo, error) {
	data, err := a.renderPlatform(name, root, app)
	if err != nil {
		return nil, err
	}
	return a.replace(ctx, a.PlatformFile(name), data, platformMode)
}

// WriteSite writes the vhost of v, tests the whole configuration and
// restarts Apache gracefully. When the test or the restart fails, the
// previous vhost is put back (or the new one removed), nothing is
// restarted, and the error carries Apache's message. The returned Undo
// puts back the previous vhost, or removes the vhost when there was none,
// then tests and restarts.
func (a *Apache) WriteSite(ctx context.Context, v *aegir.Vhost) (aegir.Undo, error) {
	data, err := a.renderVhost(v)
	if err != nil {
		return nil, err
	}
	return a.replace(ctx, a.VhostFile(v.URI), data, vhostMode)
}

// replace writes data to path and makes it live; see WriteSite. Calls
// made at the same time (by the tasks of one process) share one test and
// one graceful restart; see apply.go.
func (a *Apache) replace(ctx context.Context, path string, data []byte, mode fs.FileMode) (aegir.Undo, error) {
	return webconf.Write(ctx, a.target(), path, data, mode)
}

// DeleteSite removes the vhost of the site uri, tests and restarts; a
// missing vhost is not an error. When the test or the restart fails, the
// vhost is put back. The returned Undo writes the vhost back, tests and
// restarts. Like WriteSite, calls made at the same time share a restart.
func (a *Apache) DeleteSite(ctx context.Context, uri string) (aegir.Undo, error) {
	if err := aegir.ValidateURI("uri", uri); err != nil {
		return nil, err
	}
	return webconf.Remove(ctx, a.target(), a.VhostFile(uri))
}

// writeGeneration writes a new token into the file the default virtual
// host includes, so that /.aegir/generation/<token> answers once the
// configuration that holds it is live, and returns the token.
func (a *Apache) writeGeneration() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	data, err := render(generationTemplate, generationData{Dir: a.confDir(), Token: token})
	if err != nil {
		return "", err
	}
	return token, webconf.WriteFile(a.generationFile(), data, servedFileMode)
}

func (a *Apache) generationFile() string { return filepath.Join(a.confDir(), "generation.conf") }

// local reports whether Apache runs on this machine, where it can be asked.
func (a *Apache) local() bool {
	return a.server.IsLocal()
}

// answers reports whether the default virtual host answers the generation
// token: only a child started with the configuration that holds the token
// does.
func (a *Apache) answers(ctx context.Context, token string) bool {
	url := fmt.Sprintf("http://127.0.0.1:%d/.aegir/generation/%s", a.server.HTTPPort, token)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 100))
	return resp.StatusCode == http.StatusOK
}

// waitLive waits, for a few seconds at most, until Apache answers the
// generation just written: a graceful restart is applied asynchronously,
// and until the new children run, the previous configuration answers
// (say, with a database the task is about to drop). Children of the
// previous generation stop accepting connections when told to go, so the
// token alone tells. A timeout is not an error, since the restart was
// accepted: waitLive reports false, and the caller warns.
func (a *Apache) waitLive(ctx context.Context, token string) bool {
	if !a.local() {
		return true
	}
	deadline := time.Now().Add(liveTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if a.answers(ctx, token) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// testAndReload tests the whole Apache configuration and, only when it
// passes, restarts Apache gracefully and waits until the new configuration
// answers. VerifyServer goes live through it; site and platform changes
// go through the batches of apply.go, which do the same for many changes
// at once.
func (a *Apache) testAndReload(ctx context.Context) error {
	token, err := a.writeGeneration()
	if err != nil {
		return err
	}
	if err := a.test(ctx); err != nil {
		return err
	}
	a.env.Log.Infof("apache configuration test passed (%s)", strings.Join(a.server.HTTPTestCmd, " "))
	if err := a.reload(ctx); err != nil {
		return err
	}
	a.env.Log.Infof("restarted apache gracefully (%s)", strings.Join(a.server.HTTPRestartCmd, " "))
	if !a.waitLive(ctx, token) {
		a.env.Log.Warnf("apache did not confirm the graceful restart within %s", liveTimeout)
	}
	return nil
}

// test runs the test command; its error carries Apache's message.
func (a *Apache) test(ctx context.Context) error {
	if err := webconf.Push(ctx, a.env, a.serverDir()); err != nil {
		return err
	}
	if _, err := a.env.Runner.Run(ctx, aegir.Command{Args: a.server.HTTPTestCmd}); err != nil {
		return &aegir.Error{Code: aegir.EINVALID, Message: fmt.Errorf("%w: %v", errRejected, err).Error(), Cause: errRejected}
	}
	return nil
}

// reload runs the restart command.
func (a *Apache) reload(ctx context.Context) error {
	if _, err := a.env.Runner.Run(ctx, aegir.Command{Args: a.server.HTTPRestartCmd}); err != nil {
		return fmt.Errorf("restart apache: %w", err)
	}
	return nil
}

// WritePool writes the php-fpm pool of a site of this server into
// config/<server>/php-fpm, tests php-fpm's configuration and reloads it,
// as WriteSite does a vhost (internal/phpfpm). The Undo puts back the
// previous pool, or removes it.
func (a *Apache) WritePool(ctx context.Context, p *aegir.PHPPool) (aegir.Undo, error) {
	return phpfpm.New(a.server, a.name, a.env).Write(ctx, p)
}

// DeletePool removes the pool of user, tests and reloads php-fpm; a
// missing pool is not an error. The Undo writes it back.
func (a *Apache) DeletePool(ctx context.Context, user string) (aegir.Undo, error) {
	return phpfpm.New(a.server, a.name, a.env).Delete(ctx, user)
}

var (
	_ aegir.HTTPService = (*Apache)(nil)
	_ aegir.PHPPools    = (*Apache)(nil)
)
