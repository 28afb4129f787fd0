package contextfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aegir-hosting/aegir"
	"go.yaml.in/yaml/v3"
)

// Store keeps contexts in Dir as <name>.yml.
type Store struct {
	Dir string
}

// New returns a store of the contexts under paths.
func New(paths aegir.Paths) *Store {
	return &Store{Dir: paths.Contexts()}
}

type header struct {
	Type aegir.ContextType `yaml:"context_type"`
}

func (s *Store) path(name string) (string, error) {
	if err := aegir.ValidateName("name", name); err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, name+".yml"), nil
}

// Get reads the context called name.
func (s *Store) Get(_ context.Context, name string) (*aegir.Context, error) {
	name = aegir.ContextName(name)
	path, err := s.path(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "context @%s does not exist", name)
	} else if err != nil {
		return nil, fmt.Errorf("read context @%s: %w", name, err)
	}
	return decode(name, data)
}

func decode(name string, data []byte) (*aegir.Context, error) {
	var h header
	if err := yaml.Unmarshal(data, &h); err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "context @%s: %v", name, err)
	}
	c, err := aegir.NewContext(name, h.Type)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "context @%s: %v", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(false)
	if err := dec.Decode(c.Props()); err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "context @%s: %v", name, err)
	}
	return c, nil
}

// Put writes c atomically: a reader never sees half a file.
func (s *Store) Put(_ context.Context, c *aegir.Context) error {
	path, err := s.path(c.Name)
	if err != nil {
		return err
	}
	body, err := yaml.Marshal(c.Props())
	if err != nil {
		return fmt.Errorf("encode context @%s: %w", c.Name, err)
	}
	if strings.TrimSpace(string(body)) == "{}" {
		body = nil
	}
	data := append([]byte(fmt.Sprintf("# aegir context @%s\ncontext_type: %s\n", c.Name, c.Type)), body...)
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.Dir, err)
	}
	tmp, err := os.CreateTemp(s.Dir, "."+c.Name+".*.tmp")
	if err != nil {
		return fmt.Errorf("write context @%s: %w", c.Name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write context @%s: %w", c.Name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write context @%s: %w", c.Name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write context @%s: %w", c.Name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write context @%s: %w", c.Name, err)
	}
	return nil
}

// Delete removes the context called name.
func (s *Store) Delete(_ context.Context, name string) error {
	name = aegir.ContextName(name)
	path, err := s.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		return aegir.Errorf(aegir.ENOTFOUND, "context @%s does not exist", name)
	} else if err != nil {
		return fmt.Errorf("delete context @%s: %w", name, err)
	}
	return nil
}

// List returns the contexts of type typ (all when empty), sorted by name.
func (s *Store) List(ctx context.Context, typ aegir.ContextType) ([]*aegir.Context, error) {
	paths, err := filepath.Glob(filepath.Join(s.Dir, "*.yml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*aegir.Context
	for _, p := range paths {
		c, err := s.Get(ctx, strings.TrimSuffix(filepath.Base(p), ".yml"))
		if err != nil {
			return nil, err
		}
		if typ == "" || c.Type == typ {
			out = append(out, c)
		}
	}
	return out, nil
}

var _ aegir.ContextStore = (*Store)(nil)
