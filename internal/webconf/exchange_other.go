//go:build !linux

package webconf

import "errors"

// exchange is not available here: the caller renames.
func exchange(a, b string) error { return errors.ErrUnsupported }
