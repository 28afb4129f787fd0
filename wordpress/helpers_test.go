package wordpress

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// debianRoot is the codebase of Debian's wordpress package.
const debianRoot = "/usr/share/wordpress"

// shared is a copy of Debian's WordPress with aegir's platform files,
// shared by the package's tests as a platform is shared by sites.
var shared = &teststack.SharedPlatform{Source: debianRoot, App: New(testEnv())}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Remove()
	os.Exit(code)
}

// platform returns the root of the shared platform.
func platform(t *testing.T) string {
	t.Helper()
	return shared.Root(t)
}

func testEnv() aegir.Env {
	return aegir.Env{Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)}
}

func requirePHP(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs PHP and MariaDB")
	}
	teststack.Require(t, "php")
}

// newDatabase creates a database and its user, dropped when the test ends.
func newDatabase(t *testing.T) *aegir.DBCredentials {
	t.Helper()
	return teststack.TempDatabase(t, "aegir_wp_")
}

// newSite makes the site directory of a fresh site on root, as provision
// does (sites/<uri> 0755, files 02770 in the web group), removed when the
// test ends.
func newSite(t *testing.T, root, url string, creds *aegir.DBCredentials) *aegir.AppSite {
	t.Helper()
	uri := "wp" + teststack.RandomHex(t, 4) + ".test"
	s := &aegir.AppSite{
		URI: uri, URL: strings.ReplaceAll(url, "URI", uri), Root: root,
		SiteDir: filepath.Join(root, "sites", uri), Language: "en",
		Email: "admin@" + uri, DB: creds, WebGroup: "www-data",
	}
	teststack.MakeSiteDir(t, s.SiteDir, "files")
	return s
}

// phpEval runs PHP code for site s from the platform root with the site's
// environment, as a cron run or a maintenance command would.
func phpEval(t *testing.T, s *aegir.AppSite, code string) string {
	t.Helper()
	out, err := (&local.Runner{}).Run(context.Background(), aegir.Command{
		Args: []string{"php", "-d", "display_errors=stderr", "-r", code},
		Dir:  s.Root,
		Env:  append(s.DB.Env(), "AEGIR_SITE="+s.URI),
	})
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	return string(out)
}
