package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// strayPrefix starts the name a stray copy of a site's directory is set
// aside under: a dot name, which the web servers refuse to serve and no
// platform verify takes for a site.
const strayPrefix = ".aegir-stray-"

// restoreSuffix names the staging directory a deploy unpacks a site into,
// beside the site's directory, before it swaps it in.
const restoreSuffix = ".restore"

// setAsideStrays is verify's clean-up after a migrate that died: the site's
// context names its platform, and a directory of the site on any other
// platform of the same web server (a copy the migrate made, or the one it
// had not yet removed) is a leftover. It is set aside, renamed
// sites/.aegir-stray-<uri>-<unix time>, not deleted (someone may have put a
// site of that name there by hand), and the log says where.
func (t *run) setAsideStrays(ctx context.Context, s *siteEnv) error {
	platforms, err := t.b.Contexts.List(ctx, aegir.PlatformContext)
	if err != nil {
		return err
	}
	for _, p := range platforms {
		p.Platform.Defaults()
		if aegir.ContextName(p.Platform.WebServer) != s.webName {
			continue
		}
		// On the site's own platform only the staging directory of a
		// restore or deploy is a leftover.
		dirs := []string{filepath.Join(p.Platform.Root, "sites", s.site.URI) + restoreSuffix}
		if p.Name != s.platform.name && p.Platform.Root != s.platform.root {
			dirs = append(dirs, filepath.Join(p.Platform.Root, "sites", s.site.URI))
		}
		for _, dir := range dirs {
			st, err := os.Lstat(dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			} else if err != nil {
				return err
			}
			if !st.IsDir() {
				continue
			}
			aside := strayName(filepath.Join(p.Platform.Root, "sites"), s.site.URI)
			if err := os.Rename(dir, aside); err != nil {
				return fmt.Errorf("set aside %s: %w", dir, err)
			}
			t.log.Warnf("set aside %s, a copy of @%s on @%s left by a task that stopped (the site is on @%s): %s; remove it once you need nothing from it",
				dir, s.site.URI, p.Name, s.platform.name, aside)
		}
	}
	return nil
}
