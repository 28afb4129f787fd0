package aegir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ProjectFileName is the file, at the root of a platform's repository,
// that names the commands a deploy of its code and a sync of its data run.
const ProjectFileName = ".aegir.yml"

// Bounds of a project file: it comes from a repository, which anyone who
// can push to it writes.
const (
	maxProjectFile     = 64 << 10
	maxProjectCommands = 32
	maxCommandArgs     = 64
	// DefaultHookTimeout bounds each command of a project file.
	DefaultHookTimeout = 10 * time.Minute
	maxHookTimeout     = time.Hour
)

// ProjectFile is a repository's .aegir.yml:
//
//	deploy:                 # after a deploy-code, in the platform's root
//	  - [drush, cr]
//	  - [php, scripts/after-deploy.php]
//	sanitize:               # after a sync copied a database into an environment
//	  - [php, scripts/sanitize.php]
//	timeout: 5m             # each command's limit (default 10m, at most 1h)
//
// Each command is an argument vector, run without a shell.
type ProjectFile struct {
	Deploy   [][]string    `yaml:"deploy"`
	Sanitize [][]string    `yaml:"sanitize"`
	Timeout  time.Duration `yaml:"timeout"`
}

// ParseProjectFile reads and checks a project file; unknown keys are
// refused, so a misspelt "deploy" is not silently a file of no hooks.
func ParseProjectFile(data []byte) (*ProjectFile, error) {
	if len(data) > maxProjectFile {
		return nil, FieldErrorf(ProjectFileName, "is larger than %d bytes", maxProjectFile)
	}
	var f ProjectFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, FieldErrorf(ProjectFileName, "%v", err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Timeout == 0 {
		f.Timeout = DefaultHookTimeout
	}
	return &f, nil
}

// Validate checks the commands: a bounded number of non-empty argument
// vectors, no NUL or newline in an argument, a program named plainly.
func (f *ProjectFile) Validate() error {
	if f.Timeout < 0 || f.Timeout > maxHookTimeout {
		return FieldErrorf("timeout", "%s is not between 0 and %s", f.Timeout, maxHookTimeout)
	}
	for _, list := range []struct {
		field string
		cmds  [][]string
	}{{"deploy", f.Deploy}, {"sanitize", f.Sanitize}} {
		if len(list.cmds) > maxProjectCommands {
			return FieldErrorf(list.field, "has %d commands, at most %d", len(list.cmds), maxProjectCommands)
		}
		for i, cmd := range list.cmds {
			field := fmt.Sprintf("%s[%d]", list.field, i)
			switch {
			case len(cmd) == 0:
				return FieldErrorf(field, "is an empty command")
			case len(cmd) > maxCommandArgs:
				return FieldErrorf(field, "has %d arguments, at most %d", len(cmd), maxCommandArgs)
			case cmd[0] == "" || strings.HasPrefix(cmd[0], "-"):
				return FieldErrorf(field, "%q is not a program", cmd[0])
			}
			for _, a := range cmd {
				if len(a) > 4096 || strings.ContainsAny(a, "\x00\n\r") {
					return FieldErrorf(field, "an argument holds a NUL or newline, or is longer than 4096 bytes")
				}
			}
		}
	}
	return nil
}
