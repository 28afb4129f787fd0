package main

import (
	"bytes"
	"context"
	"testing"
)

// TestSiteUserHelperRefusesCallersAndArgumentsItDoesNotTrust: the helper
// runs only as root, and refuses names that are not site users' and
// directories that are not site directories before doing anything.
func TestSiteUserHelperRefusesCallersAndArgumentsItDoesNotTrust(t *testing.T) {
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "1000" }}
	m.Geteuid = func() int { return 1000 }
	if err := m.Run(context.Background(), []string{"site-user", "remove", "s-0123456789ab"}); err == nil {
		t.Error("site-user ran without root")
	}
	m.Geteuid = func() int { return 0 }
	for _, args := range [][]string{
		{"ensure", "root", "www-data"},
		{"remove", "www-data"},
		{"own", "s-0123456789ab", "/etc"},
		{"own", "s-0123456789ab", "/"},
		{"unknown", "s-0123456789ab"},
		{"ensure", "s-0123456789ab"},
	} {
		if err := m.Run(context.Background(), append([]string{"site-user"}, args...)); err == nil {
			t.Errorf("site-user %v was accepted", args)
		}
	}
}
