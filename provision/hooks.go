package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aegir-hosting/aegir"
)

// DefaultHookTimeout bounds one hook's run when Backend.HookTimeout is
// zero.
const DefaultHookTimeout = time.Minute

// Hook stages: a pre hook runs before a task's first step and a failing
// one aborts the task; a post hook runs after the task succeeded and a
// failing one is a warning.
const (
	hookPre  = "pre"
	hookPost = "post"
)

// hookInput is what a hook reads on its standard input, as JSON.
type hookInput struct {
	Task    string `json:"task"`
	Stage   string `json:"stage"`
	Context string `json:"context"` // the context the task runs on, @name
	// Contexts are that context and those it names (a site's platform
	// and servers, a platform's server), without secrets.
	Contexts []hookContext `json:"contexts"`
}

type hookContext struct {
	Name       string         `json:"name"`
	Type       string         `json:"context_type"`
	Properties map[string]any `json:"properties"`
}

// hooks returns the executables of one stage of task, in name order,
// after checking that no one but the back end's user and root could have
// put or changed them: the directories and the files are owned by one of
// them and writable by no one else. A hook refused is an error naming it.
func (b *Backend) hooks(task, stage string) ([]string, error) {
	dir := filepath.Join(b.Paths.Hooks(), task, stage+".d")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("hooks: %w", err)
	}
	for _, d := range []string{b.Paths.Hooks(), filepath.Dir(dir), dir} {
		if err := checkHookOwner(d, true); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), "~") {
			continue // editors' and dotfiles
		}
		path := filepath.Join(dir, e.Name())
		if err := checkHookOwner(path, false); err != nil {
			return nil, err
		}
		out = append(out, path)
	}
	slices.Sort(out)
	return out, nil
}

// checkHookOwner refuses a hook (or a directory holding hooks) that
// someone other than this process's user or root owns or may write, or a
// hook that is not an executable regular file (a symbolic link could
// point anywhere).
func checkHookOwner(path string, isDir bool) error {
	st, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("hook %s: %w", path, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return aegir.Errorf(aegir.EINTERNAL, "hook %s: cannot read its owner", path)
	}
	switch {
	case isDir && !st.IsDir():
		return aegir.Errorf(aegir.EINVALID, "hook directory %s is not a directory", path)
	case !isDir && !st.Mode().IsRegular():
		return aegir.Errorf(aegir.EINVALID, "hook %s is not a regular file (symbolic links are refused)", path)
	case !isDir && st.Mode().Perm()&0o100 == 0:
		return aegir.Errorf(aegir.EINVALID, "hook %s is not executable by its owner (chmod 0755 it)", path)
	case sys.Uid != 0 && int(sys.Uid) != os.Geteuid():
		return aegir.Errorf(aegir.EINVALID, "hook %s is owned by uid %d: only the aegir user (uid %d) or root may own hooks", path, sys.Uid, os.Geteuid())
	case st.Mode().Perm()&0o022 != 0:
		return aegir.Errorf(aegir.EINVALID, "hook %s is writable by its group or others (mode %#o): chmod go-w it", path, st.Mode().Perm())
	}
	return nil
}

// runHooks runs the hooks of one stage of the task on c, each with the
// task and its contexts as JSON on its standard input, within the hook
// timeout; their output goes to the task log. It returns the first
// failure; a pre hook's failure aborts the task, a post hook's the caller
// logs as a warning.
func (t *run) runHooks(ctx context.Context, task, stage string, c *aegir.Context) error {
	hooks, err := t.b.hooks(task, stage)
	if err != nil || len(hooks) == 0 {
		return err
	}
	input, err := json.Marshal(t.hookInput(ctx, task, stage, c))
	if err != nil {
		return err
	}
	timeout := t.b.HookTimeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	for _, h := range hooks {
		hctx, cancel := context.WithTimeout(ctx, timeout)
		out, err := t.b.Runner.Run(hctx, aegir.Command{
			Args: []string{h}, Dir: t.b.Paths.Home, Stdin: bytes.NewReader(input),
			Env: []string{"AEGIR_TASK=" + task, "AEGIR_HOOK_STAGE=" + stage, "AEGIR_CONTEXT=@" + c.Name},
		})
		timedOut := hctx.Err() == context.DeadlineExceeded
		cancel()
		if text := strings.TrimSpace(string(out)); text != "" {
			t.log.Infof("%s hook %s: %s", stage, filepath.Base(h), text)
		}
		if timedOut {
			return fmt.Errorf("%s hook %s did not finish within %s", stage, h, timeout)
		}
		if err != nil {
			return fmt.Errorf("%s hook %s failed: %w", stage, h, err)
		}
		t.log.Infof("%s hook %s ran", stage, filepath.Base(h))
	}
	return nil
}

// hookInput returns what the hooks of task get: c and the contexts it
// names, one level down (a site's platform and db server, then the
// platform's web server), without their secrets.
func (t *run) hookInput(ctx context.Context, task, stage string, c *aegir.Context) hookInput {
	in := hookInput{Task: task, Stage: stage, Context: "@" + c.Name}
	seen := map[string]bool{}
	queue := []*aegir.Context{c}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur.Name] {
			continue
		}
		seen[cur.Name] = true
		in.Contexts = append(in.Contexts, hookContext{Name: "@" + cur.Name, Type: string(cur.Type), Properties: cur.SetProperties("")})
		for _, ref := range cur.WithDefaults().References() {
			if ref.Name == "" || seen[aegir.ContextName(ref.Name)] {
				continue
			}
			if next, err := t.b.Contexts.Get(ctx, aegir.ContextName(ref.Name)); err == nil {
				queue = append(queue, next)
			}
		}
	}
	return in
}
