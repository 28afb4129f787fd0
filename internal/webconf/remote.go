package webconf

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// Syncer is a Server whose configuration is rendered here and served
// elsewhere (a remote web server). Its Test copies the configuration there
// first; Sync copies it again after a change failed (Submit), so what was
// put back here is put back there too.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Push copies a server's configuration directory and the shared include
// snippets to the same paths on the remote server of env; it does nothing
// when the server is local.
func Push(ctx context.Context, env aegir.Env, serverDir string) error {
	if !env.Remote() {
		return nil
	}
	for _, dir := range []string{serverDir, env.Paths.Includes()} {
		if err := env.Push(ctx, dir); err != nil {
			return err
		}
	}
	return nil
}
