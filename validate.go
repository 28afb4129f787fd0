package aegir

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

var (
	wordPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	emailPattern = regexp.MustCompile(`^[^\s\x00-\x1f\x7f@"'<>;\\]+@[a-z0-9.-]+\.[a-z]{2,}$`)
)

func validateWord(field, v string) error {
	if v != "" && !wordPattern.MatchString(v) {
		return FieldErrorf(field, "%q may hold only letters, digits, '_' and '-'", v)
	}
	return nil
}

// isAbs reports whether p is a clean absolute path without control
// characters: a newline in a path would end a line of whatever
// configuration file or log line it is written into.
func isAbs(p string) bool {
	return filepath.IsAbs(p) && filepath.Clean(p) == p && !hasControl(p)
}

// hasControl reports whether s holds a control character.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// interpreters run whatever their arguments tell them to: a command-valued
// property (a web server's test or reload command) never names one, even
// behind sudo.
var interpreters = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true, "csh": true, "tcsh": true,
	"fish": true, "busybox": true, "env": true, "xargs": true, "nohup": true, "timeout": true, "nice": true,
	"ionice": true, "setsid": true, "stdbuf": true, "chroot": true, "find": true, "awk": true, "gawk": true,
	"mawk": true, "sed": true, "perl": true, "python": true, "ruby": true, "node": true, "nodejs": true,
	"lua": true, "tclsh": true, "expect": true, "su": true, "sudo": true, "doas": true, "runuser": true,
	"script": true, "ssh": true, "php": true, "vim": true, "vi": true, "less": true, "git": true, "tar": true,
}

// programPattern is a program named on its own: a bare name looked up on
// PATH.
var programPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// ValidateCommand checks a command-valued property, an argument vector run
// as the aegir user (or as root through "sudo -n"): its program is a bare
// name or a clean absolute path, and no interpreter or wrapper that would
// run other code (a shell, env, a scripting language); no argument holds a
// control character. An empty command is valid (the default is used).
func ValidateCommand(field string, argv []string) error {
	if len(argv) == 0 {
		return nil
	}
	for _, a := range argv {
		if a == "" || hasControl(a) {
			return FieldErrorf(field, "%q: every argument must be non-empty, without control characters", a)
		}
	}
	prog := argv
	if prog[0] == "sudo" {
		// Only "sudo -n PROGRAM ...": no other option of sudo's, which
		// could pick another user or run a shell.
		if len(prog) < 3 || prog[1] != "-n" {
			return FieldErrorf(field, "sudo may only be used as \"sudo -n PROGRAM ...\"")
		}
		prog = prog[2:]
	}
	name := prog[0]
	if !programPattern.MatchString(name) && !isAbs(name) {
		return FieldErrorf(field, "%q must be a program name or a clean absolute path", name)
	}
	base := strings.TrimRight(strings.ToLower(filepath.Base(name)), "0123456789.")
	if interpreters[base] {
		return FieldErrorf(field, "%q runs whatever its arguments say: name the web server's own test or reload program", name)
	}
	// start-stop-daemon signals the web server (--stop); started, it
	// would run any program.
	if base == "start-stop-daemon" && (slices.Contains(prog, "--start") || slices.Contains(prog, "-S")) {
		return FieldErrorf(field, "start-stop-daemon may only --stop (signal) a process here, not start one")
	}
	return nil
}
