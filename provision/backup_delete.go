package provision

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// backupDelete removes backups of the site, which must be its own files in
// the backups directory.
func (t *run) backupDelete(ctx context.Context, c *aegir.Context) error {
	files := strings.Fields(t.opts.Args["files"])
	if len(files) == 0 {
		return aegir.FieldErrorf("files", "name at least one backup file")
	}
	var steps []aegir.Step
	for _, f := range files {
		path := f
		if !filepath.IsAbs(path) {
			path = filepath.Join(t.b.Paths.Backups(), path)
		}
		if filepath.Dir(path) != t.b.Paths.Backups() || !strings.HasPrefix(filepath.Base(path), c.Name+"-") {
			return aegir.FieldErrorf("files", "%s is not a backup of %s in %s", f, c.Name, t.b.Paths.Backups())
		}
		if _, err := os.Stat(path); err != nil {
			return aegir.FieldErrorf("files", "%s: %v", f, err)
		}
		steps = append(steps, aegir.Step{Name: "delete " + filepath.Base(path), Do: func(context.Context) (aegir.Undo, error) {
			t.log.Infof("deleted backup %s", path)
			return nil, t.b.Archiver.Delete(path)
		}})
	}
	t.data["deleted"] = files
	return t.steps.Run(ctx, steps)
}
