package drupal_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/drupal"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

func TestMain(m *testing.M) {
	code := m.Run()
	teststack.RemoveFixtures()
	os.Exit(code)
}

// TestDrupal7Install installs a real Drupal 7 site on the Drupal 7.105
// fixture (shared/fixtures), or on the codebase named by AEGIR_DRUPAL7_ROOT,
// with a fresh MariaDB database, then serves it through a private php-fpm
// and nginx and logs in with the one-time link; then it runs the site
// lifecycle methods on it (see checkLifecycle7). See docs/apps.md.
func TestDrupal7Install(t *testing.T) {
	teststack.Require(t, "php", "mariadb", "php-fpm8.2", "nginx")
	root := os.Getenv("AEGIR_DRUPAL7_ROOT")
	if root == "" {
		root = filepath.Join(teststack.WebDir(t), "drupal7")
		if err := teststack.LinkTree(teststack.Fixture(t, "drupal-7.105.tar.xz"), root); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	log := aegir.NewTaskLog(func(e aegir.LogEntry) { t.Logf("%s: %s", e.Level, e.Message) })
	env := aegir.Env{Runner: &local.Runner{}, Log: log}
	app := drupal.New(env)
	version, ok := app.Detect(root)
	if !ok || !strings.HasPrefix(version, "7.") {
		t.Fatalf("Detect(%s) = %q, %v: want a Drupal 7", root, version, ok)
	}
	t.Logf("Drupal %s at %s", version, root)
	if err := app.VerifyPlatform(ctx, root); err != nil {
		t.Fatal(err)
	}

	db := teststack.TempDatabase(t, "aegirt")
	port := teststack.FreePort(t)
	uri := "d7-" + teststack.RandomHex(t, 4) + ".example.test"
	s := &aegir.AppSite{
		URI: uri, Aliases: []string{"www." + uri}, URL: fmt.Sprintf("http://%s:%d", uri, port),
		Root: root, SiteDir: filepath.Join(root, "sites", uri),
		Profile: "standard", Language: "en", Email: "owner@example.com",
		DB: db, WebGroup: "www-data",
	}
	sitesPHP := filepath.Join(root, "sites", "sites.php")
	_, statErr := os.Stat(sitesPHP)
	t.Cleanup(func() {
		os.RemoveAll(s.SiteDir)
		if statErr != nil {
			os.Remove(sitesPHP)
		} else if err := drupal.RemoveAliases(root, uri); err != nil {
			t.Error(err)
		}
	})
	gid := teststack.WebGID(t)
	// What the lead's provision code does before the settings: the site
	// directory and its writable directories.
	for _, d := range append([]string{""}, app.WritableDirs()...) {
		if err := os.MkdirAll(filepath.Join(s.SiteDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(s.SiteDir, app.SettingsFile())
	b, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(db.Password)) {
		t.Fatalf("%s holds the database password", settings)
	}

	// Errors say what is wrong, and leave the site as it was.
	err = app.Install(ctx, &aegir.AppSite{URI: uri, Root: root, SiteDir: s.SiteDir, Profile: "nosuch", DB: db}, aegir.Admin{Password: "x"})
	if err == nil || !strings.Contains(err.Error(), `there is no install profile "nosuch"`) {
		t.Errorf("install with a missing profile: %v", err)
	}
	wrong := *db
	wrong.Password = "wrong"
	err = app.Install(ctx, &aegir.AppSite{URI: uri, Root: root, SiteDir: s.SiteDir, DB: &wrong}, aegir.Admin{Password: "x"})
	if err == nil || !strings.Contains(err.Error(), "cannot connect to database "+db.Name) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("install with a wrong password: %v", err)
	}
	if err := app.WriteSettings(ctx, s); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	password := "Secret-" + teststack.RandomHex(t, 8)
	if err := app.Install(ctx, s, aegir.Admin{Name: "admin", Password: password, Email: "admin@example.com"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("installed in %v", time.Since(start).Round(time.Millisecond))
	if st, err := os.Stat(settings); err != nil || st.Mode().Perm() != 0o440 {
		t.Errorf("settings after install: %v, %v; want mode 0440", st.Mode(), err)
	}
	if after, _ := os.ReadFile(settings); !bytes.Equal(after, b) {
		t.Errorf("settings changed by the install:\n%s", after)
	}
	if st, err := os.Stat(s.SiteDir); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("site directory after install: %v, %v; want 0755", st.Mode(), err)
	}

	tables := query(t, fmt.Sprintf("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '%s'", db.Name))
	if n, _ := strconv.Atoi(tables); n < 50 {
		t.Errorf("%s tables in %s, want the ~70 of the standard profile", tables, db.Name)
	}
	want := fmt.Sprintf("s:%d:\"%s\";", len(uri), uri)
	if got := query(t, fmt.Sprintf("SELECT value FROM %s.variable WHERE name = 'site_name'", db.Name)); got != want {
		t.Errorf("site_name = %s, want %s", got, want)
	}
	t.Logf("%s tables; site_name %s", tables, want)

	// What the lead's provision code does after the install: the web group
	// reads the settings and writes the files directories.
	if err := os.Lchown(settings, -1, gid); err != nil {
		t.Fatal(err)
	}
	for _, d := range app.WritableDirs() {
		groupWritable(t, filepath.Join(s.SiteDir, d), gid)
	}

	link, err := app.LoginLink(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	prefix := s.URL + "/user/reset/1/"
	if !strings.HasPrefix(link, prefix) || !strings.HasSuffix(link, "/login") {
		t.Fatalf("login link %s, want %s.../login", link, prefix)
	}
	t.Logf("login link %s", link)

	// Serve the site and use the link.
	teststack.ServeSites(t, port, app, s)
	client := siteClient(port)
	body := get(t, client, s.URL+"/", 200)
	if !strings.Contains(body, uri+"</title>") {
		t.Errorf("front page does not carry the site name %s:\n%.2000s", uri, body)
	}
	t.Logf("front page title: %s", between(body, "<title>", "</title>"))
	alias := get(t, client, fmt.Sprintf("http://www.%s:%d/", uri, port), 200)
	if !strings.Contains(alias, uri+"</title>") {
		t.Errorf("the alias does not serve the site:\n%.2000s", alias)
	}
	get(t, client, link, 200)
	page := get(t, client, s.URL+"/user", 200)
	t.Logf("/user title: %s", between(page, "<title>", "</title>"))
	if !strings.Contains(page, "user/logout") {
		t.Errorf("/user after the login link is not logged in:\n%.2000s", page)
	}
	if !hasSessionCookie(client, s.URL) {
		t.Error("no Drupal session cookie after the login link")
	}

	// The admin password reached Drupal: log in with it through the form.
	other := siteClient(port)
	form := url.Values{"name": {"admin"}, "pass": {password}, "form_id": {"user_login"}, "op": {"Log in"}}
	resp, err := other.PostForm(s.URL+"/user", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if page := get(t, other, s.URL+"/user", 200); !strings.Contains(page, "user/logout") {
		t.Errorf("logging in with the admin password failed (%s):\n%.2000s", resp.Status, page)
	}
	t.Log("front page 200 with the site name; login link followed; /user logged in; password login works")

	// The link is computed from user 1's row: a blocked user 1 gets none.
	query(t, fmt.Sprintf("UPDATE %s.users SET status = 0 WHERE uid = 1", db.Name))
	if _, err := app.LoginLink(ctx, s); aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "blocked") {
		t.Errorf("LoginLink of a blocked user 1: %v, want EINVALID", err)
	}
	query(t, fmt.Sprintf("UPDATE %s.users SET status = 1 WHERE uid = 1", db.Name))

	checkLifecycle7(t, app, s, client, log)
}

func mariadb(t *testing.T, sql string) string {
	t.Helper()
	cmd := exec.Command("mariadb", "-uroot", "-h127.0.0.1", "-N", "-B")
	cmd.Stdin = strings.NewReader(sql)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func query(t *testing.T, sql string) string { return mariadb(t, sql+";") }

// groupWritable gives the web group the tree at root, as provision does.
func groupWritable(t *testing.T, root string, gid int) {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, gid); err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(path, 0o2770)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(path, info.Mode().Perm()|0o660)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// siteClient sends every request to the private nginx, whatever the host,
// keeps cookies and follows redirects, as a browser.
func siteClient(port int) *http.Client {
	c := teststack.HostClient(port)
	c.CheckRedirect = nil
	return c
}

func get(t *testing.T, c *http.Client, url string, status int) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %s, want %d:\n%.2000s", url, resp.Status, status, b)
	}
	return string(b)
}

func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	in, _, _ := strings.Cut(after, end)
	return in
}

func hasSessionCookie(c *http.Client, site string) bool {
	req, _ := http.NewRequest("GET", site, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		if strings.HasPrefix(ck.Name, "SESS") {
			return true
		}
	}
	return false
}
