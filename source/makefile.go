package source

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/aegir-hosting/aegir"
)

// Makefile is a parsed Drush make file (API 2), .make or .make.yml.
type Makefile struct {
	Core     string
	API      string
	Projects []*Project // projects and libraries, in the file's order
	Includes []string
	// DefaultSubdir is defaults[projects][subdir], for projects (not core)
	// that name none, once includes are merged.
	DefaultSubdir string
}

// Project is one entry of projects[...] or libraries[...].
type Project struct {
	Name          string
	Library       bool
	Type          string // core, module, theme, profile, library; "" until resolved
	Version       string
	Subdir        string
	DirectoryName string
	Location      string // the project's update URL (drush's location)
	Download      Download
	Patches       []Patch
	line          int
}

// Download is a project's download section.
type Download struct {
	Type     string // git, file, copy; "" for a drupal.org release
	URL      string
	Branch   string
	Tag      string
	Revision string
	MD5      string
	SHA256   string
}

// Patch is one patch[] of a project.
type Patch struct {
	URL    string
	MD5    string
	SHA256 string
}

// node is a make file as a tree, the same from the INI and the YAML form;
// line is where a key was set (0 in YAML without it).
type node struct {
	line   int
	scalar *string
	keys   []string
	kids   map[string]*node
}

func (n *node) child(key string, line int) *node {
	if n.kids == nil {
		n.kids = map[string]*node{}
	}
	c, ok := n.kids[key]
	if !ok {
		c = &node{line: line}
		n.kids[key] = c
		n.keys = append(n.keys, key)
	}
	return c
}

// ParseError is a make file's syntax or content error, at a line when it
// has one.
type ParseError struct {
	Line int
	Key  string
	Msg  string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("makefile")
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, " (%s)", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

var (
	iniLine = regexp.MustCompile(`^([A-Za-z0-9_]+)((?:\[[^\[\]]*\])*)\s*=\s*(.*)$`)
	iniKey  = regexp.MustCompile(`\[([^\[\]]*)\]`)
	// projectName is a drupal.org project or a library's key.
	projectName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	hexDigest   = regexp.MustCompile(`^[0-9a-f]+$`)
	coreVersion = regexp.MustCompile(`^[0-9]+\.x$`)
	listIndex   = regexp.MustCompile(`^[0-9]+$`)
)

// maxMakefile bounds a make file (and each include).
const maxMakefile = 1 << 20

// ParseMakefile reads a make file: YAML when yml says so (the name ends in
// .yml or .yaml), else Drush's INI form.
func ParseMakefile(data []byte, yml bool) (*Makefile, error) {
	if len(data) > maxMakefile {
		return nil, &ParseError{Msg: "is larger than 1 MiB"}
	}
	var root *node
	var err error
	if yml {
		root, err = parseYAML(data)
	} else {
		root, err = parseINI(data)
	}
	if err != nil {
		return nil, err
	}
	return fromTree(root)
}

func parseINI(data []byte) (*node, error) {
	root := &node{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), maxMakefile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		m := iniLine.FindStringSubmatch(line)
		if m == nil {
			return nil, &ParseError{Line: n, Msg: fmt.Sprintf("%q is not key = value (key[a][b] = value)", clip(line))}
		}
		value, err := iniValue(m[3])
		if err != nil {
			return nil, &ParseError{Line: n, Key: m[1] + m[2], Msg: err.Error()}
		}
		keys := []string{m[1]}
		for _, k := range iniKey.FindAllStringSubmatch(m[2], -1) {
			keys = append(keys, strings.TrimSpace(strings.Trim(k[1], `"'`)))
		}
		cur := root
		for i, k := range keys {
			if cur.scalar != nil && i == 2 && (keys[0] == "projects" || keys[0] == "libraries") {
				// projects[views] = 3.24 is the version; keys may follow.
				v := cur.scalar
				cur.scalar = nil
				cur.child("version", cur.line).scalar = v
			}
			if cur.scalar != nil {
				return nil, &ParseError{Line: n, Key: m[1] + m[2], Msg: fmt.Sprintf("%s holds a value already and cannot hold keys", strings.Join(keys[:i], "."))}
			}
			if k == "" { // key[] appends
				k = strconv.Itoa(len(cur.keys))
			}
			cur = cur.child(k, n)
		}
		if len(cur.keys) > 0 {
			return nil, &ParseError{Line: n, Key: m[1] + m[2], Msg: "holds keys already and cannot hold a value"}
		}
		cur.scalar, cur.line = &value, n // a repeated key: the later line wins, as in drush
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{Msg: err.Error()}
	}
	return root, nil
}

// iniValue unquotes a value and drops a trailing ; comment of a bare one.
func iniValue(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if q := v[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(v[1:], q)
		if end < 0 {
			return "", fmt.Errorf("unterminated quote in %s", clip(v))
		}
		rest := strings.TrimSpace(v[end+2:])
		if rest != "" && rest[0] != ';' {
			return "", fmt.Errorf("text after the quoted value: %s", clip(rest))
		}
		return v[1 : end+1], nil
	}
	if i := strings.Index(v, " ;"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func parseYAML(data []byte) (*node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ParseError{Msg: err.Error()}
	}
	root := &node{}
	if len(doc.Content) == 0 {
		return root, nil
	}
	if err := fromYAML(root, doc.Content[0], 0); err != nil {
		return nil, err
	}
	return root, nil
}

func fromYAML(n *node, y *yaml.Node, depth int) error {
	if depth > 8 {
		return &ParseError{Line: y.Line, Msg: "nested too deeply"}
	}
	n.line = y.Line
	switch y.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return &ParseError{Line: k.Line, Msg: "a key must be a plain value"}
			}
			if err := fromYAML(n.child(k.Value, k.Line), v, depth+1); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, v := range y.Content {
			if err := fromYAML(n.child(strconv.Itoa(len(n.keys)), v.Line), v, depth+1); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		v := y.Value
		if y.Tag == "!!null" {
			v = ""
		}
		n.scalar = &v
	case yaml.AliasNode:
		return &ParseError{Line: y.Line, Msg: "YAML aliases are not allowed"}
	default:
		return &ParseError{Line: y.Line, Msg: "unexpected YAML node"}
	}
	return nil
}

// str is a scalar child's value ("" when absent), or an error when the
// child holds keys.
func (n *node) str(key, path string) (string, error) {
	c := n.kids[key]
	if c == nil {
		return "", nil
	}
	if c.scalar == nil {
		return "", &ParseError{Line: c.line, Key: path + "[" + key + "]", Msg: "must be a value, not a list of keys"}
	}
	return *c.scalar, nil
}

func fromTree(root *node) (*Makefile, error) {
	mf := &Makefile{}
	for _, k := range root.keys {
		c := root.kids[k]
		switch k {
		case "core", "api":
			if c.scalar == nil {
				return nil, &ParseError{Line: c.line, Key: k, Msg: "must be a value"}
			}
			if k == "core" {
				mf.Core = *c.scalar
				if !coreVersion.MatchString(mf.Core) {
					return nil, &ParseError{Line: c.line, Key: k, Msg: fmt.Sprintf("%q is not a core version such as 7.x", mf.Core)}
				}
			} else {
				mf.API = *c.scalar
				if mf.API != "2" {
					return nil, &ParseError{Line: c.line, Key: k, Msg: fmt.Sprintf("api %q: only api = 2 is read", mf.API)}
				}
			}
		case "includes":
			for _, ik := range c.keys {
				v := c.kids[ik]
				if v.scalar == nil || *v.scalar == "" {
					return nil, &ParseError{Line: v.line, Key: "includes[]", Msg: "must be a file name or URL"}
				}
				mf.Includes = append(mf.Includes, *v.scalar)
			}
		case "defaults":
			p := c.kids["projects"]
			if p == nil {
				continue
			}
			s, err := p.str("subdir", "defaults[projects]")
			if err != nil {
				return nil, err
			}
			if s != "" {
				if err := checkSubdir(s); err != nil {
					return nil, &ParseError{Line: p.kids["subdir"].line, Key: "defaults[projects][subdir]", Msg: err.Error()}
				}
			}
			mf.DefaultSubdir = s
		case "projects", "libraries":
			for _, pk := range c.keys {
				p, err := project(k, pk, c.kids[pk])
				if err != nil {
					return nil, err
				}
				mf.Projects = append(mf.Projects, p)
			}
		default:
			// drush ignores keys it does not know; so do we, but not
			// misspellings of these, which would lose a project silently.
			if k == "project" || k == "library" || k == "include" {
				return nil, &ParseError{Line: c.line, Key: k, Msg: fmt.Sprintf("unknown key; did you mean %ss?", k)}
			}
		}
	}
	seen := map[string]*Project{}
	var out []*Project
	for _, p := range mf.Projects {
		key := fmt.Sprint(p.Library, p.Name)
		if old, ok := seen[key]; ok {
			merge(old, p) // a later mention adds to, or overrides, an earlier
			continue
		}
		seen[key] = p
		out = append(out, p)
	}
	mf.Projects = out
	return mf, nil
}

// merge lays p's settings over old's.
func merge(old, p *Project) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&old.Type, p.Type)
	set(&old.Version, p.Version)
	set(&old.Subdir, p.Subdir)
	set(&old.DirectoryName, p.DirectoryName)
	set(&old.Location, p.Location)
	if p.Download != (Download{}) {
		old.Download = p.Download
	}
	old.Patches = append(old.Patches, p.Patches...)
}

// project reads projects[key] (or libraries[key]): a bare value names a
// project (projects[] = views) or its version (projects[views] = 3.24).
func project(list, key string, n *node) (*Project, error) {
	path := list + "[" + key + "]"
	p := &Project{Name: key, Library: list == "libraries", line: n.line}
	numeric := listIndex.MatchString(key)
	if n.scalar != nil {
		if numeric {
			p.Name = *n.scalar
		} else {
			p.Version = *n.scalar
		}
	} else if numeric {
		return nil, &ParseError{Line: n.line, Key: path, Msg: "a project listed with [] takes its name as value (projects[] = views)"}
	}
	if !projectName.MatchString(p.Name) {
		return nil, &ParseError{Line: n.line, Key: path, Msg: fmt.Sprintf("%q is not a project name", p.Name)}
	}
	if p.Library {
		p.Type = "library"
	}
	for _, k := range n.keys {
		c := n.kids[k]
		kpath := path + "[" + k + "]"
		bad := func(msg string) error { return &ParseError{Line: c.line, Key: kpath, Msg: msg} }
		switch k {
		case "type", "version", "subdir", "directory_name", "location", "update_url", "destination":
			v, err := n.str(k, path)
			if err != nil {
				return nil, err
			}
			switch k {
			case "type":
				if !map[string]bool{"core": true, "module": true, "theme": true, "profile": true, "library": true}[v] {
					return nil, bad(fmt.Sprintf("%q is not a project type (core, module, theme, profile, library)", v))
				}
				p.Type = v
			case "version":
				p.Version = v
			case "subdir":
				if err := checkSubdir(v); err != nil {
					return nil, bad(err.Error())
				}
				p.Subdir = v
			case "destination":
				return nil, bad("destination is not supported; use subdir")
			case "directory_name":
				if v == "" || !filepath.IsLocal(v) || strings.ContainsAny(v, `/\`) || strings.HasPrefix(v, ".") {
					return nil, bad(fmt.Sprintf("%q must be one directory name inside the project's place", v))
				}
				p.DirectoryName = v
			default: // location, update_url
				if err := aegir.ValidateFetchURL(kpath, v); err != nil {
					return nil, bad(err.(*aegir.Error).Message)
				}
				p.Location = v
			}
		case "download":
			if c.scalar != nil {
				return nil, bad("must hold keys (download][type], download][url], ...)")
			}
			d, err := download(kpath, c)
			if err != nil {
				return nil, err
			}
			p.Download = d
		case "patch":
			if c.scalar != nil {
				return nil, bad("must be a list (patch[] = URL)")
			}
			for _, pk := range c.keys {
				pn := c.kids[pk]
				var pt Patch
				if pn.scalar != nil {
					pt.URL = *pn.scalar
				} else {
					var err error
					ppath := kpath + "[" + pk + "]"
					if pt.URL, err = pn.str("url", ppath); err != nil {
						return nil, err
					}
					if pt.MD5, err = pn.str("md5", ppath); err != nil {
						return nil, err
					}
					if pt.SHA256, err = pn.str("sha256", ppath); err != nil {
						return nil, err
					}
				}
				if err := checkURL(pt.URL); err != nil {
					return nil, &ParseError{Line: pn.line, Key: kpath + "[]", Msg: err.Error()}
				}
				if err := checkDigests(pt.MD5, pt.SHA256); err != nil {
					return nil, &ParseError{Line: pn.line, Key: kpath + "[]", Msg: err.Error()}
				}
				p.Patches = append(p.Patches, pt)
			}
		default:
			// Other drush keys (l10n_url, overwrite, ...) change nothing
			// we build; they are read and left.
		}
	}
	return p, nil
}

func download(path string, n *node) (Download, error) {
	var d Download
	fields := map[string]*string{"type": &d.Type, "url": &d.URL, "branch": &d.Branch, "tag": &d.Tag,
		"revision": &d.Revision, "md5": &d.MD5, "sha256": &d.SHA256}
	for _, k := range n.keys {
		dst, ok := fields[k]
		if !ok {
			continue
		}
		v, err := n.str(k, path)
		if err != nil {
			return d, err
		}
		*dst = v
	}
	bad := func(msg string) error { return &ParseError{Line: n.line, Key: path, Msg: msg} }
	if d.Type == "get" {
		d.Type = "file" // drush's old name for the same
	}
	switch d.Type {
	case "git":
		if err := aegir.ValidateGitURL(path+"[url]", d.URL); err != nil {
			return d, bad(err.(*aegir.Error).Message)
		}
		for f, v := range map[string]string{"branch": d.Branch, "tag": d.Tag, "revision": d.Revision} {
			if v != "" {
				if err := aegir.ValidateGitRef(path+"["+f+"]", v); err != nil {
					return d, bad(f + ": " + err.(*aegir.Error).Message)
				}
			}
		}
	case "file", "copy":
		if err := checkURL(d.URL); err != nil {
			return d, bad(err.Error())
		}
		if err := checkDigests(d.MD5, d.SHA256); err != nil {
			return d, bad(err.Error())
		}
	case "":
		return d, bad("download needs a type (git, file or copy)")
	default:
		return d, bad(fmt.Sprintf("download type %q is not supported (git, file, copy)", d.Type))
	}
	return d, nil
}

func checkURL(u string) error {
	if err := aegir.ValidateFetchURL("url", u); err != nil {
		return fmt.Errorf("url: %s", err.(*aegir.Error).Message)
	}
	return nil
}

func checkDigests(md5, sha256 string) error {
	if md5 != "" && (len(md5) != 32 || !hexDigest.MatchString(md5)) {
		return fmt.Errorf("md5 %q is not 32 lowercase hex digits", md5)
	}
	if sha256 != "" && (len(sha256) != 64 || !hexDigest.MatchString(sha256)) {
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", sha256)
	}
	return nil
}

// checkSubdir refuses a subdir that leaves the project's place.
func checkSubdir(s string) error {
	if s == "" || !filepath.IsLocal(s) || filepath.Clean(s) != s || strings.Contains(s, `\`) || strings.HasPrefix(s, ".") {
		return fmt.Errorf("%q must be a relative directory inside sites/all (no .., no leading /)", s)
	}
	return nil
}

// sortedProjects returns the projects sorted by kind and name.
func sortedProjects(ps []*Project) []*Project {
	out := append([]*Project(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Library != out[j].Library {
			return !out[i].Library
		}
		return out[i].Name < out[j].Name
	})
	return out
}
