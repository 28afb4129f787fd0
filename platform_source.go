package aegir

import (
	"context"
	"net/url"
	"regexp"
	"strings"
)

// BuildLockFile is the file, in a built platform's root, that records what
// its build fetched (exact commits, checksums, composer.lock), which a
// rebuild follows to make the same tree again.
const BuildLockFile = ".aegir-build.lock.json"

// DefaultUpdateURL is where drupal.org serves its release history.
const DefaultUpdateURL = "https://updates.drupal.org/release-history"

// Platform source kinds, as PlatformBuilder and the build lock name them.
const (
	SourceMakefile = "makefile"
	SourceGit      = "git"
	SourceComposer = "composer"
)

// PlatformBuilder builds a platform's codebase from its source.
type PlatformBuilder interface {
	// Build writes the codebase that p's source describes into dir, which
	// exists and is empty, with BuildLockFile inside it. lock, when not
	// nil, is an earlier build's lock file, whose commits and checksums it
	// follows. Progress goes to log, a line per project fetched or patched.
	// On error dir holds a partial tree, which the caller removes.
	Build(ctx context.Context, p *Platform, dir string, lock []byte, log *TaskLog) error
}

// SourceKind names the platform's source, or "" when it has none.
func (p *Platform) SourceKind() string {
	switch {
	case p.Makefile != "":
		return SourceMakefile
	case p.GitURL != "":
		return SourceGit
	case p.Composer != "":
		return SourceComposer
	}
	return ""
}

// validateSource checks the source properties: one source at most, each
// in a form that reaches git, an HTTP client or a path safely.
func (p *Platform) validateSource() error {
	n := 0
	for _, v := range []string{p.Makefile, p.GitURL, p.Composer} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return FieldErrorf("makefile", "give one source of makefile, git_url and composer, not %d", n)
	}
	if p.Makefile != "" {
		if err := ValidateFetchURL("makefile", p.Makefile); err != nil {
			return err
		}
	}
	if p.GitURL != "" {
		if err := ValidateGitURL("git_url", p.GitURL); err != nil {
			return err
		}
	}
	if p.Composer != "" && !isAbs(p.Composer) {
		if err := ValidateGitURL("composer", p.Composer); err != nil {
			return FieldErrorf("composer", "%q is neither an absolute directory nor a git repository URL", p.Composer)
		}
	}
	if p.GitRef != "" {
		if p.GitURL == "" && (p.Composer == "" || isAbs(p.Composer)) {
			return FieldErrorf("git_ref", "needs a git repository in git_url or composer")
		}
		if err := ValidateGitRef("git_ref", p.GitRef); err != nil {
			return err
		}
	}
	if p.UpdateURL != "" {
		if err := ValidateFetchURL("update_url", p.UpdateURL); err != nil {
			return err
		}
		if isAbs(p.UpdateURL) {
			return FieldErrorf("update_url", "%q must be an http, https or file URL", p.UpdateURL)
		}
	}
	return nil
}

var (
	// scpLike is git's [user@]host:path form of an ssh URL.
	scpLike = regexp.MustCompile(`^([A-Za-z0-9_][A-Za-z0-9._-]*@)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[^:\-][^:]*$`)
	// gitRef is what a branch, tag or commit may look like: git's own
	// rules (git check-ref-format) narrowed to a safe alphabet.
	gitRef = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/+-]*$`)
)

// ValidateGitURL checks a git repository's URL: https, ssh (ssh:// or
// scp-like user@host:path) or file, or an absolute path. Other transports
// (ext::, fd::, a helper's "x::") and anything git could read as an option
// are refused: a URL reaches git's command line.
func ValidateGitURL(field, s string) error {
	if err := safeText(field, s); err != nil {
		return err
	}
	if strings.Contains(s, "::") {
		return FieldErrorf(field, "%q: git transports (x::address) are not allowed", s)
	}
	if isAbs(s) {
		return nil
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && strings.Contains(s, "://") {
		if _, ok := u.User.Password(); ok {
			return noPassword(field)
		}
		switch u.Scheme {
		case "https", "ssh":
			if u.Host == "" || strings.HasPrefix(u.Host, "-") || strings.HasPrefix(u.User.Username(), "-") {
				return FieldErrorf(field, "%q has no host", s)
			}
			return nil
		case "file":
			if u.Host != "" || !isAbs(u.Path) {
				return FieldErrorf(field, "%q: a file URL needs an absolute path (file:///...)", s)
			}
			return nil
		}
		return FieldErrorf(field, "%q: scheme %s is not allowed (https, ssh, file)", s, u.Scheme)
	}
	if scpLike.MatchString(s) {
		return nil
	}
	return FieldErrorf(field, "%q is not an https, ssh or file URL of a git repository", s)
}

// ValidateGitRef checks a branch, tag or commit name.
func ValidateGitRef(field, s string) error {
	if err := safeText(field, s); err != nil {
		return err
	}
	if len(s) > 255 || !gitRef.MatchString(s) || strings.Contains(s, "..") || strings.HasSuffix(s, ".lock") ||
		strings.HasSuffix(s, "/") || strings.HasSuffix(s, ".") || strings.Contains(s, "//") {
		return FieldErrorf(field, "%q is not a branch, tag or commit name", s)
	}
	return nil
}

// ValidateFetchURL checks where a build reads a file: an absolute path, or
// an http, https or file URL.
func ValidateFetchURL(field, s string) error {
	if err := safeText(field, s); err != nil {
		return err
	}
	if isAbs(s) {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return FieldErrorf(field, "%q is not a URL: %v", s, err)
	}
	if _, ok := u.User.Password(); ok {
		return noPassword(field)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return FieldErrorf(field, "%q has no host", s)
		}
		return nil
	case "file":
		if u.Host != "" || !isAbs(u.Path) {
			return FieldErrorf(field, "%q: a file URL needs an absolute path (file:///...)", s)
		}
		return nil
	}
	return FieldErrorf(field, "%q must be an absolute path or an http, https or file URL", s)
}

// safeText refuses what no URL or ref of ours holds: nothing, a leading
// dash (an option to the command it reaches), spaces and control bytes.
func safeText(field, s string) error {
	switch {
	case s == "":
		return FieldErrorf(field, "is empty")
	case len(s) > 2048:
		return FieldErrorf(field, "is longer than 2048 bytes")
	case strings.HasPrefix(s, "-"):
		return FieldErrorf(field, "%q must not start with '-'", s)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return FieldErrorf(field, "%q holds a space or control character", s)
		}
	}
	return nil
}

// noPassword refuses a URL with a password in it: the URL is stored,
// shown and logged, which a secret never is.
func noPassword(field string) error {
	return FieldErrorf(field, "holds a password; use an ssh key, or a server the back end may read without one")
}
