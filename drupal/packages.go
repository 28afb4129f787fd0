package drupal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// Package types, as Package.Type.
const (
	TypeCore    = "core"
	TypeProfile = "profile"
	TypeModule  = "module"
	TypeTheme   = "theme"
)

// typeOrder puts core first, then profiles, modules and themes.
var typeOrder = map[string]int{TypeCore: 0, TypeProfile: 1, TypeModule: 2, TypeTheme: 3}

// testName matches the machine names of test packages that live outside a
// tests/ directory: core's testing profiles and the test modules inside them.
var testName = regexp.MustCompile(`(^|_)test(s|ing)?($|_)`)

// Packages lists core (named "drupal"), then the profiles, modules and
// themes of the codebase, with their versions and, for modules and
// profiles, the schema version: the highest N of <name>_update_N() in
// <name>.install. Test packages are left out (anything under a tests/ or
// fixtures/ directory, and hidden packages named like tests). A package
// shipped in several places is listed once per place, each with its path.
func (d *Drupal) Packages(ctx context.Context, root string) ([]aegir.Package, error) {
	version, major, ok := detect(root)
	if !ok {
		return nil, errNoDrupal(root)
	}
	var pkgs []aegir.Package
	var err error
	if major == 7 {
		pkgs, err = scan7(ctx, root, version)
	} else {
		pkgs, err = scan8(ctx, root, version)
	}
	if err != nil {
		return nil, err
	}
	if major >= 8 {
		if err := lockVersions(root, pkgs); err != nil {
			return nil, err
		}
	}
	sort.Slice(pkgs, func(i, j int) bool {
		a, b := pkgs[i], pkgs[j]
		if typeOrder[a.Type] != typeOrder[b.Type] {
			return typeOrder[a.Type] < typeOrder[b.Type]
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Path < b.Path
	})
	return append([]aegir.Package{{Name: "drupal", Type: TypeCore, Version: version}}, pkgs...), nil
}

// composerLock is what the driver reads of a composer.lock.
type composerLock struct {
	Packages []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Type    string `json:"type"`
	} `json:"packages"`
}

// lockVersions fills in the versions an extension's .info.yml lacks (one
// installed from git, which carries none) from the composer.lock of a
// composer project (in root, or beside a web/ docroot): the version of the
// drupal/<project> package whose directory holds it. A platform without a
// composer.lock is left as it is.
func lockVersions(root string, pkgs []aegir.Package) error {
	var data []byte
	for _, dir := range []string{root, filepath.Dir(root)} {
		b, err := os.ReadFile(filepath.Join(dir, "composer.lock"))
		if err == nil {
			data = b
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if data == nil {
		return nil
	}
	var lock composerLock
	if err := json.Unmarshal(data, &lock); err != nil {
		return aegir.FieldErrorf("root", "composer.lock beside %s: %v", root, err)
	}
	versions := map[string]string{}
	for _, p := range lock.Packages {
		if project, ok := strings.CutPrefix(p.Name, "drupal/"); ok && strings.HasPrefix(p.Type, "drupal-") {
			versions[project] = p.Version
		}
	}
	for i, p := range pkgs {
		if p.Version != "" {
			continue
		}
		// modules/contrib/<project>/..., themes/contrib/<project>/...
		parts := strings.Split(p.Path, "/")
		project := p.Name
		if len(parts) >= 3 && parts[1] == "contrib" {
			project = parts[2]
		}
		if v, ok := versions[project]; ok {
			pkgs[i].Version = v
		}
	}
	return nil
}

// info is what the driver reads from a .info or .info.yml file.
type info struct {
	typ     string
	version string
	hidden  bool
}

// skip7 are the directories Drupal 7's extension listing never enters, and
// those holding tests.
var skip7 = map[string]bool{
	"CVS": true, "lib": true, "templates": true, "css": true, "js": true,
	"tests": true, "fixtures": true, "node_modules": true,
}

// skip8 are the directories Drupal 8+'s extension discovery never enters,
// and those holding tests.
var skip8 = map[string]bool{
	"src": true, "lib": true, "vendor": true, "assets": true, "css": true,
	"files": true, "images": true, "js": true, "misc": true, "templates": true,
	"includes": true, "fixtures": true, "Drupal": true, "tests": true,
	"node_modules": true, "bower_components": true,
}

// scan7 lists a Drupal 7 codebase as Drupal 7 finds extensions: modules are
// <name>.module files with a <name>.info beside them under a modules/
// directory; themes are <name>.info files under a themes/ directory;
// profiles are profiles/<name>/<name>.profile. Each of modules/ and themes/
// is searched at the root, in sites/all/ and in each profile.
func scan7(ctx context.Context, root, coreVersion string) ([]aegir.Package, error) {
	bases := []string{".", filepath.Join("sites", "all")}
	var pkgs []aegir.Package
	profiles, err := os.ReadDir(filepath.Join(root, "profiles"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range profiles {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || skip7[name] {
			continue
		}
		dir := filepath.Join("profiles", name)
		if !exists(filepath.Join(root, dir, name+".profile")) {
			continue
		}
		in, err := readInfo7(filepath.Join(root, dir, name+".info"))
		if err != nil {
			continue
		}
		bases = append(bases, dir)
		if in.hidden && testName.MatchString(name) {
			continue
		}
		pkgs = append(pkgs, pkg(root, dir, name, TypeProfile, in, coreVersion))
	}
	for _, base := range bases {
		err := walk(ctx, filepath.Join(root, base, "modules"), skip7, func(dir string, names map[string]bool) {
			for file := range names {
				name, ok := strings.CutSuffix(file, ".module")
				if !ok || !names[name+".info"] {
					continue
				}
				in, err := readInfo7(filepath.Join(dir, name+".info"))
				if err != nil || (in.hidden && testName.MatchString(name)) {
					continue
				}
				pkgs = append(pkgs, pkg(root, rel(root, dir), name, TypeModule, in, coreVersion))
			}
		})
		if err != nil {
			return nil, err
		}
		err = walk(ctx, filepath.Join(root, base, "themes"), skip7, func(dir string, names map[string]bool) {
			for file := range names {
				name, ok := strings.CutSuffix(file, ".info")
				if !ok {
					continue
				}
				in, err := readInfo7(filepath.Join(dir, file))
				if err != nil || (in.hidden && testName.MatchString(name)) {
					continue
				}
				pkgs = append(pkgs, pkg(root, rel(root, dir), name, TypeTheme, in, coreVersion))
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return pkgs, nil
}

// scan8 lists a Drupal 8+ codebase: every <name>.info.yml whose type is
// module, theme or profile under core/ and under the root's modules/,
// themes/, profiles/ and sites/all/.
func scan8(ctx context.Context, root, coreVersion string) ([]aegir.Package, error) {
	var pkgs []aegir.Package
	dirs := []string{
		"core/modules", "core/themes", "core/profiles",
		"modules", "themes", "profiles", "sites/all/modules", "sites/all/themes",
	}
	for _, d := range dirs {
		err := walk(ctx, filepath.Join(root, filepath.FromSlash(d)), skip8, func(dir string, names map[string]bool) {
			for file := range names {
				name, ok := strings.CutSuffix(file, ".info.yml")
				if !ok {
					continue
				}
				in, err := readInfo8(filepath.Join(dir, file))
				if err != nil || (in.hidden && testName.MatchString(name)) {
					continue
				}
				switch in.typ {
				case TypeModule, TypeTheme, TypeProfile:
					p := pkg(root, rel(root, dir), name, in.typ, in, coreVersion)
					if p.Type != TypeTheme {
						p.Schema = schema8(filepath.Join(dir, name+".install"), name, p.Schema)
					}
					pkgs = append(pkgs, p)
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return pkgs, nil
}

// pkg builds the package of an extension found in dir (relative to root).
func pkg(root, dir, name, typ string, in info, coreVersion string) aegir.Package {
	p := aegir.Package{Name: name, Type: typ, Version: in.version, Path: filepath.ToSlash(dir)}
	if p.Version == "VERSION" {
		p.Version = coreVersion
	}
	if typ == TypeModule || typ == TypeProfile {
		p.Schema = schemaVersion(filepath.Join(root, dir, name+".install"), name)
	}
	return p
}

// walk calls fn with each directory under top (absolute) and the names of
// the files in it, skipping hidden directories and those in skip. A missing
// top is no error.
func walk(ctx context.Context, top string, skip map[string]bool, fn func(dir string, files map[string]bool)) error {
	return filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != top && (strings.HasPrefix(d.Name(), ".") || skip[d.Name()]) {
			return filepath.SkipDir
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil
		}
		files := map[string]bool{}
		for _, e := range entries {
			if e.Type().IsRegular() {
				files[e.Name()] = true
			}
		}
		fn(path, files)
		return nil
	})
}

// readInfo7 reads the keys the driver needs from a Drupal 7 .info file:
// "key = value" lines, values optionally quoted, ";" comments.
func readInfo7(path string) (info, error) {
	var in info
	b, err := os.ReadFile(path)
	if err != nil {
		return in, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		value = unquote(strings.TrimSpace(value))
		switch strings.TrimSpace(key) {
		case "version":
			in.version = value
		case "hidden":
			in.hidden = truthy(value)
		}
	}
	return in, sc.Err()
}

// readInfo8 reads the top-level keys the driver needs from a .info.yml
// file. The keys it needs are plain scalars, so a line scan is enough and
// never fails on the YAML features some contributed files misuse.
func readInfo8(path string) (info, error) {
	var in info
	b, err := os.ReadFile(path)
	if err != nil {
		return in, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = yamlScalar(value)
		switch strings.TrimSpace(key) {
		case "type":
			in.typ = value
		case "version":
			in.version = value
		case "hidden":
			in.hidden = truthy(value)
		}
	}
	return in, sc.Err()
}

// yamlScalar returns a plain or quoted YAML scalar without its quotes or
// trailing comment.
func yamlScalar(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return v
	}
	if q := v[0]; q == '"' || q == '\'' {
		if end := strings.IndexByte(v[1:], q); end >= 0 {
			return v[1 : 1+end]
		}
		return v
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// schemaVersion returns the highest N of the <name>_update_N() functions in
// the .install file at path, 0 when there is none.
func schemaVersion(path, name string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	re := regexp.MustCompile(`(?m)^\s*function\s+` + regexp.QuoteMeta(name) + `_update_(\d+)\s*\(`)
	highest := 0
	for _, m := range re.FindAllSubmatch(b, -1) {
		if n, err := strconv.Atoi(string(m[1])); err == nil && n > highest {
			highest = n
		}
	}
	return highest
}

// minSchema8 is the schema version Drupal 8+ gives an installed module that
// has no update of its own (\Drupal::CORE_MINIMUM_SCHEMA_VERSION).
const minSchema8 = 8000

// schema8 is the schema version Drupal 8+ records for a module when it
// installs it, as ModuleInstaller does: the highest update found, at least
// minSchema8, and at least what <name>_update_last_removed() returns.
func schema8(path, name string, highest int) int {
	v := max(highest, minSchema8)
	b, err := os.ReadFile(path)
	if err != nil {
		return v
	}
	re := regexp.MustCompile(`function\s+` + regexp.QuoteMeta(name) + `_update_last_removed\s*\(\s*\)\s*(?::\s*\??\w+\s*)?\{\s*return\s+(\d+)\s*;`)
	if m := re.FindSubmatch(b); m != nil {
		if n, err := strconv.Atoi(string(m[1])); err == nil {
			v = max(v, n)
		}
	}
	return v
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return r
}

var _ aegir.App = (*Drupal)(nil)
