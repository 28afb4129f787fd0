package mediawiki

import (
	"context"
	"encoding/json"
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

// installWiki makes, configures and installs a wiki on the shared platform.
func installWiki(t *testing.T, url string) (*MediaWiki, *aegir.AppSite, aegir.Admin) {
	t.Helper()
	requirePHP(t)
	root := platform(t)
	m := New(testEnv()).(*MediaWiki)
	s := newSite(t, root, url, newDatabase(t))
	ctx := context.Background()
	if err := m.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	admin := aegir.Admin{Name: "admin", Password: "pw-" + teststack.RandomHex(t, 10), Email: s.Email}
	start := time.Now()
	if err := m.Install(ctx, s, admin); err != nil {
		t.Fatal(err)
	}
	t.Logf("installed %s in %v", s.URL, time.Since(start).Round(time.Millisecond))
	return m, s, admin
}

// configuration reads settings of the wiki through getConfiguration.php.
func configuration(t *testing.T, s *aegir.AppSite, env []string) map[string]any {
	t.Helper()
	out, err := maintenance(t, s, env, "maintenance/getConfiguration.php",
		"--settings=wgSitename wgServer wgDBname wgUploadDirectory wgEnableUploads", "--format=json")
	if err != nil {
		t.Fatalf("getConfiguration: %v", err)
	}
	var conf map[string]any
	if err := json.Unmarshal([]byte(out), &conf); err != nil {
		t.Fatalf("getConfiguration printed %q: %v", out, err)
	}
	return conf
}

func TestInstallMakesAWikiTitledByItsURI(t *testing.T) {
	m, s, _ := installWiki(t, "http://URI:8123")
	want := map[string]any{
		"wgSitename": s.URI, "wgServer": s.URL, "wgDBname": s.DB.Name,
		"wgUploadDirectory": filepath.Join(s.SiteDir, "files"), "wgEnableUploads": true,
	}
	// Through MW_CONFIG_FILE, as the web server passes it, and through
	// the platform loader with AEGIR_SITE alone.
	for _, env := range [][]string{m.siteEnv(s), {"AEGIR_SITE=" + s.URI}} {
		conf := configuration(t, s, env)
		for k, v := range want {
			if conf[k] != v {
				t.Errorf("%v: %s = %v, want %v", env, k, conf[k], v)
			}
		}
	}

	b, err := os.ReadFile(filepath.Join(s.SiteDir, "LocalSettings.php"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), s.DB.Password) || strings.Contains(string(b), "$wgDBpassword =") {
		t.Error("LocalSettings.php holds the database password")
	}
	if !strings.HasSuffix(string(b), requireLine+"\n") {
		t.Error("LocalSettings.php does not require aegir.settings.php last")
	}
	if st, _ := os.Stat(filepath.Join(s.SiteDir, "LocalSettings.php")); st.Mode().Perm() != 0o440 {
		t.Errorf("LocalSettings.php mode = %v, want 0440", st.Mode().Perm())
	}

	db := teststack.RootDB(t)
	var user, page string
	q := fmt.Sprintf("SELECT u.user_name, (SELECT p.page_title FROM `%[1]s`.page p WHERE p.page_namespace = 0 LIMIT 1) FROM `%[1]s`.user u JOIN `%[1]s`.user_groups g ON g.ug_user = u.user_id AND g.ug_group = 'sysop'", s.DB.Name)
	if err := db.QueryRow(q).Scan(&user, &page); err != nil {
		t.Fatal(err)
	}
	if user != "Admin" || page != "Main_Page" {
		t.Errorf("sysop %q, first page %q; want Admin, Main_Page", user, page)
	}
	// No password file is left behind.
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "aegir-secret-*"))
	for _, f := range left {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), s.DB.Password) {
			t.Errorf("password file %s left behind", f)
		}
	}
}

func TestInstallTwiceIsAConflict(t *testing.T) {
	m, s, admin := installWiki(t, "http://URI")
	err := m.Install(context.Background(), s, admin)
	if aegir.ErrorCode(err) != aegir.ECONFLICT {
		t.Errorf("second install: %v, want ECONFLICT", err)
	}
}

func TestInstallWithWrongDBPasswordFailsClearly(t *testing.T) {
	requirePHP(t)
	root := platform(t)
	m := New(testEnv())
	creds := *newDatabase(t)
	creds.Password = "wrong-password"
	s := newSite(t, root, "http://URI", &creds)
	ctx := context.Background()
	if err := m.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	err := m.Install(ctx, s, aegir.Admin{Name: "admin", Password: "pw-0123456789"})
	if err == nil {
		t.Fatal("install succeeded with a wrong database password")
	}
	t.Logf("error: %v", err)
	for _, want := range []string{"install mediawiki site " + s.URI, "Access denied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q", want)
		}
	}
	for _, secret := range []string{"wrong-password", "pw-0123456789"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a password: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.SiteDir, "LocalSettings.php")); err == nil {
		t.Error("a failed install left a LocalSettings.php")
	}
}

func TestLoginLinkBeforeInstallIsNotFound(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "w.example.com", URL: "http://w.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "w.example.com")}
	_, err := New(aegir.Env{}).LoginLink(context.Background(), s)
	if aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("err = %v, want ENOTFOUND", err)
	}
}

func TestLoginLinkLogsInOnceOverHTTP(t *testing.T) {
	port := teststack.FreePort(t)
	m, s, _ := installWiki(t, fmt.Sprintf("http://URI:%d", port))
	root := platform(t)
	for _, dir := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// PHP reads the settings as www-data: they are the web group's, 0440.
	if err := os.Chown(filepath.Join(s.SiteDir, "LocalSettings.php"), -1, teststack.WebGID(t)); err != nil {
		t.Fatal(err)
	}
	teststack.ServeSites(t, port, m, s)

	link, err := m.LoginLink(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, s.URL+"/index.php?aegir_login=") {
		t.Fatalf("link = %q", link)
	}
	c := teststack.HostClient(port)

	res := get(t, c, link)
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), s.URL+"/") {
		t.Fatalf("login link answered %d, Location %q, want a redirect to the wiki:\n%.2000s", res.StatusCode, res.Header.Get("Location"), readBody(t, res))
	}
	res = get(t, c, res.Header.Get("Location"))
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"wgUserName":"Admin"`) {
		t.Fatalf("main page answered %d, not logged in as Admin:\n%.3000s", res.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(s.SiteDir, loginFile)); err == nil {
		t.Error("the token file is still there after its use")
	}

	// The link is one-time: a second use, even without cookies, fails.
	fresh := teststack.HostClient(port)
	fresh.Jar = nil
	res = get(t, fresh, link)
	if body := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "already been used") {
		t.Errorf("second use answered %d:\n%.500s", res.StatusCode, body)
	}
	// A made-up token fails too, and does not spend a new link.
	link2, err := m.LoginLink(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if res := get(t, fresh, s.URL+"/index.php?aegir_login=0123"); res.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token answered %d", res.StatusCode)
	}
	if res := get(t, fresh, link2); res.StatusCode != http.StatusFound {
		t.Errorf("new link after a wrong token answered %d", res.StatusCode)
	}
	// Without the session cookie the wiki does not know the user.
	res = get(t, teststack.HostClient(port), s.URL+"/index.php?title=Main_Page")
	if body := readBody(t, res); res.StatusCode != http.StatusOK || !strings.Contains(body, `"wgUserName":null`) {
		t.Errorf("anonymous main page answered %d:\n%.500s", res.StatusCode, body)
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
