package contextfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/aegir-hosting/aegir"
)

// Projects reads and writes projects' files, $AEGIR_HOME/projects/<name>.yml,
// private to the aegir user (they hold the webhook secret).
type Projects struct{ Dir string }

// NewProjects returns the projects of the home paths.
func NewProjects(paths aegir.Paths) *Projects { return &Projects{Dir: paths.Projects()} }

func (s *Projects) path(name string) (string, error) {
	if err := aegir.ValidateProjectName("project", name); err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, name+".yml"), nil
}

// Get returns the named project, or ENOTFOUND.
func (s *Projects) Get(name string) (*aegir.Project, error) {
	path, err := s.path(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no project %s", name)
	} else if err != nil {
		return nil, err
	}
	var p aegir.Project
	if err := yaml.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("read project %s: %w", name, err)
	}
	if p.Name != name {
		return nil, aegir.Errorf(aegir.EINTERNAL, "the file of project %s names %q", name, p.Name)
	}
	return &p, nil
}

// Put validates p and writes it atomically.
func (s *Projects) Put(p *aegir.Project) error {
	if err := p.Validate(); err != nil {
		return err
	}
	path, err := s.path(p.Name)
	if err != nil {
		return err
	}
	data, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, "."+p.Name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write project %s: %w", p.Name, err)
	}
	return nil
}

// List returns the projects' names, sorted.
func (s *Projects) List() ([]string, error) {
	es, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range es {
		if name, ok := strings.CutSuffix(e.Name(), ".yml"); ok && !strings.HasPrefix(name, ".") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}
