package wordpress

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// phpJSON runs PHP code for site s, which prints one JSON value, and
// decodes it into out.
func phpJSON(t *testing.T, s *aegir.AppSite, code string, out any) {
	t.Helper()
	got := phpEval(t, s, code)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), out); err != nil {
		t.Fatalf("php printed %q: %v", got, err)
	}
}

// renamed returns the site under a new URI and address, with its settings
// written (the platform loader needs them), as a clone or rename leaves it
// before RewriteURI.
func renamed(t *testing.T, w *WordPress, s *aegir.AppSite, url string) *aegir.AppSite {
	t.Helper()
	n := *s
	n.URI = "new" + teststack.RandomHex(t, 4) + ".test"
	n.URL = strings.ReplaceAll(url, "URI", n.URI)
	n.SiteDir = filepath.Join(s.Root, "sites", n.URI)
	t.Cleanup(func() { os.RemoveAll(n.SiteDir) })
	if err := w.WriteSettings(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestRewriteURIMovesAddressesAndKeepsSerializedValuesValid(t *testing.T) {
	w, old, _ := installSite(t, "http://URI:8123")
	oldURL, oldFiles := old.URL, "sites/"+old.URI+"/files"
	lookalike := "http://" + old.URI + ".example.com/page"
	// The site's content, as an editor, a widget and a plugin leave it.
	phpEval(t, old, `require 'wp-load.php';
$old = '`+oldURL+`'; $files = '`+oldFiles+`';
update_option('aegir_widget', array(2 => array('title' => 'Links', 'text' => '<a href="'.$old.'/about/">About</a> <img src="'.$old.'/'.$files.'/logo.png">'), '_multiwidget' => 1));
update_option('aegir_object', (object) array('url' => $old, 'list' => array($old.'/a', '//`+old.URI+`:8123/b')));
update_option('aegir_double', serialize(array('home' => $old)));
update_option('aegir_lookalike', array('`+lookalike+`'));
update_option('upload_path', '/srv/platform/'.$files);
$post = wp_insert_post(array('post_title' => 'Hello', 'post_status' => 'publish'));
// Straight to the table: wp_insert_post() would unslash the block's JSON.
$wpdb->update($wpdb->posts, array('guid' => $old.'/?p=4242',
	'post_content' => '<!-- wp:image {"url":"'.str_replace('/', '\/', $old).'\/x.png"} --><img src="'.$old.'/'.$files.'/2024/x.png"><a href="`+lookalike+`">x</a>'),
	array('ID' => $post));
update_post_meta($post, 'aegir_meta', array('link' => $old.'/about/'));
$user = get_user_by('login', 'admin');
update_user_meta($user->ID, 'aegir_usermeta', $old.'/profile');
wp_insert_comment(array('comment_post_ID' => $post, 'comment_content' => 'see '.$old.'/about/', 'comment_author_url' => $old, 'comment_approved' => 1));
// A plugin's object of a class that is not loaded now.
$wpdb->insert($wpdb->options, array('option_name' => 'aegir_foreign', 'autoload' => 'no',
	'option_value' => 'O:12:"Plugin_State":2:{s:3:"url";s:'.strlen($old).':"'.$old.'";s:1:"n";i:7;}'));
// Serialized data already broken (a wrong length) is left alone.
$wpdb->insert($wpdb->options, array('option_name' => 'aegir_broken', 'autoload' => 'no',
	'option_value' => 'a:1:{s:3:"url";s:99:"'.$old.'";}'));
echo $post;`)

	s := renamed(t, w, old, "https://URI")
	if err := w.RewriteURI(context.Background(), s, old.URI, oldURL); err != nil {
		t.Fatal(err)
	}
	newFiles := "sites/" + s.URI + "/files"

	var got map[string]string
	phpJSON(t, s, `require 'wp-load.php';
$post = get_posts(array('title' => 'Hello', 'post_type' => 'post', 'numberposts' => 1))[0];
$user = get_user_by('login', 'admin');
$comment = get_comments(array('post_id' => $post->ID))[0];
$raw = array();
foreach (array('aegir_widget', 'aegir_object', 'aegir_double', 'aegir_foreign') as $name) {
	$v = $wpdb->get_var($wpdb->prepare("SELECT option_value FROM $wpdb->options WHERE option_name = %s", $name));
	$raw[$name] = @unserialize($v, array('allowed_classes' => false)) === false ? 'BROKEN '.$v : 'ok';
}
$double = unserialize(get_option('aegir_double'));
$foreign = (array) unserialize($wpdb->get_var("SELECT option_value FROM $wpdb->options WHERE option_name = 'aegir_foreign'"), array('allowed_classes' => false));
echo json_encode(array(
	'siteurl' => get_option('siteurl'), 'home' => get_option('home'),
	'widget' => get_option('aegir_widget')[2]['text'],
	'object' => get_option('aegir_object')->url . ' ' . implode(' ', get_option('aegir_object')->list),
	'double' => $double['home'],
	'foreign' => $foreign['url'] . ' ' . $foreign['n'],
	'lookalike' => get_option('aegir_lookalike')[0],
	'upload_path' => get_option('upload_path'),
	'content' => $post->post_content, 'guid' => $post->guid,
	'meta' => get_post_meta($post->ID, 'aegir_meta', true)['link'],
	'usermeta' => get_user_meta($user->ID, 'aegir_usermeta', true),
	'comment' => $comment->comment_content . ' ' . $comment->comment_author_url,
	'valid' => implode(' ', $raw),
	'broken' => $wpdb->get_var("SELECT option_value FROM $wpdb->options WHERE option_name = 'aegir_broken'"),
));`, &got)

	want := map[string]string{
		"siteurl":     s.URL,
		"home":        s.URL,
		"widget":      `<a href="` + s.URL + `/about/">About</a> <img src="` + s.URL + "/" + newFiles + `/logo.png">`,
		"object":      s.URL + " " + s.URL + "/a //" + s.URI + "/b",
		"double":      s.URL,
		"foreign":     s.URL + " 7",
		"lookalike":   lookalike,
		"upload_path": "/srv/platform/" + newFiles,
		"content": `<!-- wp:image {"url":"` + strings.ReplaceAll(s.URL, "/", `\/`) + `\/x.png"} --><img src="` + s.URL + "/" + newFiles +
			`/2024/x.png"><a href="` + lookalike + `">x</a>`,
		"guid":     oldURL + "/?p=4242",
		"meta":     s.URL + "/about/",
		"usermeta": s.URL + "/profile",
		"comment":  "see " + s.URL + "/about/ " + s.URL,
		"valid":    "ok ok ok ok",
		"broken":   `a:1:{s:3:"url";s:99:"` + oldURL + `";}`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q\n want %q", k, got[k], v)
		}
	}
	var warnings []string
	for _, e := range w.env.Log.Entries() {
		t.Logf("log %s: %s", e.Level, e.Message)
		if e.Level == aegir.LevelWarning {
			warnings = append(warnings, e.Message)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "options.option_value") || !strings.Contains(warnings[0], "left unchanged") {
		t.Errorf("warnings = %q, want one about the broken option", warnings)
	}
}

func TestRewriteURIRejectsABadOldAddress(t *testing.T) {
	s := &aegir.AppSite{URI: "new.test", URL: "http://new.test", Root: t.TempDir()}
	w := New(aegir.Env{})
	for _, c := range []struct{ uri, url string }{{"../x", ""}, {"old.test", "ftp://old.test"}, {"old.test", "http://"}} {
		if err := w.RewriteURI(context.Background(), s, c.uri, c.url); aegir.ErrorCode(err) != aegir.EINVALID {
			t.Errorf("RewriteURI(%q, %q) = %v, want EINVALID", c.uri, c.url, err)
		}
	}
}

func TestUpdateDatabaseBringsAnOlderSchemaToTheCodebases(t *testing.T) {
	w, s, _ := installSite(t, "http://URI")
	ctx := context.Background()
	current := dbVersion(s.Root)
	if current == 0 {
		t.Fatal("no $wp_db_version in the platform")
	}
	dbVersionOf := func() int {
		out := phpEval(t, s, `require 'wp-load.php'; echo (int) $wpdb->get_var("SELECT option_value FROM $wpdb->options WHERE option_name = 'db_version'");`)
		n, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("db_version %q", out)
		}
		return n
	}

	if err := w.UpdateDatabase(ctx, s); err != nil {
		t.Fatal(err)
	}
	last := func() string { e := w.env.Log.Entries(); return e[len(e)-1].Message }
	if !strings.Contains(last(), "up to date") {
		t.Errorf("current site: log %q", last())
	}

	phpEval(t, s, `require 'wp-load.php'; update_option('db_version', 51917);`)
	if err := w.UpdateDatabase(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got := dbVersionOf(); got != current {
		t.Errorf("db_version after the update = %d, want %d", got, current)
	}
	if !strings.Contains(last(), "from WordPress schema 51917 to "+strconv.Itoa(current)) {
		t.Errorf("log %q", last())
	}

	// A database newer than the codebase is not touched.
	phpEval(t, s, `require 'wp-load.php'; update_option('db_version', 99999999);`)
	err := w.UpdateDatabase(ctx, s)
	if err == nil || !strings.Contains(err.Error(), "cannot be downgraded") {
		t.Errorf("update of a newer database: %v", err)
	}
	if got := dbVersionOf(); got != 99999999 {
		t.Errorf("db_version after a refused update = %d", got)
	}
}

func TestCronRunsADueEvent(t *testing.T) {
	w, s, _ := installSite(t, "http://URI")
	// A must-use plugin of the shared platform gives the test's hook an
	// action, as a plugin would.
	plugin := filepath.Join(s.Root, "wp-content", "mu-plugins", "aegir-test-cron.php")
	code := "<?php\nadd_action('aegir_test_cron', function ($marker) { update_option('aegir_test_cron', $marker); });\n"
	if err := os.WriteFile(plugin, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := teststack.RandomHex(t, 8)
	phpEval(t, s, `require 'wp-load.php'; wp_schedule_single_event(time() - 60, 'aegir_test_cron', array('`+marker+`'));`)

	if err := w.Cron(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	out := phpEval(t, s, `require 'wp-load.php'; echo get_option('aegir_test_cron'), ' ', var_export(wp_next_scheduled('aegir_test_cron', array('`+marker+`')), true), ' ', var_export(get_transient('doing_cron'), true);`)
	if want := marker + " false false"; out != want {
		t.Errorf("after cron: %q, want %q (event ran, unscheduled, lock released)", out, want)
	}
	e := w.env.Log.Entries()
	if msg := e[len(e)-1].Message; !strings.Contains(msg, "aegir_test_cron") {
		t.Errorf("log %q does not name the event", msg)
	}
	// Nothing is due now.
	if err := w.Cron(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func TestSitePackagesListsCoreSchemaActivePluginsAndTheme(t *testing.T) {
	w, s, _ := installSite(t, "http://URI")
	ctx := context.Background()
	phpEval(t, s, `require 'wp-load.php'; update_option('active_plugins', array('akismet/akismet.php', 'gone/gone.php'));`)
	platform, err := w.Packages(ctx, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := w.SitePackages(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("site packages: %+v", pkgs)
	version := map[string]string{}
	for _, p := range platform {
		version[p.Type+"/"+p.Name] = p.Version
	}
	theme := strings.TrimSpace(phpEval(t, s, `require 'wp-load.php'; echo get_option('stylesheet');`))
	want := []aegir.Package{
		{Name: "wordpress", Type: "core", Version: platform[0].Version, Schema: dbVersion(s.Root)},
		{Name: "akismet", Type: "plugin", Version: version["plugin/akismet"], Path: "wp-content/plugins/akismet"},
		{Name: "gone", Type: "plugin"},
		{Name: theme, Type: "theme", Version: version["theme/"+theme], Path: "wp-content/themes/" + theme},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("packages = %+v\nwant %+v", pkgs, want)
	}
	for i := range want {
		if pkgs[i] != want[i] {
			t.Errorf("package %d = %+v, want %+v", i, pkgs[i], want[i])
		}
	}
	if want[3].Version == "" || want[0].Schema == 0 {
		t.Errorf("platform lacks the theme's version or the schema: %+v", platform)
	}

	// A deploy asks before the site's settings are in place.
	if err := os.Remove(filepath.Join(s.SiteDir, "wp-config.php")); err != nil {
		t.Fatal(err)
	}
	again, err := w.SitePackages(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(pkgs) || again[0] != pkgs[0] {
		t.Errorf("without settings: %+v", again)
	}
}

func TestSitePackagesOfASiteNotInstalledFails(t *testing.T) {
	requirePHP(t)
	w := New(testEnv())
	s := newSite(t, platform(t), "http://URI", newDatabase(t))
	if err := w.WriteSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	_, err := w.SitePackages(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("err = %v, want one saying WordPress is not installed", err)
	}
}

// foreignConfig is a wp-config.php as WordPress's installer writes it.
const foreignConfig = `<?php
/** The name of the database for WordPress */
// define( 'DB_NAME', 'commented_out' );
/* define( 'DB_NAME', 'blocked_out' ); */
define( 'DB_NAME', 'blog_db' );
define( 'DB_USER', "blog_user" );
define( 'DB_PASSWORD', 'it\'s # a // secret' );
define( 'DB_HOST', 'db.example.com:3307' );
define( 'DB_CHARSET', 'utf8' );
define( 'AUTH_KEY',         'put your unique phrase here but this one is long enough' );
define( 'WPLANG', 'de_DE' );
$table_prefix = 'blog_';
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
`

func TestReadSettingsOfAForeignWPConfig(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "blog.example.com", URL: "http://blog.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "blog.example.com")}
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.SiteDir, "wp-config.php")
	if err := os.WriteFile(path, []byte(foreignConfig), 0o640); err != nil {
		t.Fatal(err)
	}
	w := New(aegir.Env{})
	got, err := w.ReadSettings(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := aegir.SiteSettings{
		DB:      aegir.DBCredentials{Type: "mysql", Host: "db.example.com", Port: 3307, Name: "blog_db", User: "blog_user", Password: `it's # a // secret`},
		Profile: "standard", Language: "de_DE",
	}
	if *got != want {
		t.Errorf("settings = %+v\nwant %+v", *got, want)
	}

	// Aegir's settings then replace the file: no credentials, the same
	// table prefix.
	if err := w.WriteSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if text := string(b); strings.Contains(text, "secret") || !strings.Contains(text, "$table_prefix = 'blog_';") {
		t.Errorf("settings after WriteSettings:\n%s", text)
	}
	_, err = w.ReadSettings(context.Background(), s)
	if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "cloaked") {
		t.Errorf("ReadSettings of aegir's settings: %v, want EINVALID saying they are cloaked", err)
	}
}

func TestReadSettingsWithoutSettingsIsNotFound(t *testing.T) {
	root := t.TempDir()
	s := &aegir.AppSite{URI: "blog.example.com", Root: root, SiteDir: filepath.Join(root, "sites", "blog.example.com")}
	if _, err := New(aegir.Env{}).ReadSettings(context.Background(), s); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("err = %v, want ENOTFOUND", err)
	}
	if err := os.MkdirAll(s.SiteDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.SiteDir, "wp-config.php"), []byte("<?php\ndefine('DB_NAME', 'x');\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(aegir.Env{}).ReadSettings(context.Background(), s)
	if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "DB_USER") {
		t.Errorf("err = %v, want EINVALID naming DB_USER", err)
	}
}

func TestSplitDBHost(t *testing.T) {
	for _, c := range []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{"localhost", "localhost", 3306, false},
		{"127.0.0.1:3307", "127.0.0.1", 3307, false},
		{"localhost:/run/mysqld/mysqld.sock", "localhost", 3306, false},
		{"[::1]:3308", "::1", 3308, false},
		{"db:port", "", 0, true},
		{"", "", 0, true},
	} {
		host, port, err := splitDBHost(c.in)
		if (err != nil) != c.bad || host != c.host || port != c.port {
			t.Errorf("splitDBHost(%q) = %q, %d, %v", c.in, host, port, err)
		}
	}
}

func TestDeleteSiteKeepsNothingOutsideTheSite(t *testing.T) {
	if err := New(aegir.Env{}).DeleteSite(context.Background(), &aegir.AppSite{URI: "x.test"}); err != nil {
		t.Error(err)
	}
}
