package contextfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/aegir-hosting/aegir"
	"go.yaml.in/yaml/v3"
)

// Store keeps contexts in Dir as <name>.yml.
//
// It remembers the last content it read or wrote of each file with the
// context decoded from it: a context whose file still holds those bytes
// is not decoded again (a task reads its site, platform and server
// contexts several times, and decoding YAML costs far more than reading
// a small file), and one that Put finds unchanged is not encoded either.
// What is compared is the content itself, so a file another process
// rewrote is always read afresh.
type Store struct {
	Dir string

	mu     sync.Mutex
	parsed map[string]parsedFile
	// types knows the type of each context file as it was when last
	// decoded, so that listing the contexts of one type (verify lists the
	// platforms) does not decode every site's file: a file whose size,
	// time and inode are those seen is of the type then read.
	types map[string]fileType
}

// fileType is the type of a context file, and the file it was read from.
type fileType struct {
	fi  os.FileInfo
	typ aegir.ContextType
}

// knownType returns the type of name's file when fi is the file it was
// last decoded from.
func (s *Store) knownType(name string, fi os.FileInfo) (aegir.ContextType, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ft, ok := s.types[name]
	if !ok || !os.SameFile(ft.fi, fi) || ft.fi.Size() != fi.Size() || !ft.fi.ModTime().Equal(fi.ModTime()) {
		return "", false
	}
	return ft.typ, true
}

func (s *Store) noteType(name string, fi os.FileInfo, typ aegir.ContextType) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.types == nil {
		s.types = map[string]fileType{}
	}
	s.types[name] = fileType{fi: fi, typ: typ}
}

// maxParsed bounds the contexts a Store remembers, so that its memory does
// not grow with the number of sites: the server and platform contexts,
// which every task reads, are among the few hundred read last.
const maxParsed = 512

// parsedFile is a context file's content and the context decoded from it.
type parsedFile struct {
	data []byte
	ctx  *aegir.Context
}

// remembered returns a copy of the context decoded from data when name's
// file was last seen holding data.
func (s *Store) remembered(name string, data []byte) *aegir.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.parsed[name]; ok && bytes.Equal(p.data, data) {
		return p.ctx.Clone()
	}
	return nil
}

// remember records that name's file holds data, decoded as c (a copy is
// kept), or forgets it when c is nil.
func (s *Store) remember(name string, data []byte, c *aegir.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == nil {
		delete(s.parsed, name)
		return
	}
	if s.parsed == nil {
		s.parsed = map[string]parsedFile{}
	}
	if _, ok := s.parsed[name]; !ok && len(s.parsed) >= maxParsed {
		// Forget one at random (a map's order is): a server or platform
		// forgotten is read again by its next task.
		for other := range s.parsed {
			delete(s.parsed, other)
			break
		}
	}
	s.parsed[name] = parsedFile{data: data, ctx: c.Clone()}
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
	if c := s.remembered(name, data); c != nil {
		return c, nil
	}
	c, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	s.remember(name, data, c)
	return c, nil
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

// Put writes c atomically: a reader never sees half a file. A context
// file that already holds the same content is left alone: a task writes
// the platform and server contexts it needs, mostly unchanged, and a new
// file, an fsync and a rename cost far more than reading it.
func (s *Store) Put(_ context.Context, c *aegir.Context) error {
	path, err := s.path(c.Name)
	if err != nil {
		return err
	}
	// A private file that already holds this context is left alone: known
	// from the context remembered for its content (nothing to encode), or
	// from the same bytes.
	cur, err := os.ReadFile(path)
	kept := err == nil && private(path)
	if kept {
		if old := s.remembered(c.Name, cur); old != nil && reflect.DeepEqual(old, c) {
			return nil
		}
	}
	body, err := yaml.Marshal(c.Props())
	if err != nil {
		return fmt.Errorf("encode context @%s: %w", c.Name, err)
	}
	if strings.TrimSpace(string(body)) == "{}" {
		body = nil
	}
	data := append([]byte(fmt.Sprintf("# aegir context @%s\ncontext_type: %s\n", c.Name, c.Type)), body...)
	if kept && bytes.Equal(cur, data) {
		s.remember(c.Name, data, c)
		return nil
	}
	s.remember(c.Name, nil, nil)
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
	s.remember(c.Name, data, c)
	return nil
}

// private says whether the file at path is a regular file only its owner
// may read, as Put writes them (they may hold database credentials).
func private(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm() == 0o600
}

// Delete removes the context called name.
func (s *Store) Delete(_ context.Context, name string) error {
	name = aegir.ContextName(name)
	path, err := s.path(name)
	if err != nil {
		return err
	}
	s.remember(name, nil, nil)
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
		name := strings.TrimSuffix(filepath.Base(p), ".yml")
		var fi os.FileInfo
		if typ != "" {
			if fi, err = os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				continue // deleted since the glob
			} else if err != nil {
				return nil, err
			}
			if known, ok := s.knownType(name, fi); ok && known != typ {
				continue
			}
		}
		c, err := s.Get(ctx, name)
		if aegir.ErrorCode(err) == aegir.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if fi != nil {
			// The file read may be newer than fi: then the next List
			// finds fi stale and reads it again.
			s.noteType(name, fi, c.Type)
		}
		if typ == "" || c.Type == typ {
			out = append(out, c)
		}
	}
	return out, nil
}

var _ aegir.ContextStore = (*Store)(nil)
