package teststack

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopTimeout is how long a server has to stop after SIGTERM before it is
// killed; startTimeout how long it has to get ready.
const (
	stopTimeout  = 10 * time.Second
	startTimeout = 15 * time.Second
)

// logTail is how much of the end of each log a failed test shows.
const logTail = 3000

// child is a server running in the foreground as a child of the test.
type child struct {
	name string
	pid  int
	done chan struct{}
	out  *strings.Builder
	// stop ends the server and waits for it; it may be called again.
	stop func()
}

// startChild starts a server in the foreground as a child that dies with
// the test binary, and stops it in t.Cleanup (SIGTERM, then SIGKILL). When
// the test failed, its output and the tails of logs are logged.
func startChild(t testing.TB, logs []string, name string, args ...string) *child {
	t.Helper()
	return startChildWith(t, logs, nil, name, args...)
}

// startChildEnv is startChild with env added to the child's environment
// (secrets a server reads from it rather than from its command line).
func startChildEnv(t testing.TB, env []string, name string, args ...string) *child {
	t.Helper()
	return startChildWith(t, nil, env, name, args...)
}

func startChildWith(t testing.TB, logs, env []string, name string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	c := &child{name: name, done: make(chan struct{}), out: &strings.Builder{}}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	dieWithParent(cmd)
	// Processes the server forks (an sshd's sessions) may hold its output
	// open after it exits; its own exit is what Wait waits for.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	c.pid = cmd.Process.Pid
	go func() { _ = cmd.Wait(); close(c.done) }()
	c.stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-c.done
		}
	}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			if c.out.Len() > 0 {
				t.Logf("%s output:\n%s", name, c.out)
			}
			logTails(t, logs)
		}
	})
	return c
}

// waitForFile waits until path is a socket or a file with something in
// it, failing the test when the child exits or takes too long.
func (c *child) waitForFile(t testing.TB, path string) {
	t.Helper()
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && (fi.Mode()&os.ModeSocket != 0 || fi.Size() > 0) {
			return
		}
		select {
		case <-c.done:
			t.Fatalf("%s exited before %s appeared:\n%s", c.name, path, c.out)
		default:
		}
	}
	t.Fatalf("%s did not appear within %v", path, startTimeout)
}

// logTails logs the last logTail bytes of each log that has anything in it.
func logTails(t testing.TB, logs []string) {
	for _, log := range logs {
		data, err := os.ReadFile(log)
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > logTail {
			data = data[len(data)-logTail:]
		}
		t.Logf("%s:\n%s", log, data)
	}
}

// Require skips t unless every program is installed (on PATH).
func Require(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			Missing(t, "%s is not installed", p)
		}
	}
}

// killDescendants kills with SIGKILL every process descended from pid, but
// pid itself: the sessions a server forked, which outlive its own exit.
func killDescendants(pid int) {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 {
			if pp, err := strconv.Atoi(fields[1]); err == nil {
				parent[p] = pp
			}
		}
	}
	for p := range parent {
		for a := parent[p]; a > 1; a = parent[a] {
			if a == pid {
				_ = syscall.Kill(p, syscall.SIGKILL)
				break
			}
		}
	}
}
