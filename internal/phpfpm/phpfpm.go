package phpfpm

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/webconf"
)

//go:embed templates/pool.conf.tmpl
var templateFS embed.FS

var poolTemplate = template.Must(template.ParseFS(templateFS, "templates/pool.conf.tmpl"))

// poolMode is the mode of a pool file: php-fpm's master reads it as root.
const poolMode = 0o600

// MaxChildren bounds the PHP processes of one site's pool at once.
const MaxChildren = 5

// socketTimeout bounds the wait for a new pool's socket after a reload.
const socketTimeout = 10 * time.Second

// Pools are the php-fpm pools of one server's sites.
type Pools struct {
	// Dir is the pool directory, config/<server>/php-fpm.
	Dir string
	// Server holds the test and reload commands, the web group, and
	// whether the server is local (its sockets can be watched).
	Server *aegir.Server
	Env    aegir.Env
}

// New returns the pools of the server named name.
func New(server *aegir.Server, name string, env aegir.Env) *Pools {
	return &Pools{Dir: env.Paths.PHPPoolDir(name), Server: server, Env: env}
}

// File returns the pool file of user.
func (p *Pools) File(user string) string { return filepath.Join(p.Dir, user+".conf") }

// poolData is what the pool template is given.
type poolData struct {
	*aegir.PHPPool
	WebUser     string
	WebGroup    string
	MaxChildren int
}

// Render validates pool and returns its file's content. Every string that
// reaches the file is checked, so none can add a directive.
func (p *Pools) Render(pool *aegir.PHPPool) ([]byte, error) {
	if err := aegir.ValidateSiteUser("php_user", pool.User); err != nil {
		return nil, err
	}
	for field, path := range map[string]string{"root": pool.Root, "site_dir": pool.SiteDir, "temp_dir": pool.TempDir, "private_dir": pool.PrivateDir, "socket": pool.Socket} {
		if field == "private_dir" && path == "" {
			continue // the site keeps no private directory outside its own
		}
		if !webconf.IsPath(path) || strings.Contains(path, "..") || strings.ContainsAny(path, ":;=\"") {
			return nil, aegir.FieldErrorf(field, "%q must be an absolute path of letters, digits and ._/@+,~- only", path)
		}
	}
	if err := aegir.ValidateName("web_group", p.Server.WebGroup); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	// The web server's user and group share a name (www-data).
	d := poolData{PHPPool: pool, WebUser: p.Server.WebGroup, WebGroup: p.Server.WebGroup, MaxChildren: MaxChildren}
	if err := poolTemplate.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render pool %s: %w", pool.User, err)
	}
	return b.Bytes(), nil
}

// Write writes the pool, tests php-fpm's configuration and reloads it
// (with the other pools written meanwhile), then waits for the pool's
// socket when php-fpm runs here. The Undo puts back the previous pool,
// or removes it.
func (p *Pools) Write(ctx context.Context, pool *aegir.PHPPool) (aegir.Undo, error) {
	data, err := p.Render(pool)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.Dir, 0o711); err != nil {
		return nil, err
	}
	undo, err := webconf.Write(ctx, p.target(), p.File(pool.User), data, poolMode)
	if err != nil {
		return nil, err
	}
	if p.local() {
		if !waitFor(ctx, pool.Socket, socketTimeout) {
			p.Env.Log.Warnf("php-fpm did not open %s within %s", pool.Socket, socketTimeout)
		}
	}
	return undo, nil
}

// Delete removes the pool of user, tests and reloads; a missing pool is
// not an error. The Undo writes it back.
func (p *Pools) Delete(ctx context.Context, user string) (aegir.Undo, error) {
	if err := aegir.ValidateSiteUser("php_user", user); err != nil {
		return nil, err
	}
	return webconf.Remove(ctx, p.target(), p.File(user))
}

func (p *Pools) local() bool {
	return p.Server.IsLocal()
}

// waitFor waits until path exists.
func waitFor(ctx context.Context, path string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// target is what the engine needs to make this server's pool changes
// live, with those other callers submit meanwhile.
func (p *Pools) target() webconf.Target {
	cmd := func(args []string) string { return strings.Join(args, " ") }
	return webconf.Target{
		Dir: p.Dir,
		Key: strings.Join([]string{p.Dir, cmd(p.Server.PHPFPMTestCmd), cmd(p.Server.PHPFPMReloadCmd), p.Server.RemoteHost}, "\x00"),
		Words: webconf.Words{
			Server:      "php-fpm",
			Test:        cmd(p.Server.PHPFPMTestCmd),
			Reloaded:    fmt.Sprintf("reloaded php-fpm (%s)", cmd(p.Server.PHPFPMReloadCmd)),
			Unconfirmed: "php-fpm did not confirm the reload",
			Pretest:     "php-fpm -t",
		},
		Server: applier{p},
		Log:    p.Env.Log,
		Wait:   p.Env.Wait,
	}
}

// errRejected marks a configuration that failed php-fpm's test.
var errRejected = errors.New("php-fpm rejected the configuration, nothing was reloaded")

// applier is how the engine tests and reloads php-fpm.
type applier struct{ *Pools }

// Generation returns no token: php-fpm has no page to ask, and a reload
// is seen live by the pools' sockets (Write).
func (a applier) Generation() (string, error) { return "", nil }

// Test runs the test command; its error carries php-fpm's message.
func (a applier) Test(ctx context.Context) error {
	if _, err := a.Env.Runner.Run(ctx, aegir.Command{Args: a.Server.PHPFPMTestCmd}); err != nil {
		return &aegir.Error{Code: aegir.EINVALID, Message: fmt.Errorf("%w: %v", errRejected, err).Error(), Cause: errRejected}
	}
	return nil
}

// Reload runs the reload command. php-fpm reloads in place once
// signalled; the tested configuration loads.
func (a applier) Reload(ctx context.Context, _ string) (bool, error) {
	if _, err := a.Env.Runner.Run(ctx, aegir.Command{Args: a.Server.PHPFPMReloadCmd}); err != nil {
		return false, fmt.Errorf("reload php-fpm: %w", err)
	}
	return true, nil
}
