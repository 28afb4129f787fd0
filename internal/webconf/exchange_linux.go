//go:build linux

package webconf

import "golang.org/x/sys/unix"

// exchange swaps the files at a and b atomically (renameat2 with
// RENAME_EXCHANGE). It fails on file systems that cannot, and the caller
// then renames.
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
