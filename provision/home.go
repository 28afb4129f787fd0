package provision

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/aegir-hosting/aegir"
)

// homeDirs are the $AEGIR_HOME directories and their modes, as Aegir sets
// them: config is traversable but not listable, backups private.
var homeDirs = []struct {
	path func(aegir.Paths) string
	mode fs.FileMode
}{
	{func(p aegir.Paths) string { return p.Home }, 0o755},
	{aegir.Paths.Contexts, 0o700},
	{aegir.Paths.Config, 0o711},
	{aegir.Paths.Includes, 0o755},
	{aegir.Paths.Backups, 0o700},
	{aegir.Paths.Platforms, 0o755},
	{aegir.Paths.Clients, 0o711},
	{aegir.Paths.Private, 0o711},
}

// MakeHome creates the $AEGIR_HOME tree with its modes; it is idempotent.
func MakeHome(paths aegir.Paths) error {
	for _, d := range homeDirs {
		dir := d.path(paths)
		if err := os.MkdirAll(dir, d.mode); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		if err := os.Chmod(dir, d.mode); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	return nil
}
