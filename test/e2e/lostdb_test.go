package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestASiteThatLostItsDatabaseIsNeverServedAnInstaller: a WordPress site
// whose database is dropped behind aegir's back, or emptied, would serve
// WordPress's installer to anyone. A verify fails loudly, saying what to do,
// and leaves the site answering 503 instead; a restore of a backup brings it
// back (its safety backup holds the files, and says so), and a delete works
// too.
func TestASiteThatLostItsDatabaseIsNeverServedAnInstaller(t *testing.T) {
	s := newStack(t)
	s.setup()
	root := s.platform("wp", "/usr/share/wordpress")
	uri := "lost." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp")
	s.mustTask("install", "@"+uri)
	marker := "lost-" + s.token
	post := s.wpPost(root, uri, marker)
	backup := str(s.mustTask("backup", "@"+uri).Data["backup_file"])
	db := teststack.RootDB(t)

	for _, lose := range []string{"drop", "empty"} {
		name := str(s.siteContext(uri)["db_name"])
		if lose == "drop" {
			if _, err := db.Exec("DROP DATABASE `" + name + "`"); err != nil {
				t.Fatal(err)
			}
		} else {
			for _, table := range queryStrings(t, db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", name) {
				if _, err := db.Exec(fmt.Sprintf("DROP TABLE `%s`.`%s`", name, table)); err != nil {
					t.Fatal(err)
				}
			}
		}
		r, err := s.task("verify", "@"+uri)
		if err == nil || r.Status != "failed" || !strings.Contains(fmt.Sprint(r.Log), "restore a backup") {
			t.Fatalf("%s: verify of a site without its database: %v %+v", lose, err, r.Log)
		}
		code, body := s.get(s.url(uri, "/"))
		if code != 503 || strings.Contains(strings.ToLower(body), "install") {
			t.Fatalf("%s: the site answers %d:\n%.300s", lose, code, body)
		}
		if code, _ := s.get(s.url(uri, "/wp-admin/install.php")); code != 503 {
			t.Fatalf("%s: the installer answers %d", lose, code)
		}
		r = s.mustTask("restore", "@"+uri, backup)
		if !strings.Contains(fmt.Sprint(r.Log), "files only") {
			t.Fatalf("%s: the restore did not say its safety backup has no database: %+v", lose, r.Log)
		}
		s.mustServe(s.url(uri, "/?p="+post), marker)
		s.mustTask("verify", "@"+uri)
	}

	// A site whose database is gone can be deleted.
	name := str(s.siteContext(uri)["db_name"])
	if _, err := db.Exec("DROP DATABASE `" + name + "`"); err != nil {
		t.Fatal(err)
	}
	r := s.mustTask("delete", "@"+uri)
	if _, err := os.Stat(str(r.Data["backup_file"])); err != nil {
		t.Fatalf("delete kept no backup of the files: %v", err)
	}
	if code, _ := s.get(s.url(uri, "/")); code != 404 {
		t.Fatalf("the deleted site answers %d", code)
	}
}
