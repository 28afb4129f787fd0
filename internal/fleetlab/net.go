//go:build linux

package fleetlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Names every fleet's kernel objects and files start with, so leftovers of
// a killed test can be found and told apart from anything else.
const (
	bridgePrefix = "aegfl"  // bridge aegfl<N>, N = the fleet's subnet 10.213.N.0/24
	vethPrefix   = "afl"    // host end of a server's veth: afl<N>-<i>
	netnsPrefix  = "aegfl-" // netns aegfl-<owner pid>-<N>-<server name>
	aliasPrefix  = "aegir-fleetlab pid="
	subnetBase   = "10.213."
)

// baseDir holds every fleet's files: <pid>-<N>/ per fleet and
// <pid>-dbtemplate per test process.
var baseDir = filepath.Join(os.TempDir(), "aegir-fleetlab")

// run runs a host command and returns its error with its output.
func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// allocBridge creates the bridge of a new fleet with the first subnet
// 10.213.N.0/24 (N ≥ 1; 0 is the hand-run recipe's) that no interface of
// the host uses and no other fleet holds: creating the bridge by its name
// is the lock, atomic across processes. The bridge's alias names the
// owning pid, so a later Start can remove it once that process is dead.
func allocBridge() (n int, err error) {
	addrs, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		return 0, fmt.Errorf("ip addr show: %v", err)
	}
	for n = 1; n < 255; n++ {
		if strings.Contains(string(addrs), fmt.Sprintf(" %s%d.", subnetBase, n)) {
			continue
		}
		br := fmt.Sprintf("%s%d", bridgePrefix, n)
		if exec.Command("ip", "link", "add", br, "type", "bridge").Run() != nil {
			continue // taken by another fleet, maybe in another process
		}
		for _, args := range [][]string{
			{"ip", "link", "set", "dev", br, "alias", aliasPrefix + strconv.Itoa(os.Getpid())},
			{"ip", "addr", "add", fmt.Sprintf("%s%d.1/24", subnetBase, n), "dev", br},
			{"ip", "link", "set", br, "up"},
		} {
			if err := run(args...); err != nil {
				_ = run("ip", "link", "del", br)
				return 0, err
			}
		}
		removeStopRoutes(n)
		return n, nil
	}
	return 0, errors.New("no free subnet 10.213.N.0/24 for a fleet bridge")
}

// removeStopRoutes removes the routes Server.Stop adds in subnet N that a
// killed test left: the subnet is this fleet's now.
func removeStopRoutes(n int) {
	out, err := exec.Command("ip", "route", "show", "type", "unreachable").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.HasPrefix(f[1], fmt.Sprintf("%s%d.", subnetBase, n)) {
			_ = run("ip", "route", "del", "unreachable", f[1])
		}
	}
}

// removeLeftovers removes what fleets of dead processes left behind (a test
// binary killed before its cleanup): their processes, namespaces, veths,
// bridges and files. What live processes own is not touched.
func removeLeftovers() {
	// Processes first, then veths (with their bridges: a veth can outlive
	// its namespace's name, and deleting it is synchronous), then the
	// namespaces' names.
	var dead []string
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			name := e.Name()
			rest, ours := strings.CutPrefix(name, netnsPrefix)
			pid, ok := ownerPid(rest)
			if !ours || !ok || alive(pid) {
				continue
			}
			if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
				for _, f := range strings.Fields(string(out)) {
					if p, err := strconv.Atoi(f); err == nil {
						_ = syscall.Kill(p, syscall.SIGKILL)
					}
				}
			}
			dead = append(dead, name)
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show", "type", "bridge").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || !strings.HasPrefix(f[1], bridgePrefix) {
				continue
			}
			br := strings.TrimSuffix(f[1], ":")
			i := strings.Index(line, "alias "+aliasPrefix)
			if i < 0 {
				continue // being set up right now, or not ours
			}
			pid, err := strconv.Atoi(strings.Fields(line[i+len("alias "+aliasPrefix):])[0])
			if err != nil || alive(pid) {
				continue
			}
			deleteBridge(br)
		}
	}
	for _, name := range dead {
		_ = run("ip", "netns", "del", name)
	}
	if entries, err := os.ReadDir(baseDir); err == nil {
		for _, e := range entries {
			if pid, ok := ownerPid(e.Name()); ok && !alive(pid) {
				_ = os.RemoveAll(filepath.Join(baseDir, e.Name()))
			}
		}
	}
}

// ownerPid parses the pid a name starts with ("<pid>-...").
func ownerPid(name string) (int, bool) {
	head, _, _ := strings.Cut(name, "-")
	pid, err := strconv.Atoi(head)
	return pid, err == nil && pid > 0
}

// deleteBridge deletes a bridge and the veths on it: a veth can outlive
// its namespace's name while a half-closed TCP socket in it retransmits.
func deleteBridge(br string) {
	if out, err := exec.Command("ip", "-o", "link", "show", "master", br).Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 2 {
				name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
				_ = run("ip", "link", "del", name)
			}
		}
	}
	_ = run("ip", "link", "del", br)
}
