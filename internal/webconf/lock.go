package webconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/aegir-hosting/aegir"
)

// dirMode is the mode of a configuration directory Lock creates: the web
// server's master process reads it as root, and nobody else lists it.
const dirMode = 0o711

// Lock serialises changes to the configuration in dir, across tasks and
// processes: otherwise one task's broken file could fail another's test,
// and that task would put back its own good file for nothing. It creates
// dir when needed and holds the lock file dir/.lock until unlock.
func Lock(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, ".lock")
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Key names what the changes of one batch share: the configuration
// directory dir and how the server s is tested, reloaded and asked.
func Key(dir string, s *aegir.Server) string {
	return strings.Join([]string{dir, strings.Join(s.HTTPTestCmd, " "), strings.Join(s.HTTPRestartCmd, " "),
		strconv.Itoa(s.HTTPPort), s.RemoteHost}, "\x00")
}
