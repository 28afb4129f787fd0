package apache

// This file is Apache's side of making the changes of WriteSite,
// WritePlatform, DeleteSite and their undos live. The engine is
// internal/webconf, whose package documentation explains the design:
// changes made at the same time are coalesced behind one configuration
// test and one graceful restart, each caller is told its own result, and
// a broken file never reaches the running Apache. When the test of a
// batch fails, its changes are applied one by one, in the order they came
// (a platform file before the vhosts that need it).
//
// Unlike the nginx driver, a new vhost is not first tested on its own (the
// service is no webconf.Pretester): Apache cannot test a configuration
// without the system's modules and settings, which only the configured
// test command knows about.

import (
	"context"
	"fmt"
	"strings"

	"github.com/aegir-hosting/aegir/internal/webconf"
)

// target is what the engine needs to make this server's changes live,
// together with whatever changes of the same server other callers submit
// meanwhile (see webconf.Submit).
func (a *Apache) target() webconf.Target {
	cmd := func(args []string) string { return strings.Join(args, " ") }
	return webconf.Target{
		Dir: a.confDir(),
		Key: a.applyKey(),
		Words: webconf.Words{
			Server:      "apache",
			Test:        cmd(a.server.HTTPTestCmd),
			Reloaded:    fmt.Sprintf("restarted apache gracefully (%s)", cmd(a.server.HTTPRestartCmd)),
			Unconfirmed: fmt.Sprintf("apache did not confirm the graceful restart within %s", liveTimeout),
		},
		Server: applier{a},
		Log:    a.env.Log,
		Wait:   a.env.Wait,
	}
}

// applyKey names what a batch shares: the configuration directory and how
// Apache is tested, restarted and asked.
func (a *Apache) applyKey() string { return webconf.Key(a.confDir(), a.server) }

// applier is how the engine tests and restarts Apache.
type applier struct{ *Apache }

// Generation writes a new generation token (writeGeneration).
func (a applier) Generation() (string, error) { return a.writeGeneration() }

// Test runs the test command.
func (a applier) Test(ctx context.Context) error { return a.test(ctx) }

// Reload restarts Apache gracefully and waits until the new configuration
// answers; a timeout is not an error (waitLive).
func (a applier) Reload(ctx context.Context, generation string) (bool, error) {
	if err := a.reload(ctx); err != nil {
		return false, err
	}
	return a.waitLive(ctx, generation), nil
}

// Sync copies the configuration to a remote server again after a batch,
// so what the batch put back here is put back there.
func (a applier) Sync(ctx context.Context) error { return webconf.Push(ctx, a.env, a.serverDir()) }

var _ webconf.Syncer = applier{}
