package siteuser

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aegir-hosting/aegir"
)

// Local manages site users in this process, as root.
type Local struct {
	// Caller is the uid of the user on whose behalf Local acts (the aegir
	// user that ran sudo): Own only touches directories it owns.
	Caller int
	// Warnf reports what Own leaves alone; nil drops it.
	Warnf func(format string, args ...any)
}

// run runs a system command with a fixed argument vector.
func run(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// validUser checks a system user name given for the web server.
func validUser(field, name string) error {
	if err := aegir.ValidateName(field, name); err != nil || strings.ContainsAny(name, ".") {
		return aegir.FieldErrorf(field, "%q is not a user name", name)
	}
	return nil
}

// Ensure creates the site user name with its own group when missing, and
// adds webUser to that group. An existing user whose primary group is not
// its own is refused: it was not made here.
func (l Local) Ensure(ctx context.Context, name, webUser string) (bool, error) {
	if err := aegir.ValidateSiteUser("name", name); err != nil {
		return false, err
	}
	if err := validUser("web_user", webUser); err != nil {
		return false, err
	}
	created := false
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	switch {
	case errors.As(err, &unknown):
		// Not --system: Debian keeps fewer than 900 system ids (100-999),
		// and a server hosts thousands of sites; ordinary ids go from
		// UID_MIN to UID_MAX of /etc/login.defs (1000-60000).
		if err := run(ctx, "useradd", "--user-group", "--no-create-home", "--no-log-init",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name); err != nil {
			return false, err
		}
		created = true
		if u, err = user.Lookup(name); err != nil {
			return true, err
		}
	case err != nil:
		return false, err
	}
	g, err := user.LookupGroup(name)
	if err != nil || g.Gid != u.Gid {
		return created, aegir.Errorf(aegir.ECONFLICT, "user %s exists without a group of its own: not a site user", name)
	}
	w, err := user.Lookup(webUser)
	if err != nil {
		return created, aegir.FieldErrorf("web_user", "%v", err)
	}
	gids, err := w.GroupIds()
	if err != nil {
		return created, err
	}
	if !slices.Contains(gids, g.Gid) {
		if err := run(ctx, "usermod", "--append", "--groups", name, webUser); err != nil {
			return created, err
		}
	}
	return created, nil
}

// Remove removes the site user name and its group; a missing one is not
// an error.
func (l Local) Remove(ctx context.Context, name string) error {
	if err := aegir.ValidateSiteUser("name", name); err != nil {
		return err
	}
	var unknown user.UnknownUserError
	if _, err := user.Lookup(name); err == nil {
		// The workers of a pool just removed may outlive php-fpm's reload
		// by a moment, and userdel refuses a user whose processes run.
		err := run(ctx, "userdel", name)
		for i := 0; err != nil && strings.Contains(err.Error(), "currently used by process") && i < 50; i++ {
			time.Sleep(100 * time.Millisecond)
			err = run(ctx, "userdel", name)
		}
		if err != nil {
			return err
		}
	} else if !errors.As(err, &unknown) {
		return err
	}
	var unknownGroup user.UnknownGroupError
	if _, err := user.LookupGroup(name); err == nil {
		return run(ctx, "groupdel", name)
	} else if !errors.As(err, &unknownGroup) {
		return err
	}
	return nil
}

// CheckSiteDir reports why dir is not a site directory the caller may
// give to a site user: a clean absolute path sites/<uri> with no symbolic
// link in it, a directory owned by caller.
func CheckSiteDir(dir string, caller int) error {
	root, err := openSiteDir(dir, caller)
	if err != nil {
		return err
	}
	return root.Close()
}

// openSiteDir checks dir as CheckSiteDir says and opens it as an os.Root.
// The directory is opened once, refusing a symbolic link anywhere in its
// path (openat2 RESOLVE_NO_SYMLINKS), and its owner is checked on what was
// opened, so a link swapped in after a check cannot lead elsewhere; and
// nothing below it is reached but through the Root, which no link leaves.
func openSiteDir(dir string, caller int) (*os.Root, error) {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir {
		return nil, aegir.FieldErrorf("dir", "%q is not a clean absolute path", dir)
	}
	// A site's private directory outside the root ($AEGIR_HOME/private/URI)
	// is the site's as much as its directory under the platform is.
	if parent := filepath.Base(filepath.Dir(dir)); parent != "sites" && parent != "private" {
		return nil, aegir.FieldErrorf("dir", "%q is not a site directory (PLATFORM/sites/URI or HOME/private/URI)", dir)
	}
	if err := aegir.ValidateURI("dir", filepath.Base(dir)); err != nil {
		return nil, err
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, dir, &unix.OpenHow{
		Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS,
	})
	if err != nil {
		return nil, aegir.FieldErrorf("dir", "open %s without following links: %v", dir, err)
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if int(st.Uid) != caller {
		return nil, aegir.FieldErrorf("dir", "%q is not a directory of the caller's (uid %d)", dir, caller)
	}
	// The directory just checked, whatever its path holds by now.
	return os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", fd))
}

// Own gives the site directory dir to the caller (aegir, which must be
// able to back it up, copy it and remove it, whoever made its files) and
// the group of the site user name: dir itself 02750 (02770 when "." is
// among the writable directories: a private directory PHP writes into),
// so that only its owner (aegir), the site's PHP and the web server enter
// it; every
// directory and file in it in the group (group readable, directories
// setgid so what is made there stays in it); and the writable directories
// (local paths under dir) 02770 with their files group-writable. Symbolic
// links are left alone, and so are files with several links (one could be
// another's file linked in).
func (l Local) Own(ctx context.Context, name, dir string, writable []string) error {
	if err := aegir.ValidateSiteUser("name", name); err != nil {
		return err
	}
	for _, w := range writable {
		if !filepath.IsLocal(w) {
			return aegir.FieldErrorf("writable", "%q is not a local path", w)
		}
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return err
	}
	root, err := openSiteDir(dir, l.Caller)
	if err != nil {
		return err
	}
	defer root.Close()
	warn := l.Warnf
	if warn == nil {
		warn = func(string, ...any) {}
	}
	inWritable := func(path string) bool {
		for _, w := range writable {
			w = filepath.Clean(w)
			if path == w || strings.HasPrefix(path, w+"/") {
				return true
			}
		}
		return false
	}
	return fs.WalkDir(root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.Type()&fs.ModeSymlink != 0 || !(d.IsDir() || d.Type().IsRegular()) {
			return nil
		}
		info, err := root.Lstat(path)
		if err != nil {
			return err
		}
		st, _ := info.Sys().(*syscall.Stat_t)
		if st == nil || info.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
		if !info.IsDir() && st.Nlink > 1 {
			warn("left %s alone: it has %d links", filepath.Join(dir, path), st.Nlink)
			return nil
		}
		perm := info.Mode().Perm()
		var mode fs.FileMode
		switch {
		case path == "." && !inWritable(path):
			mode = 0o750 | fs.ModeSetgid
		case info.IsDir() && inWritable(path):
			mode = perm | 0o770 | fs.ModeSetgid
		case info.IsDir():
			mode = perm | 0o050 | fs.ModeSetgid
		case inWritable(path):
			mode = perm | 0o660
		default:
			mode = perm | 0o040
		}
		if int(st.Gid) != gid || int(st.Uid) != l.Caller {
			if err := root.Lchown(path, l.Caller, gid); err != nil {
				return err
			}
		}
		if info.Mode()&(fs.ModePerm|fs.ModeSetgid) != mode {
			// Chmod follows a link, but none is there (Lstat above), and
			// one put there meanwhile cannot lead out of the Root.
			return root.Chmod(path, mode)
		}
		return nil
	})
}

// Sudo manages site users through the privileged helper: "sudo -n
// PROGRAM site-user ...", PROGRAM being the aegir binary, which checks
// every argument again as root.
type Sudo struct {
	Runner  aegir.Runner
	Program string
}

func (s Sudo) run(ctx context.Context, args ...string) (string, error) {
	out, err := s.Runner.Run(ctx, aegir.Command{Args: append([]string{"sudo", "-n", s.Program, "site-user"}, args...)})
	return strings.TrimSpace(string(out)), err
}

// Ensure runs "site-user ensure NAME WEB_USER"; the helper prints
// "created" when it made the user.
func (s Sudo) Ensure(ctx context.Context, name, webUser string) (bool, error) {
	out, err := s.run(ctx, "ensure", name, webUser)
	return out == "created", err
}

// Own runs "site-user own NAME DIR [WRITABLE...]".
func (s Sudo) Own(ctx context.Context, name, dir string, writable []string) error {
	_, err := s.run(ctx, append([]string{"own", name, dir}, writable...)...)
	return err
}

// Remove runs "site-user remove NAME".
func (s Sudo) Remove(ctx context.Context, name string) error {
	_, err := s.run(ctx, "remove", name)
	return err
}

var (
	_ aegir.SiteUsers = Local{}
	_ aegir.SiteUsers = Sudo{}
)
