package aegir

import (
	"strings"
	"testing"
)

func TestPlatformSourceValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Platform
		want string // "" valid; else the field named
	}{
		{"makefile path", Platform{Root: "/srv/p", Makefile: "/srv/site.make"}, ""},
		{"makefile url", Platform{Root: "/srv/p", Makefile: "https://example.com/site.make.yml", UpdateURL: "http://127.0.0.1:8080/rh"}, ""},
		{"git https", Platform{Root: "/srv/p", GitURL: "https://example.com/a.git", GitRef: "main"}, ""},
		{"git scp", Platform{Root: "/srv/p", GitURL: "git@example.com:org/a.git", GitRef: "v1.2.3"}, ""},
		{"git file", Platform{Root: "/srv/p", GitURL: "file:///srv/git/a.git", GitRef: "0123abcd"}, ""},
		{"composer dir", Platform{Root: "/srv/p", Composer: "/srv/app"}, ""},
		{"composer git", Platform{Root: "/srv/p", Composer: "ssh://git@example.com/app.git", GitRef: "main"}, ""},
		{"two sources", Platform{Root: "/srv/p", Makefile: "/a.make", GitURL: "https://e.com/a.git"}, "makefile"},
		{"git option", Platform{Root: "/srv/p", GitURL: "--upload-pack=touch /tmp/x"}, "git_url"},
		{"git ext", Platform{Root: "/srv/p", GitURL: "ext::sh -c touch% /tmp/x"}, "git_url"},
		{"git ext no space", Platform{Root: "/srv/p", GitURL: "ext::sh"}, "git_url"},
		{"git fd", Platform{Root: "/srv/p", GitURL: "fd::17"}, "git_url"},
		{"git http", Platform{Root: "/srv/p", GitURL: "http://example.com/a.git"}, "git_url"},
		{"git ssh option host", Platform{Root: "/srv/p", GitURL: "ssh://-oProxyCommand=x/a"}, "git_url"},
		{"git scp option path", Platform{Root: "/srv/p", GitURL: "host:-x"}, "git_url"},
		{"ref option", Platform{Root: "/srv/p", GitURL: "https://e.com/a.git", GitRef: "--orphan"}, "git_ref"},
		{"ref dots", Platform{Root: "/srv/p", GitURL: "https://e.com/a.git", GitRef: "a..b"}, "git_ref"},
		{"ref without repo", Platform{Root: "/srv/p", GitRef: "main"}, "git_ref"},
		{"ref with composer dir", Platform{Root: "/srv/p", Composer: "/srv/app", GitRef: "main"}, "git_ref"},
		{"makefile scheme", Platform{Root: "/srv/p", Makefile: "ftp://e.com/a.make"}, "makefile"},
		{"makefile relative", Platform{Root: "/srv/p", Makefile: "site.make"}, "makefile"},
		{"composer relative", Platform{Root: "/srv/p", Composer: "app"}, "composer"},
		{"git password", Platform{Root: "/srv/p", GitURL: "https://u:secret@e.com/a.git"}, "git_url"},
		{"makefile password", Platform{Root: "/srv/p", Makefile: "https://u:secret@e.com/a.make"}, "makefile"},
		{"update_url path", Platform{Root: "/srv/p", Makefile: "/a.make", UpdateURL: "/srv/rh"}, "update_url"},
		{"update_url newline", Platform{Root: "/srv/p", Makefile: "/a.make", UpdateURL: "https://e.com/\nx"}, "update_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.(*Error).Field != tc.want {
				t.Fatalf("error = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// FuzzValidateGitURL: what passes never reaches git as an option or a
// transport helper.
func FuzzValidateGitURL(f *testing.F) {
	for _, s := range []string{"https://e.com/a.git", "git@e.com:a/b.git", "file:///srv/a.git", "/srv/a.git", "ext::sh", "-u", "ssh://-o/x"} {
		f.Add(s, "main")
	}
	f.Fuzz(func(t *testing.T, u, ref string) {
		if ValidateGitURL("git_url", u) == nil {
			if strings.HasPrefix(u, "-") || strings.Contains(u, "::") || strings.ContainsAny(u, " \n\t") {
				t.Fatalf("%q passed", u)
			}
		}
		if ValidateGitRef("git_ref", ref) == nil {
			if strings.HasPrefix(ref, "-") || strings.Contains(ref, "..") || strings.ContainsAny(ref, " \n\t:~^?*[\\") {
				t.Fatalf("ref %q passed", ref)
			}
		}
		if ValidateFetchURL("url", u) == nil && strings.HasPrefix(u, "-") {
			t.Fatalf("fetch %q passed", u)
		}
	})
}
