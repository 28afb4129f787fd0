package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// state is what a failed task must leave as it found: files of the
// contexts, the web server configuration, the sites and the backups, and
// the databases and users.
type state struct {
	files      map[string]string
	dbs, users []string
}

func (s *stack) state(roots ...string) state {
	s.t.Helper()
	dirs := []string{filepath.Join(s.home, "contexts"), filepath.Join(s.home, "config"), filepath.Join(s.home, "backups")}
	for _, r := range roots {
		dirs = append(dirs, filepath.Join(r, "sites"))
	}
	dbs, users := s.databases()
	return state{files: snapshotFiles(s.t, dirs...), dbs: dbs, users: users}
}

func (a state) diff(b state) string {
	var out []string
	for k, v := range a.files {
		if w, ok := b.files[k]; !ok {
			out = append(out, "gone: "+k)
		} else if w != v {
			out = append(out, "changed: "+k)
		}
	}
	for k := range b.files {
		if _, ok := a.files[k]; !ok {
			out = append(out, "new: "+k)
		}
	}
	if !slices.Equal(a.dbs, b.dbs) {
		out = append(out, fmt.Sprintf("databases %v -> %v", a.dbs, b.dbs))
	}
	if !slices.Equal(a.users, b.users) {
		out = append(out, fmt.Sprintf("users %v -> %v", a.users, b.users))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// taskSteps lists the steps of each task, which the rollback test fails
// one after the other.
var taskSteps = map[string][]string{
	"restore": {"dump database", "archive", "remove dump", "unpack", "database", "import", "swap in",
		"site directory", "settings", "permissions", "package check", "update database", "rewrite uri", "vhost", "context", "packages", "remove old copy"},
	"migrate": {"package check", "dump database", "archive", "remove dump", "choose backup", "unpack", "database", "import",
		"swap in", "site directory", "settings", "permissions", "update database", "rewrite uri", "vhost",
		"context", "packages", "remove old vhost", "remove old context", "set aside old site directory", "remove old copy"},
	"clone": {"package check", "dump database", "archive", "remove dump", "choose backup", "unpack", "database", "import",
		"swap in", "site directory", "settings", "permissions", "update database", "rewrite uri", "vhost", "context", "packages"},
}

// TestFailedTasksLeaveEverythingAsItWas injects a failure at each step of
// restore, migrate (with a rename, and without, which keeps the site's
// database) and clone in turn, and checks that the
// files, databases, users and vhosts are exactly as before and the site
// still serves its content.
func TestFailedTasksLeaveEverythingAsItWas(t *testing.T) {
	s := newStack(t)
	s.setup()
	wpRoot := s.platform("wp", "/usr/share/wordpress")
	wp2Root := s.platform("wpnew", "/usr/share/wordpress")
	uri := "rb." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+uri)
	marker := "rollback-" + s.token
	post := s.wpPost(wpRoot, uri, marker)
	backup := fmt.Sprint(s.mustTask("backup", "@"+uri).Data["backup_file"])

	cases := []struct {
		task string
		args []string
	}{
		{"restore", []string{"@" + uri, backup}},
		{"migrate", []string{"@" + uri, "@platform_wpnew", "moved." + s.token + ".test"}},
		// Under its own name between alike codebases: the site keeps its
		// database (issue 15).
		{"migrate", []string{"@" + uri, "@platform_wpnew"}},
		{"clone", []string{"@" + uri, "twin." + s.token + ".test"}},
	}
	for _, tc := range cases {
		steps := taskSteps[tc.task]
		// Each step name once: a repeated one fails at its first use.
		seen := map[string]bool{}
		for _, step := range steps {
			if seen[step] {
				continue
			}
			seen[step] = true
			before := s.state(wpRoot, wp2Root)
			r, err := s.task(append([]string{tc.task}, append(tc.args, "--fail_at", step)...)...)
			if err == nil || r.Status != "failed" {
				t.Fatalf("%s failing at %q: err %v status %s", tc.task, step, err, r.Status)
			}
			if d := before.diff(s.state(wpRoot, wp2Root)); d != "" {
				t.Fatalf("%s failing at %q changed things:\n%s\nlog: %+v", tc.task, step, d, r.Log)
			}
			if code, body := s.get(s.url(uri, "/?p="+post)); code != 200 || !strings.Contains(body, marker) {
				t.Fatalf("%s %v failing at %q: the site answers %d:\n%.300s\nlog: %+v", tc.task, tc.args, step, code, body, r.Log)
			}
		}
	}
	// And each task still succeeds afterwards.
	s.mustTask("clone", "@"+uri, "twin."+s.token+".test")
	s.mustServe(s.url("twin."+s.token+".test", "/?p="+post), marker)
}

// TestRestoreRefusesAMaliciousBackup shows a tarball with entries that
// escape the site directory is refused before anything is touched.
func TestRestoreRefusesAMaliciousBackup(t *testing.T) {
	s := newStack(t)
	s.setup()
	wpRoot := s.platform("wp", "/usr/share/wordpress")
	uri := "evil." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+uri)
	for name, entries := range map[string][]tarEntry{
		"dotdot":   {{name: "./database.sql", body: "SELECT 1;"}, {name: "../../../evil.php", body: "<?php"}},
		"absolute": {{name: "./database.sql", body: "SELECT 1;"}, {name: "/tmp/evil-" + s.token, body: "x"}},
		"symlink":  {{name: "./database.sql", body: "SELECT 1;"}, {name: "./files/link", link: "/etc"}, {name: "./files/link/evil", body: "x"}},
	} {
		file := filepath.Join(s.dir, name+".tar.gz")
		writeTarGz(t, file, entries)
		before := s.state(wpRoot)
		r, err := s.task("restore", "@"+uri, file)
		if err == nil {
			t.Fatalf("%s: restore accepted a malicious backup", name)
		}
		if !strings.Contains(fmt.Sprint(r.Log), "evil") && !strings.Contains(fmt.Sprint(r.Log), "link") {
			t.Errorf("%s: the error does not name the entry: %+v", name, r.Log)
		}
		if d := before.diff(s.state(wpRoot)); d != "" {
			t.Fatalf("%s: a refused restore changed things:\n%s", name, d)
		}
		if _, err := os.Stat("/tmp/evil-" + s.token); err == nil {
			t.Fatalf("%s: a file was written outside the site", name)
		}
	}
	s.mustServe(s.url(uri, "/"), uri)
}
