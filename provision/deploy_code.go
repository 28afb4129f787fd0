package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// deployCode puts the code of a git ref under a site whose platform was
// built from git: a new platform is built from the ref beside the old one,
// the site migrates onto it, and the deploy hooks run; any failure, a hook's
// included, moves the site back onto its old platform, which stays until
// it is deleted (for a rollback by hand: migrate the site back). Steps:
//
//	build new platform    buildTree (steps_build.go) with the ref, into a temporary
//	                      directory beside the old root, named after the commit it holds
//	                      (platform_<name>_<sha7>) and renamed into place   undo: removed
//	new platform context  ContextStore.Put of the old platform's context with the new
//	                      root and git_ref                                  undo: deleted
//	verify new platform   verifyPlatform's steps (verify.go): codebase, sites directory,
//	                      http platform, packages                 undo: as each of those
//	migrate               migrateSteps (migrate.go) onto the new platform, all but their
//	                      last: package check … set aside old site directory
//	                      undo: as each of those, the site back on its old platform
//	deploy hooks          app.UpdateDatabase, app.FlushCache, then the deploy commands of
//	                      the new root's .aegir.yml (runProjectCommands)   no undo: the migrate's
//	                      undo puts the site back with its database as it was
//	remove old copy       the migrate's cleanupStep: the old site directory and database
//	                      no undo: last, a failure there is a warning
func (t *run) deployCode(ctx context.Context, c *aegir.Context) ([]aegir.Step, error) {
	ref := t.opts.Args["git_ref"]
	if ref == "" {
		return nil, aegir.FieldErrorf("git_ref", "name the branch, tag or commit to deploy")
	}
	if err := aegir.ValidateGitRef("git_ref", ref); err != nil {
		return nil, err
	}
	s, err := t.loadInstalledSite(ctx, c)
	if err != nil {
		return nil, err
	}
	old, err := t.typed(ctx, s.site.Platform, aegir.PlatformContext)
	if err != nil {
		return nil, err
	}
	if old.Platform.SourceKind() != aegir.SourceGit {
		return nil, aegir.FieldErrorf("git_ref", "the platform @%s of @%s was not built from git (git_url)", old.Name, c.Name)
	}
	base := platformBase(old.Name)
	var (
		np      *aegir.Context // the new platform, once built
		cleanup aegir.Step     // the migrate's last step, run last
	)
	return []aegir.Step{
		{Name: "build new platform", Do: func(ctx context.Context) (aegir.Undo, error) {
			p := *old.Platform
			p.GitRef = ref
			p.Root = filepath.Join(filepath.Dir(old.Platform.Root), strings.TrimPrefix(base, "platform_"))
			tmp, err := t.buildTree(ctx, &p, nil)
			if err != nil {
				return nil, err
			}
			commit, err := lockedCommit(tmp)
			if err != nil {
				os.RemoveAll(tmp)
				return nil, err
			}
			name := base + "_" + commit[:7]
			p.Root = filepath.Join(filepath.Dir(old.Platform.Root), strings.TrimPrefix(name, "platform_"))
			if name == old.Name {
				os.RemoveAll(tmp)
				return nil, aegir.FieldErrorf("git_ref", "@%s already runs %s (commit %s)", c.Name, ref, commit[:12])
			}
			if err := t.free(ctx, name, p.Root); err != nil {
				os.RemoveAll(tmp)
				return nil, err
			}
			if err := os.Rename(tmp, p.Root); err != nil {
				os.RemoveAll(tmp)
				return nil, fmt.Errorf("move the built platform into place: %w", err)
			}
			np = old.Clone()
			np.Name, np.Platform.Root, np.Platform.GitRef = name, p.Root, ref
			t.log.Infof("built @%s at %s from %s %s (commit %s)", name, p.Root, p.GitURL, ref, commit)
			report(t, func(r *aegir.DeployCodeResult) { r.NewPlatform, r.Commit = "@"+name, commit })
			root := p.Root
			return func(context.Context) error { return os.RemoveAll(root) }, nil
		}},
		{Name: "new platform context", Do: func(ctx context.Context) (aegir.Undo, error) {
			if err := t.b.Contexts.Put(ctx, np); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return t.b.Contexts.Delete(ctx, np.Name) }, nil
		}},
		{Name: "verify new platform", Do: func(ctx context.Context) (aegir.Undo, error) {
			steps, err := t.verifyPlatform(ctx, np.Clone())
			if err != nil {
				return nil, err
			}
			return t.steps.Nest(ctx, steps)
		}},
		{Name: "migrate", Do: func(ctx context.Context) (aegir.Undo, error) {
			steps, err := t.migrateSteps(ctx, c, s, "@"+np.Name, "")
			if err != nil {
				return nil, err
			}
			// The old copy goes only once the hooks have passed.
			cleanup = steps[len(steps)-1]
			return t.steps.Nest(ctx, steps[:len(steps)-1])
		}},
		{Name: "deploy hooks", Do: func(ctx context.Context) (aegir.Undo, error) {
			moved, err := t.b.Contexts.Get(ctx, c.Name)
			if err != nil {
				return nil, err
			}
			ns, err := t.loadInstalledSite(ctx, moved)
			if err != nil {
				return nil, err
			}
			return nil, t.runDeployHooks(ctx, ns)
		}},
		{Name: "remove old copy", Do: func(ctx context.Context) (aegir.Undo, error) {
			return cleanup.Do(ctx)
		}},
	}, nil
}

// builtSuffix is the _<sha7> a deploy-code adds to a platform's name.
var builtSuffix = regexp.MustCompile(`_[0-9a-f]{7}$`)

// platformBase is the name a deploy-code's platform is named after: the
// old platform's, without the commit an earlier deploy-code added.
func platformBase(name string) string {
	return builtSuffix.ReplaceAllString(name, "")
}

// lockedCommit reads the commit a git build wrote into its lock file.
func lockedCommit(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, aegir.BuildLockFile))
	if err != nil {
		return "", fmt.Errorf("read the build's lock file: %w", err)
	}
	var lock struct {
		Git *struct {
			Commit string `json:"commit"`
		} `json:"git"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return "", fmt.Errorf("read the build's lock file: %w", err)
	}
	if lock.Git == nil || len(lock.Git.Commit) < 12 {
		return "", aegir.Errorf(aegir.EINTERNAL, "the build's lock file names no commit")
	}
	return lock.Git.Commit, nil
}

// free checks that neither a context nor a directory takes the name and
// root of a new platform.
func (t *run) free(ctx context.Context, name, root string) error {
	if _, err := t.b.Contexts.Get(ctx, name); err == nil {
		return aegir.Errorf(aegir.ECONFLICT, "@%s exists already: delete it, or deploy another ref", name)
	} else if aegir.ErrorCode(err) != aegir.ENOTFOUND {
		return err
	}
	if _, err := os.Lstat(root); err == nil {
		return aegir.Errorf(aegir.ECONFLICT, "%s exists already", root)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// runDeployHooks runs what a deploy of new code needs on the site: its
// database updates, a cache clear, then the deploy commands of the
// platform's .aegir.yml.
func (t *run) runDeployHooks(ctx context.Context, s *siteEnv) error {
	if err := s.platform.app.UpdateDatabase(ctx, s.appSite()); err != nil {
		return fmt.Errorf("database updates: %w", err)
	}
	if err := s.platform.app.FlushCache(ctx, s.appSite()); err != nil {
		return fmt.Errorf("cache clear: %w", err)
	}
	f, err := readProjectFile(s.platform.root)
	if err != nil || f == nil {
		return err
	}
	return t.runProjectCommands(ctx, s, "deploy", f.Deploy, f)
}

// readProjectFile reads root's .aegir.yml; nil when there is none.
func readProjectFile(root string) (*aegir.ProjectFile, error) {
	data, err := os.ReadFile(filepath.Join(root, aegir.ProjectFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return aegir.ParseProjectFile(data)
}

// runProjectCommands runs the commands of a project file's list in the platform's
// root, each within the file's timeout, as the site's own user when its
// server gives sites their own pools (through sudo, as the back end reaches
// every site user), else as the back end's user. Each command and its
// output go to the task's log; the site's name and directory are in the
// environment, its database password is not.
func (t *run) runProjectCommands(ctx context.Context, s *siteEnv, list string, cmds [][]string, f *aegir.ProjectFile) error {
	for i, args := range cmds {
		argv := args
		if u := s.phpUser(); u != "" {
			argv = append([]string{"sudo", "-n", "-u", u, "--"}, args...)
		}
		t.log.Infof("%s hook %d: %q", list, i+1, args)
		hctx, cancel := context.WithTimeout(ctx, f.Timeout)
		out, err := t.b.Runner.Run(hctx, aegir.Command{
			Args: argv, Dir: s.platform.root,
			Env: []string{"AEGIR_SITE=" + s.site.URI, "AEGIR_SITE_DIR=" + s.siteDir(), "AEGIR_URL=" + s.url()},
		})
		timedOut := hctx.Err() != nil
		cancel()
		if o := strings.TrimSpace(string(out)); o != "" {
			t.log.Infof("%s", o)
		}
		if err != nil {
			if timedOut {
				err = fmt.Errorf("timed out after %s", f.Timeout)
			}
			return aegir.Errorf(aegir.EINVALID, "%s hook %q failed: %v", list, args, err)
		}
	}
	return nil
}
