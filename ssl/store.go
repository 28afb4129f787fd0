package ssl

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The layout of config/ssl.d:
//
//	<name>/certificate.json      provider, issuer, sites and their names, last attempt
//	<name>/live -> <version>     the certificate in use; swapped atomically
//	<name>/<version>/fullchain.pem, privkey.pem
//	_sites/<site>                the names of the certificates the site uses (JSON)
//	_locks/<name>                flock of one certificate
//	_acme/<directory>/           ACME account key and registration
//
// Certificate names never start with '_' (they are context names), so the
// underscore directories cannot clash with them.
const (
	metaFile    = "certificate.json"
	liveLink    = "live"
	chainFile   = "fullchain.pem"
	keyFile     = "privkey.pem"
	sitesDir    = "_sites"
	locksDir    = "_locks"
	accountsDir = "_acme"
)

// File modes: only the owner (aegir; the web server's master process reads
// its configuration as root) reads keys, registrations and the store.
const (
	storeDirMode = 0o700
	chainMode    = 0o644
	keyMode      = 0o600
	metaMode     = 0o600
)

// meta is a certificate's certificate.json.
type meta struct {
	Provider string `json:"provider"`
	// Issuer is "self-signed" or the ACME directory the certificate came
	// from.
	Issuer      string             `json:"issuer"`
	Sites       map[string]siteUse `json:"sites"`
	LastAttempt time.Time          `json:"last_attempt,omitzero"`
	LastError   string             `json:"last_error,omitempty"`
}

// siteUse is what one site asks of a certificate.
type siteUse struct {
	Domains  []string `json:"domains"`
	Provider string   `json:"provider"`
}

func (m *meta) clone() *meta {
	c := *m
	c.Sites = make(map[string]siteUse, len(m.Sites))
	for k, v := range m.Sites {
		c.Sites[k] = siteUse{Domains: slices.Clone(v.Domains), Provider: v.Provider}
	}
	return &c
}

// sites returns the names of the sites using the certificate, sorted.
func (m *meta) sites() []string {
	names := make([]string, 0, len(m.Sites))
	for s := range m.Sites {
		names = append(names, s)
	}
	slices.Sort(names)
	return names
}

// domains returns the names the certificate must cover: those of first,
// then those of the other sites by site name, each once.
func (m *meta) domains(first string) []string {
	var out []string
	add := func(site string) {
		for _, d := range m.Sites[site].Domains {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	add(first)
	for _, s := range m.sites() {
		if s != first {
			add(s)
		}
	}
	return out
}

func (s *Service) certDir(name string) string { return filepath.Join(s.paths.SSL(), name) }

// readMeta reads a certificate's meta; a missing one is (nil, nil).
func (s *Service) readMeta(name string) (*meta, error) {
	data, err := os.ReadFile(filepath.Join(s.certDir(name), metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(s.certDir(name), metaFile), err)
	}
	if m.Sites == nil {
		m.Sites = map[string]siteUse{}
	}
	return &m, nil
}

func (s *Service) writeMeta(name string, m *meta) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.certDir(name), storeDirMode); err != nil {
		return err
	}
	return writeFile(filepath.Join(s.certDir(name), metaFile), append(data, '\n'), metaMode)
}

// live is the certificate a name's live link points to.
type live struct {
	version string
	cert    *x509.Certificate
}

// readLive parses the certificate in use under name; none is (nil, nil).
func (s *Service) readLive(name string) (*live, error) {
	dir := s.certDir(name)
	version, err := os.Readlink(filepath.Join(dir, liveLink))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, version, chainFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	cert, err := parseLeaf(data)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", name, err)
	}
	return &live{version: version, cert: cert}, nil
}

// parseLeaf parses the first certificate of a PEM chain.
func parseLeaf(chain []byte) (*x509.Certificate, error) {
	for rest := chain; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM certificate")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// install writes a new version of the certificate name and makes it live
// by swapping the live link; it returns the version.
func (s *Service) install(name string, chain, key []byte, leaf *x509.Certificate) (string, error) {
	dir := s.certDir(name)
	if err := os.MkdirAll(dir, storeDirMode); err != nil {
		return "", err
	}
	serial := hex.EncodeToString(leaf.SerialNumber.Bytes())
	if len(serial) > 16 {
		serial = serial[:16]
	}
	version := s.now().UTC().Format("20060102T150405Z") + "-" + serial
	vdir := filepath.Join(dir, version)
	if err := os.Mkdir(vdir, storeDirMode); err != nil {
		return "", fmt.Errorf("create %s: %w", vdir, err)
	}
	if err := writeFile(filepath.Join(vdir, keyFile), key, keyMode); err != nil {
		os.RemoveAll(vdir)
		return "", err
	}
	if err := writeFile(filepath.Join(vdir, chainFile), chain, chainMode); err != nil {
		os.RemoveAll(vdir)
		return "", err
	}
	if err := symlink(version, filepath.Join(dir, liveLink)); err != nil {
		os.RemoveAll(vdir)
		return "", err
	}
	return version, nil
}

// prune removes the versions of name other than keep.
func (s *Service) prune(name string, keep ...string) error {
	dir := s.certDir(name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(keep, e.Name()) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// lock takes the lock of one certificate (or account), across tasks and
// processes.
func (s *Service) lock(name string) (unlock func(), err error) {
	dir := filepath.Join(s.paths.SSL(), locksDir)
	if err := makeStore(s.paths.SSL(), dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock certificate %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock certificate %s: %w", name, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// makeStore creates the store's directories, 0700.
func makeStore(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, storeDirMode); err != nil {
			return err
		}
		if err := os.Chmod(d, storeDirMode); err != nil {
			return err
		}
	}
	return nil
}

// The index: for each site, the certificates it uses, so that releasing a
// site's certificates reads one file rather than every certificate.

func (s *Service) indexFile(site string) string {
	return filepath.Join(s.paths.SSL(), sitesDir, site)
}

func (s *Service) readIndex(site string) ([]string, error) {
	data, err := os.ReadFile(s.indexFile(site))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		return nil, fmt.Errorf("read %s: %w", s.indexFile(site), err)
	}
	return names, nil
}

func (s *Service) writeIndex(site string, names []string) error {
	if len(names) == 0 {
		if err := os.Remove(s.indexFile(site)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := makeStore(s.paths.SSL(), filepath.Join(s.paths.SSL(), sitesDir)); err != nil {
		return err
	}
	slices.Sort(names)
	data, err := json.Marshal(slices.Compact(names))
	if err != nil {
		return err
	}
	return writeFile(s.indexFile(site), data, metaMode)
}

// tree is a directory's content held in memory, to put a removed
// certificate back.
type tree struct {
	dirs  map[string]fs.FileMode
	files map[string]treeFile
	links map[string]string
}

type treeFile struct {
	data []byte
	mode fs.FileMode
}

func readTree(root string) (*tree, error) {
	t := &tree{dirs: map[string]fs.FileMode{}, files: map[string]treeFile{}, links: map[string]string{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			t.links[rel] = target
		case d.IsDir():
			t.dirs[rel] = info.Mode().Perm()
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			t.files[rel] = treeFile{data, info.Mode().Perm()}
		}
		return nil
	})
	return t, err
}

// write recreates the tree at root.
func (t *tree) write(root string) error {
	dirs := make([]string, 0, len(t.dirs))
	for d := range t.dirs {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs) // parents first
	for _, d := range dirs {
		path := filepath.Join(root, d)
		if err := os.MkdirAll(path, t.dirs[d]); err != nil {
			return err
		}
		if err := os.Chmod(path, t.dirs[d]); err != nil {
			return err
		}
	}
	for rel, f := range t.files {
		if err := writeFile(filepath.Join(root, rel), f.data, f.mode); err != nil {
			return err
		}
	}
	for rel, target := range t.links {
		if err := symlink(target, filepath.Join(root, rel)); err != nil {
			return err
		}
	}
	return nil
}

// writeFile replaces path atomically with data, mode set before the rename
// (a key is never readable by others, not even for a moment).
func writeFile(path string, data []byte, mode fs.FileMode) error {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// symlink makes path a symbolic link to target, atomically replacing a
// link already there.
func symlink(target, path string) error {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+hex.EncodeToString(b)+".tmp")
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// hidden reports whether a store entry is not a certificate.
func hidden(name string) bool { return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") }
