package hosting_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// TestPlatformRootMustExistOnALocalServer: a platform on this machine's
// web server names a directory that is there, unless a source builds it;
// the refusal names the field root, so that a form shows it beside the
// field instead of a failed platform. Roots on remote servers are left to
// the platform's verify.
func TestPlatformRootMustExistOnALocalServer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.svc.StatLocal = nil // os.Stat
	ctx := t.Context()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o644))
	create := func(name, root string, props map[string]string) error {
		in := hosting.PlatformInput{Name: name, Props: map[string]string{"root": root}}
		for k, v := range props {
			in.Props[k] = v
		}
		_, _, err := b.svc.CreatePlatform(ctx, in, "test")
		return err
	}
	missing := filepath.Join(dir, "missing")
	err := create("platform_missing", missing, nil)
	wantCode(t, err, aegir.EINVALID, "root")
	if !strings.Contains(err.Error(), missing+" does not exist on @server_master") {
		t.Errorf("message: %v", err)
	}
	if _, err := b.store.GetPlatform(ctx, "platform_missing"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("a refused platform was recorded: %v", err)
	}
	wantCode(t, create("platform_file", file, nil), aegir.EINVALID, "root")
	must(t, create("platform_here", dir, nil))
	must(t, create("platform_built", missing, map[string]string{"makefile": "https://example.com/codebase.make"}))
	must(t, create("platform_git", filepath.Join(dir, "git"), map[string]string{"git_url": "https://example.com/code.git", "git_ref": "v1"}))
	must(t, create("platform_composer", filepath.Join(dir, "composer"), map[string]string{"composer": "/srv/projects/app"}))
	// A source that would reach git as an option is refused, naming its field.
	wantCode(t, create("platform_evil", filepath.Join(dir, "evil"), map[string]string{"git_url": "--upload-pack=touch /tmp/x"}), aegir.EINVALID, "git_url")
	wantCode(t, create("platform_evil", filepath.Join(dir, "evil"), map[string]string{"git_url": "ext::sh -c id"}), aegir.EINVALID, "git_url")

	// A change of root is checked too.
	_, _, err = b.svc.UpdatePlatform(ctx, "platform_here", hosting.PlatformInput{Props: map[string]string{"root": filepath.Join(dir, "gone")}}, "test")
	wantCode(t, err, aegir.EINVALID, "root")

	// A remote web server's roots are not on this machine.
	_, _, err = b.svc.CreateServer(ctx, hosting.ServerInput{Name: "server_web1", Props: map[string]string{"remote_host": "web1.example.com"}}, hosting.Actor{Name: "test"})
	must(t, err)
	must(t, create("platform_remote", "/srv/nowhere/here", map[string]string{"web_server": "@server_web1"}))
}
