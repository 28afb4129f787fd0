package mediawiki

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

// debianRoot is the codebase of Debian's mediawiki package.
const debianRoot = "/usr/share/mediawiki"

// shared is a copy of Debian's MediaWiki with aegir's platform files,
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
	return teststack.TempDatabase(t, "aegir_mw_")
}

// newSite makes the site directory of a fresh wiki on root, as provision
// does (sites/<uri> 0755, files and private 02770 in the web group),
// removed when the test ends.
func newSite(t *testing.T, root, url string, creds *aegir.DBCredentials) *aegir.AppSite {
	t.Helper()
	uri := "mw" + teststack.RandomHex(t, 4) + ".test"
	s := &aegir.AppSite{
		URI: uri, URL: strings.ReplaceAll(url, "URI", uri), Root: root,
		SiteDir: filepath.Join(root, "sites", uri), Language: "en",
		Email: "admin@" + uri, DB: creds, WebGroup: "www-data",
	}
	teststack.MakeSiteDir(t, s.SiteDir, "files", "private")
	return s
}

// maintenance runs a maintenance script of the platform with env (the
// site's database credentials and the given variables), as cron or an
// administrator would, and returns its output.
func maintenance(t *testing.T, s *aegir.AppSite, env []string, args ...string) (string, error) {
	t.Helper()
	out, err := (&local.Runner{}).Run(context.Background(), aegir.Command{
		Args: append([]string{"php", "-d", "display_errors=stderr"}, args...),
		Dir:  s.Root,
		Env:  append(s.DB.Env(), env...),
	})
	return string(out), err
}
