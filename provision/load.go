package provision

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// checkLoad refuses a heavy task (aegir.TaskType.Heavy) while the load average is above the
// backend's limit (no limit when LoadLimit is zero).
func (b *Backend) checkLoad(task string) error {
	if b.LoadLimit <= 0 || !aegir.IsHeavy(task) {
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
