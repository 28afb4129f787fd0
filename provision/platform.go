package provision

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/aegir-hosting/aegir"
)

// platformInfo is what verify learns of a platform's codebase.
type platformInfo struct {
	name    string
	root    string
	appName string
	app     aegir.App
	version string
}

func (t *run) detect(c *aegir.Context) (*platformInfo, error) {
	root := c.Platform.Root
	st, err := os.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, aegir.FieldErrorf("root", "%s does not exist: put a codebase there, or give the platform a source (makefile, git_url, composer) to build it from", root)
	} else if err != nil {
		return nil, aegir.FieldErrorf("root", "%v", err)
	} else if !st.IsDir() {
		return nil, aegir.FieldErrorf("root", "%s is not a directory", root)
	}
	name, app, version, err := aegir.DetectApp(root, t.env())
	if err != nil {
		return nil, err
	}
	return &platformInfo{name: c.Name, root: root, appName: name, app: app, version: version}, nil
}

// requireWritable proves dir is writable by creating and removing a file.
func requireWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".aegir-write-test-*")
	if err != nil {
		return aegir.FieldErrorf("root", "%s is not writable: %v", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// sitesOnDisk lists the site directories of a platform, as Aegir does: not
// default, not all, not links, and holding the app's settings file.
func sitesOnDisk(p *platformInfo) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(p.root, "sites"))
	if err != nil {
		return nil, fmt.Errorf("read sites: %w", err)
	}
	sites := []string{}
	settings := p.app.SettingsFile()
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == "default" || name == "all" || aegir.ValidateURI("uri", name) != nil {
			continue
		}
		if settings != "" {
			if _, err := os.Stat(filepath.Join(p.root, "sites", name, settings)); err != nil {
				continue
			}
		}
		sites = append(sites, name)
	}
	sort.Strings(sites)
	return sites, nil
}
