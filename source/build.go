package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/tarball"
)

// Builder builds platforms from their sources (aegir.PlatformBuilder).
type Builder struct {
	// Runner runs git, patch, cp and composer, as the back end's user.
	Runner aegir.Runner
	// HTTPClient fetches http(s) URLs; nil is http.DefaultClient.
	HTTPClient *http.Client
	// Parallel bounds the projects of a make file fetched at once; 0 is 6.
	Parallel int
}

var _ aegir.PlatformBuilder = (*Builder)(nil)

// Lock is a build's lock file (aegir.BuildLockFile): what was fetched,
// exactly, so a rebuild fetches the same.
type Lock struct {
	Source   string                  `json:"source"`
	Git      *GitLock                `json:"git,omitempty"`
	Projects map[string]*ProjectLock `json:"projects,omitempty"`
	// ComposerLock is composer.lock as composer wrote it.
	ComposerLock string `json:"composer_lock,omitempty"`
}

// GitLock is the commit a repository's ref was at.
type GitLock struct {
	URL    string `json:"url"`
	Ref    string `json:"ref,omitempty"`
	Commit string `json:"commit"`
}

// ProjectLock is one make file project as fetched: its commit or its
// tarball's checksum, and its patches'.
type ProjectLock struct {
	Type    string      `json:"type"`
	Version string      `json:"version,omitempty"`
	URL     string      `json:"url"`
	Commit  string      `json:"commit,omitempty"`
	SHA256  string      `json:"sha256,omitempty"`
	Patches []PatchLock `json:"patches,omitempty"`
}

// PatchLock is a patch as applied.
type PatchLock struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// Build implements aegir.PlatformBuilder.
func (b *Builder) Build(ctx context.Context, p *aegir.Platform, dir string, lockData []byte, log *aegir.TaskLog) error {
	kind := p.SourceKind()
	if kind == "" {
		return aegir.Errorf(aegir.EINVALID, "the platform has no source (makefile, git_url or composer)")
	}
	var old *Lock
	if lockData != nil {
		old = &Lock{}
		if err := json.Unmarshal(lockData, old); err != nil || old.Source != kind {
			log.Warnf("the build lock is unreadable or of another source; building from the source afresh")
			old = nil
		} else {
			log.Infof("building from the lock of the previous build")
		}
	}
	work, err := os.MkdirTemp(filepath.Dir(dir), ".aegir-build-work-*")
	if err != nil {
		return fmt.Errorf("build work directory: %w", err)
	}
	defer os.RemoveAll(work)
	bd := &build{b: b, log: log, work: work, root: dir, old: old, lock: &Lock{Source: kind}}
	switch kind {
	case aegir.SourceGit:
		err = bd.gitPlatform(ctx, "git_url", p.GitURL, p.GitRef)
	case aegir.SourceComposer:
		err = bd.composer(ctx, p)
	case aegir.SourceMakefile:
		err = bd.makefile(ctx, p)
	}
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(bd.lock, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, aegir.BuildLockFile), append(data, '\n'), 0o644)
}

// build is the state of one Build.
type build struct {
	b    *Builder
	log  *aegir.TaskLog
	work string // removed after the build
	root string
	old  *Lock
	lock *Lock
	mu   sync.Mutex // guards lock.Projects
}

// gitEnv keeps git to its plain transports (no ext::, no helpers a
// submodule could name) and from ever asking for a password.
var gitEnv = []string{"GIT_ALLOW_PROTOCOL=https:ssh:file", "GIT_TERMINAL_PROMPT=0", "GIT_SSH_COMMAND=ssh -o BatchMode=yes"}

func (bd *build) git(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := bd.b.Runner.Run(ctx, aegir.Command{Args: append([]string{"git"}, args...), Dir: dir, Env: gitEnv})
	return strings.TrimSpace(string(out)), err
}

// clone clones url into dir (which must not exist) and checks out ref (a
// branch, tag or commit; "" the remote's HEAD), or the commit locked.
// It returns the commit checked out.
func (bd *build) clone(ctx context.Context, field, url, ref, locked, dir string) (string, error) {
	if err := aegir.ValidateGitURL(field, url); err != nil {
		return "", err
	}
	if ref != "" {
		if err := aegir.ValidateGitRef(field, ref); err != nil {
			return "", err
		}
	}
	if _, err := bd.git(ctx, "", "clone", "--quiet", "--no-checkout", "--", url, dir); err != nil {
		return "", aegir.Errorf(aegir.EINVALID, "%s: cannot clone %s: %v", field, url, err)
	}
	want := ref
	if locked != "" {
		want = locked
	}
	commit, branch := "", false
	for _, cand := range candidates(want) {
		c, err := bd.git(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", cand+"^{commit}")
		if err == nil && c != "" {
			commit, branch = c, strings.HasPrefix(cand, "refs/remotes/")
			break
		}
	}
	if commit == "" {
		return "", aegir.Errorf(aegir.EINVALID, "%s: %s has no branch, tag or commit %q", field, url, want)
	}
	args := []string{"checkout", "--quiet", "--detach", commit}
	if branch && locked == "" {
		args = []string{"checkout", "--quiet", "-B", ref, commit}
	}
	if _, err := bd.git(ctx, dir, args...); err != nil {
		return "", fmt.Errorf("%s: checkout %s: %w", field, want, err)
	}
	return commit, nil
}

// candidates are the names under which git may know ref, branches first.
func candidates(ref string) []string {
	if ref == "" {
		return []string{"HEAD"}
	}
	return []string{"refs/remotes/origin/" + ref, "refs/tags/" + ref, ref}
}

// gitPlatform makes the root a clone of url at ref.
func (bd *build) gitPlatform(ctx context.Context, field, url, ref string) error {
	locked := ""
	if bd.old != nil && bd.old.Git != nil && bd.old.Git.URL == url && bd.old.Git.Ref == ref {
		locked = bd.old.Git.Commit
	}
	// git clone wants a directory that does not exist or is empty; the
	// root is empty, but cloning beside and moving keeps one code path.
	tmp := filepath.Join(bd.work, "clone")
	commit, err := bd.clone(ctx, field, url, ref, locked, tmp)
	if err != nil {
		return err
	}
	if err := moveChildren(tmp, bd.root); err != nil {
		return err
	}
	bd.lock.Git = &GitLock{URL: url, Ref: ref, Commit: commit}
	bd.log.Infof("cloned %s at %s (%s)", url, orHEAD(ref), commit)
	return nil
}

func orHEAD(ref string) string {
	if ref == "" {
		return "HEAD"
	}
	return ref
}

// composer fills the root from a composer project (a directory, or a git
// repository at git_ref) and runs composer install.
func (bd *build) composer(ctx context.Context, p *aegir.Platform) error {
	if filepath.IsAbs(p.Composer) {
		if st, err := os.Stat(filepath.Join(p.Composer, "composer.json")); err != nil || !st.Mode().IsRegular() {
			return aegir.FieldErrorf("composer", "%s holds no composer.json", p.Composer)
		}
		if _, err := bd.b.Runner.Run(ctx, aegir.Command{Args: []string{"cp", "-a", "--", p.Composer + "/.", bd.root}}); err != nil {
			return fmt.Errorf("copy %s: %w", p.Composer, err)
		}
		bd.log.Infof("copied the composer project %s", p.Composer)
	} else if err := bd.gitPlatform(ctx, "composer", p.Composer, p.GitRef); err != nil {
		return err
	}
	lockFile := filepath.Join(bd.root, "composer.lock")
	if _, err := os.Stat(lockFile); errors.Is(err, fs.ErrNotExist) && bd.old != nil && bd.old.ComposerLock != "" {
		if err := os.WriteFile(lockFile, []byte(bd.old.ComposerLock), 0o644); err != nil {
			return err
		}
	}
	home := filepath.Join(bd.work, "composer")
	env := []string{"COMPOSER_HOME=" + home, "COMPOSER_CACHE_DIR=" + filepath.Join(home, "cache"),
		// A path repository is copied, not linked: the platform must not
		// depend on where its build read from.
		"COMPOSER_MIRROR_PATH_REPOS=1", "COMPOSER_NO_AUDIT=1"}
	if _, err := os.Stat(lockFile); errors.Is(err, fs.ErrNotExist) {
		// Lock first: autoloaderSuffix reads the lock.
		bd.log.Infof("the project has no composer.lock: running composer update --no-install")
		if _, err := bd.b.Runner.Run(ctx, aegir.Command{Args: []string{"composer", "update", "--no-install", "--no-interaction", "--no-progress", "--no-ansi"},
			Dir: bd.root, Env: env}); err != nil {
			return aegir.Errorf(aegir.EINVALID, "composer update: %v", err)
		}
	}
	if err := autoloaderSuffix(lockFile, home); err != nil {
		return err
	}
	bd.log.Infof("running composer install --no-dev")
	if _, err := bd.b.Runner.Run(ctx, aegir.Command{Args: []string{"composer", "install", "--no-dev", "--no-interaction", "--no-progress", "--no-ansi"},
		Dir: bd.root, Env: env}); err != nil {
		return aegir.Errorf(aegir.EINVALID, "composer install: %v", err)
	}
	data, err := os.ReadFile(lockFile)
	if err != nil {
		return fmt.Errorf("composer wrote no composer.lock: %w", err)
	}
	bd.lock.ComposerLock = string(data)
	return nil
}

// moveChildren moves every entry of src into dst, refusing to replace one.
func moveChildren(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		to := filepath.Join(dst, e.Name())
		if _, err := os.Lstat(to); err == nil {
			return aegir.Errorf(aegir.ECONFLICT, "%s exists already: two projects write it", to)
		}
		if err := os.Rename(filepath.Join(src, e.Name()), to); err != nil {
			return err
		}
	}
	return nil
}

// place moves a fetched project's tree to dest under the root: rel "" is
// the root itself (core), whose entries are moved in.
func (bd *build) place(tree, rel string) error {
	if rel == "" {
		return moveChildren(tree, bd.root)
	}
	dest := filepath.Join(bd.root, rel)
	if !filepath.IsLocal(rel) {
		return aegir.Errorf(aegir.EINVALID, "%s leaves the platform", rel)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(dest); err == nil {
		return aegir.Errorf(aegir.ECONFLICT, "%s exists already: two projects write it", rel)
	}
	return os.Rename(tree, dest)
}

// unpack extracts a tarball into a new directory and returns the tree of
// the project: its single top directory, as drupal.org packs them.
func (bd *build) unpack(ctx context.Context, archive, name string) (string, error) {
	dest, err := os.MkdirTemp(bd.work, "unpack-*")
	if err != nil {
		return "", err
	}
	if err := os.Remove(dest); err != nil { // Extract wants to create it
		return "", err
	}
	if err := tarball.Extract(ctx, archive, dest, tarball.Options{}); err != nil {
		return "", aegir.Errorf(aegir.EINVALID, "project %s: %v", name, err)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return "", err
	}
	if len(entries) == 1 && entries[0].IsDir() {
		return filepath.Join(dest, entries[0].Name()), nil
	}
	return dest, nil
}

// destination is where drush make puts a project, relative to the root.
func destination(p *Project) string {
	name := p.Name
	if p.DirectoryName != "" {
		name = p.DirectoryName
	}
	switch p.Type {
	case "core":
		return ""
	case "profile":
		return path.Join("profiles", name)
	case "library":
		return path.Join("sites/all/libraries", p.Subdir, name)
	case "theme":
		return path.Join("sites/all/themes", p.Subdir, name)
	default:
		return path.Join("sites/all/modules", p.Subdir, name)
	}
}

// autoloaderSuffix names composer's autoloader classes after the lock's
// content hash, in the build's own COMPOSER_HOME (a project's composer.json
// may still set its own): composer picks a random name otherwise, and the
// same lock would not make the same tree.
func autoloaderSuffix(lockFile, home string) error {
	data, err := os.ReadFile(lockFile)
	if err != nil {
		return err
	}
	var lock struct {
		ContentHash string `json:"content-hash"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return aegir.Errorf(aegir.EINVALID, "composer.lock: %v", err)
	}
	if !hexDigest.MatchString(lock.ContentHash) {
		return aegir.Errorf(aegir.EINVALID, "composer.lock has no content-hash")
	}
	cfg, err := json.Marshal(map[string]any{"config": map[string]string{"autoloader-suffix": lock.ContentHash}})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(home, "config.json"), cfg, 0o600)
}
