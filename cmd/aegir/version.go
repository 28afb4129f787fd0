package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionCommand prints the version of this binary, and what it was built
// from.
func (m *Main) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "version",
		Short:             "print the version of this binary",
		Args:              takes(0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			fmt.Fprintf(m.Stdout, "aegir version %s\n", versionOf(info))
			if rev := buildSetting(info, "vcs.revision"); rev != "" {
				fmt.Fprintf(m.Stdout, "commit %s", rev)
				if t := buildSetting(info, "vcs.time"); t != "" {
					fmt.Fprintf(m.Stdout, " of %s", t)
				}
				if buildSetting(info, "vcs.modified") == "true" {
					fmt.Fprint(m.Stdout, ", with uncommitted changes")
				}
				fmt.Fprintln(m.Stdout)
			}
			fmt.Fprintf(m.Stdout, "built with %s for %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// buildVersion is this binary's version (aegir --version), from what the
// go command stamped into it: the module's version when it was installed
// as a module (go install .../cmd/aegir@v1.2.0), or a pseudo-version of
// the commit and its time when it was built in a clone (-buildvcs, on by
// default; "+dirty" with uncommitted changes). Where the go command stamps
// neither (go run, a git worktree, -buildvcs=false) it is "devel".
func buildVersion() string {
	info, _ := debug.ReadBuildInfo()
	return versionOf(info)
}

// versionOf is the version a binary's build information gives: its
// module's version, else "devel" and the commit it was built from, else
// "devel".
func versionOf(info *debug.BuildInfo) string {
	if info == nil {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev := buildSetting(info, "vcs.revision")
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case rev == "":
		return "devel"
	case buildSetting(info, "vcs.modified") == "true":
		return "devel-" + rev + "-dirty"
	}
	return "devel-" + rev
}

// buildSetting returns one setting of the build (vcs.revision, vcs.time,
// vcs.modified), or "".
func buildSetting(info *debug.BuildInfo, key string) string {
	if info == nil {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}
