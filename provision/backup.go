package provision

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

func (t *run) backup(ctx context.Context, c *aegir.Context) error {
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return err
	}
	file := t.opts.Args["file"]
	if file != "" {
		if !filepath.IsAbs(file) {
			return aegir.FieldErrorf("file", "%q must be an absolute path", file)
		}
		if !strings.HasSuffix(file, ".tar.gz") && !strings.HasSuffix(file, ".tar.zst") {
			return aegir.FieldErrorf("file", "%q must end in .tar.gz or .tar.zst", file)
		}
	}
	return t.steps.Run(ctx, t.backupSteps(s, &file))
}
