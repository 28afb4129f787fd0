package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestNaturalFailuresRollBack provokes real failures, not injected ones: a
// full disk while writing the backup, a target platform whose sites
// directory cannot be written, and a db server that refuses to create a
// database. Each task fails, says why, and leaves everything as it was.
func TestNaturalFailuresRollBack(t *testing.T) {
	s := newStack(t)
	s.setup()
	wpRoot := s.platform("wp", "/usr/share/wordpress")
	wp2Root := s.platform("wpnew", "/usr/share/wordpress")
	uri := "nat." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+uri)
	marker := "natural-" + s.token
	post := s.wpPost(wpRoot, uri, marker)

	expectFailure := func(t *testing.T, want string, args ...string) {
		t.Helper()
		s := s.with(t)
		before := s.state(wpRoot, wp2Root)
		r, err := s.task(args...)
		if err == nil {
			t.Fatalf("%v succeeded", args)
		}
		if !strings.Contains(strings.ToLower(fmt.Sprint(r.Log)), want) {
			t.Fatalf("%v: the log does not say %q: %+v", args, want, r.Log)
		}
		if d := before.diff(s.state(wpRoot, wp2Root)); d != "" {
			t.Fatalf("%v changed things:\n%s", args, d)
		}
		s.mustServe(s.url(uri, "/?p="+post), marker)
	}

	t.Run("disk full while writing the backup", func(t *testing.T) {
		s := s.with(t)
		backups := filepath.Join(s.home, "backups")
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4k,mode=0700", "tmpfs", backups).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a small tmpfs here (%v: %s): the tarball package's own test covers a failing writer", err, out)
		}
		defer exec.Command("umount", backups).Run()
		expectFailure(t, "no space left", "backup", "@"+uri)
		expectFailure(t, "no space left", "migrate", "@"+uri, "@platform_wpnew")
	})

	t.Run("target platform not writable", func(t *testing.T) {
		sites := filepath.Join(wp2Root, "sites")
		if out, err := exec.Command("chattr", "+i", sites).CombinedOutput(); err != nil {
			t.Skipf("cannot make %s immutable here (%v: %s)", sites, err, out)
		}
		defer exec.Command("chattr", "-i", sites).Run()
		expectFailure(t, "operation not permitted", "migrate", "@"+uri, "@platform_wpnew")
	})

	t.Run("db server refuses a new database", func(t *testing.T) {
		s := s.with(t)
		db := teststack.RootDB(t)
		admin := "lim" + s.token
		for _, q := range []string{
			"CREATE USER '" + admin + "'@'127.0.0.1' IDENTIFIED BY 'pw" + s.token + "'",
			"GRANT ALL PRIVILEGES ON *.* TO '" + admin + "'@'127.0.0.1' WITH GRANT OPTION",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { db.Exec("DROP USER '" + admin + "'@'127.0.0.1'") })
		s.mustAegir("save", "@server_db2", "--context_type=server", "--http_service_type=null",
			fmt.Sprintf("--master_db=mysql://%s:pw%s@127.0.0.1:3306", admin, s.token))
		other := "db2." + s.token + ".test"
		s.mustAegir("save", "@"+other, "--context_type=site", "--platform=@platform_wp", "--db_server=@server_db2")
		s.mustTask("install", "@"+other)
		otherPost := s.wpPost(wpRoot, other, marker)
		if _, err := db.Exec("REVOKE CREATE ON *.* FROM '" + admin + "'@'127.0.0.1'"); err != nil {
			t.Fatal(err)
		}
		before := s.state(wpRoot, wp2Root)
		r, err := s.task("clone", "@"+other, "db2copy."+s.token+".test")
		if err == nil || !strings.Contains(strings.ToLower(fmt.Sprint(r.Log)), "denied") {
			t.Fatalf("clone on a db server that refuses CREATE: %v %+v", err, r.Log)
		}
		if d := before.diff(s.state(wpRoot, wp2Root)); d != "" {
			t.Fatalf("a refused clone changed things:\n%s", d)
		}
		s.mustServe(s.url(other, "/?p="+otherPost), marker)
	})
}

// TestBatchMigrateRollsBackOnlyTheBrokenSite migrates ten sites, one of
// them broken (its database was dropped behind aegir's back): nine move,
// the broken one rolls back alone, and the summary names it.
func TestBatchMigrateRollsBackOnlyTheBrokenSite(t *testing.T) {
	s := newStack(t)
	s.setup()
	wpRoot := s.platform("wp", "/usr/share/wordpress")
	wp2Root := s.platform("wpnew", "/usr/share/wordpress")
	var sites []string
	for i := range 10 {
		uri := fmt.Sprintf("b%d.%s.test", i, s.token)
		s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
		s.mustTask("install", "@"+uri)
		sites = append(sites, uri)
	}
	broken := sites[3]
	if _, err := teststack.RootDB(t).Exec("DROP DATABASE `" + str(s.siteContext(broken)["db_name"]) + "`"); err != nil {
		t.Fatal(err)
	}
	r, err := s.task("migrate-platform", "@platform_wp", "@platform_wpnew", "--concurrency", "4")
	if err == nil {
		t.Fatal("a batch with a broken site reported success")
	}
	outcomes, _ := r.Data["sites"].([]any)
	if len(outcomes) != 10 || r.Data["failed"] != float64(1) || r.Data["migrated"] != float64(9) {
		t.Fatalf("summary = %v", r.Data)
	}
	for _, o := range outcomes {
		o := o.(map[string]any)
		if (o["site"] == broken) != (o["error"] != nil) {
			t.Fatalf("outcome %v: only %s should have failed", o, broken)
		}
	}
	for _, uri := range sites {
		c := s.siteContext(uri)
		if uri == broken {
			if c["platform"] != "@platform_wp" {
				t.Fatalf("the broken site moved: %v", c)
			}
			if _, err := os.Stat(filepath.Join(wpRoot, "sites", uri, "wp-config.php")); err != nil {
				t.Fatalf("the broken site's directory is gone: %v", err)
			}
			continue
		}
		if c["platform"] != "@platform_wpnew" {
			t.Fatalf("%s did not move: %v", uri, c)
		}
		if _, err := os.Stat(filepath.Join(wp2Root, "sites", uri, "wp-config.php")); err != nil {
			t.Fatalf("%s is not on the new platform: %v", uri, err)
		}
		s.mustServe(s.url(uri, "/"), uri)
	}
	if !slices.ContainsFunc(r.Log, func(e logEntry) bool { return strings.Contains(e.Message, broken) }) {
		t.Fatalf("the log does not name %s", broken)
	}
}

// TestRestoreAnAegir3Backup restores a tarball laid out as Aegir 3 makes
// them (the site directory's files and database.sql at the top), made here
// with the system's tar and mysqldump.
func TestRestoreAnAegir3Backup(t *testing.T) {
	s := newStack(t)
	s.setup()
	wpRoot := s.platform("wp", "/usr/share/wordpress")
	uri := "old." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+uri)
	marker := "aegir3-" + s.token
	post := s.wpPost(wpRoot, uri, marker)

	dir := filepath.Join(s.dir, "aegir3")
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.write(filepath.Join(dir, "files", "upload.txt"), "uploaded "+marker)
	s.write(filepath.Join(dir, "wp-config.php"), "<?php // settings from the old server, replaced on restore\n")
	dump, err := os.Create(filepath.Join(dir, "database.sql"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("mysqldump", "-h127.0.0.1", "-uroot", "--single-transaction", str(s.siteContext(uri)["db_name"]))
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = dump, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mysqldump: %v %s", err, stderr.String())
	}
	dump.Close()
	file := filepath.Join(s.dir, uri+"-20200101.120000.tar.gz")
	if out, err := exec.Command("tar", "czpf", file, "-C", dir, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	s.wpSetPost(wpRoot, uri, post, "changed")
	s.mustTask("restore", "@"+uri, file)
	s.mustServe(s.url(uri, "/?p="+post), marker)
	s.mustServe(s.url(uri, "/sites/"+uri+"/files/upload.txt"), "uploaded "+marker)
}
