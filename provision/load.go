package provision

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// heavyTasks are refused when the machine's load is critical, as Aegir
// does: they dump, copy and import whole sites.
var heavyTasks = map[string]bool{
	TaskInstall: true, TaskBackup: true, TaskRestore: true, TaskDeploy: true, TaskMigrate: true, TaskClone: true,
}

// checkLoad refuses a heavy task while the load average is above the
// backend's limit (no limit when LoadLimit is zero).
func (b *Backend) checkLoad(task string) error {
	if b.LoadLimit <= 0 || !heavyTasks[task] {
		return nil
	}
	read := b.LoadAvg
	if read == nil {
		read = LoadAvg
	}
	load, err := read()
	if err != nil {
		return nil // no load figure (not Linux): never block on it
	}
	if load > b.LoadLimit {
		return aegir.Errorf(aegir.ECONFLICT, "the load average is %.1f, above the critical %.1f: %s refused, try again later", load, b.LoadLimit, task)
	}
	return nil
}

// LoadAvg reads the one-minute load average from /proc/loadavg.
func LoadAvg() (float64, error) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, fmt.Errorf("empty /proc/loadavg")
	}
	return strconv.ParseFloat(fields[0], 64)
}
