package teststack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GitRepo is a bare repository a test makes (reached as file://) and a
// work tree that commits and pushes into it: a stand-in for a code host.
type GitRepo struct {
	t    testing.TB
	Bare string
	Work string
}

// NewGitRepo makes a repository whose branch main holds files in one commit.
func NewGitRepo(t testing.TB, files map[string]string) *GitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		Missing(t, "git is not installed")
	}
	dir := t.TempDir()
	r := &GitRepo{t: t, Bare: filepath.Join(dir, "repo.git"), Work: filepath.Join(dir, "work")}
	Git(t, dir, "init", "--quiet", "--bare", "--initial-branch=main", r.Bare)
	Git(t, dir, "init", "--quiet", "--initial-branch=main", r.Work)
	r.Commit("first", files)
	return r
}

// URL is the repository's file:// URL.
func (r *GitRepo) URL() string { return "file://" + r.Bare }

// Commit writes files into the work tree, commits them on its current
// branch, pushes that branch and returns the commit.
func (r *GitRepo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	Git(r.t, r.Work, "add", "-A")
	Git(r.t, r.Work, "commit", "--quiet", "-m", msg)
	Git(r.t, r.Work, "push", "--quiet", r.Bare, Git(r.t, r.Work, "rev-parse", "--abbrev-ref", "HEAD"))
	return Git(r.t, r.Work, "rev-parse", "HEAD")
}

// Tag tags the work tree's commit and pushes the tag.
func (r *GitRepo) Tag(name string) {
	r.t.Helper()
	Git(r.t, r.Work, "tag", name)
	Git(r.t, r.Work, "push", "--quiet", r.Bare, name)
}

// Branch starts a branch in the work tree at its commit; Commit pushes it.
func (r *GitRepo) Branch(name string) {
	r.t.Helper()
	Git(r.t, r.Work, "checkout", "--quiet", "-B", name)
}

// Git runs git in dir with a fixed author and date, and returns its
// trimmed output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=aegir-test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=aegir-test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
