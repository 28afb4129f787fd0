//go:build !linux

package teststack

import "os/exec"

// dieWithParent does nothing where the kernel cannot kill a child with its
// parent: t.Cleanup still stops it.
func dieWithParent(*exec.Cmd) {}
