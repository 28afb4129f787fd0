package wordpress

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// installSite makes, configures and installs a site on the shared platform.
func installSite(t *testing.T, url string) (*WordPress, *aegir.AppSite, aegir.Admin) {
	t.Helper()
	requirePHP(t)
	root := platform(t)
	w := New(testEnv()).(*WordPress)
	s := newSite(t, root, url, newDatabase(t))
	ctx := context.Background()
	if err := w.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	admin := aegir.Admin{Name: "admin", Password: "pw-" + teststack.RandomHex(t, 10), Email: s.Email}
	start := time.Now()
	if err := w.Install(ctx, s, admin); err != nil {
		t.Fatal(err)
	}
	t.Logf("installed %s in %v", s.URL, time.Since(start).Round(time.Millisecond))
	return w, s, admin
}

func TestInstallMakesASiteTitledByItsURI(t *testing.T) {
	_, s, admin := installSite(t, "http://URI:8123")
	out := phpEval(t, s, `require 'wp-load.php';
echo get_option('blogname'), "\n", get_option('siteurl'), "\n", get_option('home'), "\n";
echo wp_upload_dir()['basedir'], "\n";
$u = get_user_by('login', '`+admin.Name+`');
echo ($u && user_can($u, 'manage_options') && wp_check_password('`+admin.Password+`', $u->user_pass, $u->ID)) ? 'admin ok' : 'admin bad', "\n";`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{s.URI, s.URL, s.URL, filepath.Join(s.SiteDir, "files"), "admin ok"}
	if len(lines) < len(want) {
		t.Fatalf("php printed %q", out)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	b, err := os.ReadFile(filepath.Join(s.SiteDir, "wp-config.php"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), s.DB.Password) {
		t.Error("wp-config.php holds the database password")
	}
}

func TestInstallWithWrongDBPasswordFailsClearly(t *testing.T) {
	requirePHP(t)
	root := platform(t)
	w := New(testEnv())
	creds := *newDatabase(t)
	creds.Password = "wrong-password"
	s := newSite(t, root, "http://URI", &creds)
	ctx := context.Background()
	if err := w.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	err := w.Install(ctx, s, aegir.Admin{Name: "admin", Password: "pw-0123456789", Email: s.Email})
	if err == nil {
		t.Fatal("install succeeded with a wrong database password")
	}
	t.Logf("error: %v", err)
	for _, want := range []string{"install wordpress site " + s.URI, "cannot connect to database " + creds.Name, "Access denied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pw-0123456789") {
		t.Errorf("error shows the admin password: %v", err)
	}
}

func TestInstallOnBrokenCodebaseFailsClearly(t *testing.T) {
	requirePHP(t)
	root := filepath.Join(t.TempDir(), "platform")
	if err := teststack.CopyTree("testdata/fakewp", root); err != nil {
		t.Fatal(err)
	}
	w := New(testEnv())
	if err := w.VerifyPlatform(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	s := &aegir.AppSite{URI: "broken.test", URL: "http://broken.test", Root: root, SiteDir: filepath.Join(root, "sites", "broken.test"),
		DB: newDatabase(t)}
	err := w.Install(context.Background(), s, aegir.Admin{Name: "admin", Password: "pw-0123456789"})
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "wp-load.php") {
		t.Errorf("err = %v, want one naming the missing wp-load.php", err)
	}
}

func TestLoginLinkBeforeInstallFails(t *testing.T) {
	requirePHP(t)
	root := platform(t)
	w := New(testEnv())
	s := newSite(t, root, "http://URI", newDatabase(t))
	if err := w.WriteSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	_, err := w.LoginLink(context.Background(), s)
	if err == nil {
		t.Fatal("login link of a site that is not installed")
	}
	t.Logf("error: %v", err)
}

func TestLoginLinkLogsInOnceOverHTTP(t *testing.T) {
	port := teststack.FreePort(t)
	w, s, _ := installSite(t, fmt.Sprintf("http://URI:%d", port))
	root := platform(t)
	for _, dir := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// PHP reads the settings as www-data: they are the web group's, 0440.
	if err := os.Chown(filepath.Join(s.SiteDir, "wp-config.php"), -1, teststack.WebGID(t)); err != nil {
		t.Fatal(err)
	}
	teststack.ServeSites(t, port, w, s)

	link, err := w.LoginLink(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, s.URL+"/wp-login.php?aegir_login=") {
		t.Fatalf("link = %q", link)
	}
	c := teststack.HostClient(port)

	res := get(t, c, link)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != s.URL+"/wp-admin/" {
		t.Fatalf("login link answered %d, Location %q, want a redirect to the dashboard:\n%.2000s", res.StatusCode, res.Header.Get("Location"), readBody(t, res))
	}
	res = get(t, c, s.URL+"/wp-admin/")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "<title>Dashboard") {
		t.Fatalf("dashboard answered %d:\n%.2000s", res.StatusCode, body)
	}

	// The link is one-time: a second use, even without cookies, fails.
	fresh := teststack.HostClient(port)
	fresh.Jar = nil
	res = get(t, fresh, link)
	if body := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "already been used") {
		t.Errorf("second use answered %d:\n%.500s", res.StatusCode, body)
	}
	// A made-up token fails too, and does not spend a new link.
	link2, err := w.LoginLink(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if res := get(t, fresh, s.URL+"/wp-login.php?aegir_login=0123"); res.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token answered %d", res.StatusCode)
	}
	if res := get(t, fresh, link2); res.StatusCode != http.StatusFound {
		t.Errorf("new link after a wrong token answered %d", res.StatusCode)
	}
	// Without the cookie the dashboard sends to the login form.
	if res := get(t, teststack.HostClient(port), s.URL+"/wp-admin/"); res.StatusCode != http.StatusFound {
		t.Errorf("dashboard without login answered %d", res.StatusCode)
	}
}

func get(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallInALanguageThePlatformLacksWarns(t *testing.T) {
	requirePHP(t)
	root := platform(t)
	env := testEnv()
	w := New(env)
	s := newSite(t, root, "http://URI", newDatabase(t))
	s.Language = "de"
	ctx := context.Background()
	if err := w.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Install(ctx, s, aegir.Admin{Name: "admin", Password: "pw-0123456789", Email: s.Email}); err != nil {
		t.Fatal(err)
	}
	if got := env.Log.Status(); got != aegir.StatusWarning {
		t.Errorf("log status = %q, want a warning: %+v", got, env.Log.Entries())
	}
	if out := phpEval(t, s, `require 'wp-load.php'; echo get_locale();`); out != "en_US" {
		t.Errorf("locale = %q, want en_US", out)
	}
}

func TestPlatformLoaderAnswers404WithoutASite(t *testing.T) {
	requirePHP(t)
	root := platform(t)
	for _, site := range []string{"", "../../etc", "missing.test"} {
		out, err := testEnv().Runner.Run(context.Background(), aegir.Command{
			Args: []string{"php", "-r", "require 'wp-load.php';"},
			Dir:  root,
			Env:  []string{"AEGIR_SITE=" + site},
		})
		if err == nil {
			t.Errorf("AEGIR_SITE=%q: WordPress loaded: %s", site, out)
			continue
		}
		if !strings.Contains(err.Error(), "No site is configured") && !strings.Contains(err.Error(), "has no settings") {
			t.Errorf("AEGIR_SITE=%q: %v", site, err)
		}
	}
}
