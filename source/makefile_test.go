package source

import (
	"strings"
	"testing"
)

func TestParseMakefileReadsINIAndYAMLAlike(t *testing.T) {
	ini := `; comment
core = 7.x
api = 2
defaults[projects][subdir] = "contrib"
includes[] = base.make
projects[] = ctools
projects[views] = 3.24
projects[views][patch][] = "https://example.com/views.patch"
projects[drupal][version] = 7.105
projects[mymod][type] = module
projects[mymod][download][type] = git
projects[mymod][download][url] = https://example.com/mymod.git
projects[mymod][download][tag] = v1.0
projects[mymod][directory_name] = mine
libraries[ckeditor][download][type] = file
libraries[ckeditor][download][url] = https://example.com/ck.tar.gz ; trailing comment
libraries[ckeditor][download][md5] = 0123456789abcdef0123456789abcdef
`
	yml := `core: 7.x
api: 2
defaults:
  projects:
    subdir: contrib
includes:
  - base.make
projects:
  ctools: ~
  views:
    version: "3.24"
    patch:
      - https://example.com/views.patch
  drupal:
    version: "7.105"
  mymod:
    type: module
    directory_name: mine
    download: {type: git, url: "https://example.com/mymod.git", tag: v1.0}
libraries:
  ckeditor:
    download:
      type: file
      url: https://example.com/ck.tar.gz
      md5: 0123456789abcdef0123456789abcdef
`
	a, err := ParseMakefile([]byte(ini), false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseMakefile([]byte(yml), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range []*Makefile{a, b} {
		if mf.Core != "7.x" || mf.API != "2" || mf.DefaultSubdir != "contrib" || len(mf.Includes) != 1 || mf.Includes[0] != "base.make" {
			t.Errorf("header: %+v", mf)
		}
		got := map[string]*Project{}
		for _, p := range mf.Projects {
			got[p.Name] = p
		}
		if len(got) != 5 || got["ctools"] == nil || got["views"].Version != "3.24" || len(got["views"].Patches) != 1 ||
			got["drupal"].Version != "7.105" || got["mymod"].Download.Tag != "v1.0" || got["mymod"].DirectoryName != "mine" ||
			!got["ckeditor"].Library || got["ckeditor"].Download.URL != "https://example.com/ck.tar.gz" || got["ckeditor"].Download.MD5 == "" {
			for n, p := range got {
				t.Logf("%s: %+v", n, p)
			}
			t.Errorf("projects differ from the file")
		}
	}
}

func TestParseMakefileNamesTheLineAndKeyOfAnError(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"not key = value", "core = 7.x\napi = 2\nprojects[views\n", "line 3"},
		{"unterminated quote", "core = 7.x\nprojects[a][version] = \"3.x\n", "line 2 (projects[a][version]): unterminated quote"},
		{"subdir leaves sites/all", "projects[a][subdir] = ../../x\n", "line 1 (projects[a][subdir])"},
		{"absolute subdir", "projects[a][subdir] = /etc\n", "projects[a][subdir]"},
		{"directory_name with a slash", "projects[a][directory_name] = x/y\n", "projects[a][directory_name]"},
		{"directory_name dot dot", "projects[a][directory_name] = ..\n", "projects[a][directory_name]"},
		{"git option injection", "projects[a][download][type] = git\nprojects[a][download][url] = --upload-pack=touch /tmp/x\n", "must not start with '-'"},
		{"git ext transport", "projects[a][download][type] = git\nprojects[a][download][url] = ext::sh -c touch% /tmp/x\n", "projects[a][download]"},
		{"ref injection", "projects[a][download][type] = git\nprojects[a][download][url] = https://example.com/a.git\nprojects[a][download][branch] = --foo\n", "branch"},
		{"unknown download type", "projects[a][download][type] = svn\nprojects[a][download][url] = https://example.com/a\n", `download type "svn" is not supported`},
		{"bad md5", "projects[a][download][type] = file\nprojects[a][download][url] = https://example.com/a.tgz\nprojects[a][download][md5] = xyz\n", "md5"},
		{"bad project name", "projects[] = ../x\n", "is not a project name"},
		{"scheme", "projects[a][download][type] = file\nprojects[a][download][url] = ftp://example.com/a.tgz\n", "http, https or file"},
		{"core", "core = seven\n", `line 1 (core): "seven" is not a core version`},
		{"api", "api = 3\n", "only api = 2"},
		{"misspelled list", "project[] = views\n", "did you mean projects?"},
		{"value then keys of a non-project", "core = 7.x\ncore[a] = b\n", "line 2"},
		{"yaml syntax", "projects: [\n", "makefile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMakefile([]byte(tc.file), tc.name == "yaml syntax")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one with %q", err, tc.want)
			}
		})
	}
}

// FuzzParseMakefile: any input parses or fails with an error, and what
// parses never places a project outside the platform.
func FuzzParseMakefile(f *testing.F) {
	f.Add([]byte("core = 7.x\napi = 2\nprojects[views][version] = 3.24\nprojects[a][subdir] = contrib\n"), false)
	f.Add([]byte("projects[x][download][type] = git\nprojects[x][download][url] = file:///srv/x.git\nprojects[x][directory_name] = y\n"), false)
	f.Add([]byte("libraries[l][download][type] = file\nlibraries[l][download][url] = https://h/l.tgz\nlibraries[l][subdir] = a/b\n"), false)
	f.Add([]byte("core: 7.x\nprojects:\n  views: {version: 3.x, subdir: contrib}\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, yml bool) {
		mf, err := ParseMakefile(data, yml)
		if err != nil {
			return
		}
		for _, p := range mf.Projects {
			for _, typ := range []string{"", "core", "module", "theme", "profile", "library"} {
				p.Type = typ
				d := destination(p)
				if d != "" && (strings.HasPrefix(d, "/") || strings.Contains("/"+d+"/", "/../")) {
					t.Fatalf("project %q lands at %q", p.Name, d)
				}
			}
		}
	})
}
