package drupal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// Install installs the site with its profile and language, the admin
// account named and mailed as admin says. The site's settings are written
// first, so Drupal's installer finds the site configured and never writes
// settings of its own; they are written again afterwards in case the
// installer touched them, and the site directory gets back the mode the
// installer took away.
//
// Drupal 7 installs through an embedded PHP helper that calls Drupal's
// install_drupal() non-interactively: no drush needed. The admin password
// reaches it on standard input. Drupal 8 and later need the platform's own
// drush (vendor/bin/drush, beside the root or one level up in a composer
// project): "drush site:install", the admin password in its environment,
// never on its command line.
func (d *Drupal) Install(ctx context.Context, s *aegir.AppSite, admin aegir.Admin) error {
	if err := checkSite(s); err != nil {
		return err
	}
	if s.DB == nil || s.DB.Name == "" {
		return aegir.Errorf(aegir.EINVALID, "site %s has no database to install into", s.URI)
	}
	version, major, ok := detect(s.Root)
	if !ok {
		return errNoDrupal(s.Root)
	}
	if admin.Name == "" {
		admin.Name = "admin"
	}
	if admin.Email == "" {
		admin.Email = siteEmail(s)
	}
	if err := d.WriteSettings(ctx, s); err != nil {
		return err
	}
	dir := siteDir(s)
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if major == 7 {
		err = d.install7(ctx, s, admin)
	} else {
		err = d.install8(ctx, s, admin, version)
	}
	// Drupal's installer makes the site directory and settings read-only;
	// the directory must stay as aegir made it.
	if cerr := os.Chmod(dir, st.Mode().Perm()|st.Mode()&fs.ModeSetgid); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return d.restoreSettings(ctx, s)
}

// restoreSettings writes the site's settings again when the installer
// changed them.
func (d *Drupal) restoreSettings(ctx context.Context, s *aegir.AppSite) error {
	_, major, _ := detect(s.Root)
	path := filepath.Join(siteDir(s), d.SettingsFile())
	now, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s after install: %w", path, err)
	}
	want, err := renderSettings(s, major, now)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if bytes.Equal(now, want) && st.Mode().Perm() == 0o440 {
		return nil
	}
	if !bytes.Equal(now, want) {
		d.logf("the installer changed %s: writing aegir's settings back", path)
	}
	return d.WriteSettings(ctx, s)
}

// install7Job is the job of the Drupal 7 install helper.
type install7Job struct {
	URI         string `json:"uri"`
	Profile     string `json:"profile"`
	Locale      string `json:"locale"`
	SiteName    string `json:"site_name"`
	SiteMail    string `json:"site_mail"`
	AccountName string `json:"account_name"`
	AccountMail string `json:"account_mail"`
	AccountPass string `json:"account_pass"`
}

func (d *Drupal) install7(ctx context.Context, s *aegir.AppSite, admin aegir.Admin) error {
	job := install7Job{
		URI: s.URI, Profile: orDefault(s.Profile, "standard"), Locale: orDefault(s.Language, "en"),
		SiteName: s.URI, SiteMail: siteEmail(s),
		AccountName: admin.Name, AccountMail: admin.Email, AccountPass: admin.Password,
	}
	var result struct {
		Profile  string   `json:"profile"`
		Locale   string   `json:"locale"`
		Warnings []string `json:"warnings"`
		Messages []string `json:"messages"`
	}
	if err := d.runHelper(ctx, s, "install7.php", job, &result); err != nil {
		return fmt.Errorf("install %s: %w", s.URI, err)
	}
	for _, m := range result.Messages {
		d.logf("drupal: %s", m)
	}
	for _, w := range result.Warnings {
		d.warnf("drupal: %s", w)
	}
	d.logf("installed Drupal 7 site %s with profile %s, language %s", s.URI, result.Profile, result.Locale)
	return nil
}

func (d *Drupal) install8(ctx context.Context, s *aegir.AppSite, admin aegir.Admin, version string) error {
	drush, ok := findDrush(s.Root)
	if !ok {
		return aegir.Errorf(aegir.EINVALID,
			"Drupal %s installs through the platform's own drush, and %s has no vendor/bin/drush: add it with composer require drush/drush", version, s.Root)
	}
	args := []string{drush, "--root=" + s.Root, "--uri=" + siteURL(s), "--yes",
		"site:install", orDefault(s.Profile, "standard"),
		"--sites-subdir=" + s.URI,
		"--site-name=" + s.URI, "--site-mail=" + siteEmail(s),
		"--account-name=" + admin.Name, "--account-mail=" + admin.Email,
		"--locale=" + orDefault(s.Language, "en"),
		// Programmatic checkboxes need NULL for "off". Update status stays
		// off, as on Drupal 7: a host updates its platforms, and the module
		// would call drupal.org during the install.
		"install_configure_form.enable_update_status_module=NULL",
		"install_configure_form.enable_update_status_emails=NULL",
	}
	env := dbEnv(s)
	if admin.Password != "" {
		// Drush takes an option's default from its environment
		// (DRUSH_COMMAND_<COMMAND>_OPTIONS_<OPTION>): the password stays off
		// the command line, which every user can read.
		env = append(env, "DRUSH_COMMAND_SITE_INSTALL_OPTIONS_ACCOUNT_PASS="+admin.Password)
	}
	if _, err := d.run(ctx, aegir.Command{Args: args, Dir: s.Root, Env: env}); err != nil {
		return fmt.Errorf("install %s: %w", s.URI, err)
	}
	d.logf("installed Drupal %s site %s with drush", version, s.URI)
	return nil
}

// LoginLink returns a one-time login link for user 1 that logs in at once.
// It computes the link as Drupal does, from the settings' hash salt and
// user 1's row (directLoginLink); when only Drupal can tell the salt,
// Drupal 7 makes it through an embedded PHP helper and Drupal 8 and later
// through the platform's drush (user:login), and without one there is no
// link.
func (d *Drupal) LoginLink(ctx context.Context, s *aegir.AppSite) (string, error) {
	if err := checkSite(s); err != nil {
		return "", err
	}
	version, major, ok := detect(s.Root)
	if !ok {
		return "", errNoDrupal(s.Root)
	}
	if settings := filepath.Join(siteDir(s), d.SettingsFile()); !exists(settings) {
		return "", aegir.Errorf(aegir.EINVALID, "no login link: %s has no %s, so it is not installed", s.URI, settings)
	}
	if link, ok, err := d.directLoginLink(ctx, s, major); ok || err != nil {
		return link, err
	}
	if major == 7 {
		var result struct {
			Link string `json:"link"`
		}
		job := map[string]string{"uri": s.URI, "url": siteURL(s)}
		if err := d.runHelper(ctx, s, "login7.php", job, &result); err != nil {
			return "", fmt.Errorf("login link for %s: %w", s.URI, err)
		}
		if !strings.HasPrefix(result.Link, "http") {
			return "", fmt.Errorf("login link for %s: the helper returned %q", s.URI, result.Link)
		}
		return result.Link, nil
	}
	drush, ok := findDrush(s.Root)
	if !ok {
		return "", aegir.Errorf(aegir.EINVALID, "Drupal %s makes login links through the platform's drush, and %s has no vendor/bin/drush", version, s.Root)
	}
	out, err := d.run(ctx, aegir.Command{
		Args: []string{drush, "--root=" + s.Root, "--uri=" + siteURL(s), "user:login", "--no-browser"},
		Dir:  s.Root, Env: dbEnv(s),
	})
	if err != nil {
		return "", fmt.Errorf("login link for %s: %w", s.URI, err)
	}
	link := lastLine(out)
	if !strings.HasPrefix(link, "http") {
		return "", fmt.Errorf("login link for %s: drush printed %q", s.URI, link)
	}
	return link, nil
}

// runHelper pipes an embedded PHP helper to PHP CLI, run from the platform
// root with the site's db_* variables in its environment, behind a prelude
// that hands it job; it decodes the helper's JSON result into result.
func (d *Drupal) runHelper(ctx context.Context, s *aegir.AppSite, helper string, job, result any) error {
	return d.runHelperEnv(ctx, s.Root, dbEnv(s), helper, job, result)
}

// helperLibs are the embedded files a helper needs between common7.php and
// itself.
var helperLibs = map[string][]string{"rewrite7.php": {"rewrite.php"}}

// runHelperEnv pipes an embedded PHP helper to PHP CLI, run from root with
// env, behind the prelude handing it job, common7.php and its libraries; it
// decodes the helper's JSON result into result.
func (d *Drupal) runHelperEnv(ctx context.Context, root string, env []string, helper string, job, result any) error {
	script, err := helperScript(job, append(append([]string{"common7.php"}, helperLibs[helper]...), helper)...)
	if err != nil {
		return err
	}
	out, err := d.run(ctx, aegir.Command{Args: []string{"php"}, Dir: root, Env: env, Stdin: script})
	if err != nil {
		return err
	}
	line := lastLine(out)
	if err := json.Unmarshal([]byte(line), result); err != nil {
		return fmt.Errorf("PHP helper %s printed %q, not its result", helper, truncate(line, 200))
	}
	return nil
}

// helperScript is the prelude handing job to the embedded PHP files that
// follow it, in order.
func helperScript(job any, names ...string) (*bytes.Buffer, error) {
	raw, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	var script bytes.Buffer
	if err := templates.ExecuteTemplate(&script, "prelude.php.tmpl", base64.StdEncoding.EncodeToString(raw)); err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := files.ReadFile("files/" + name)
		if err != nil {
			return nil, err
		}
		script.Write(b)
	}
	return &script, nil
}

// run runs a command through the driver's runner.
func (d *Drupal) run(ctx context.Context, cmd aegir.Command) ([]byte, error) {
	if d.env.Runner == nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "the drupal driver has no runner to run %s with", cmd.Args[0])
	}
	return d.env.Runner.Run(ctx, cmd)
}

// dbEnv is the site's cloaked credentials as environment variables.
func dbEnv(s *aegir.AppSite) []string {
	return s.DB.Env()
}

// findDrush returns the platform's drush: vendor/bin/drush in the root, or
// in the directory above it when the root is a composer project's web/.
func findDrush(root string) (string, bool) {
	for _, p := range []string{
		filepath.Join(root, "vendor", "bin", "drush"),
		filepath.Join(filepath.Dir(root), "vendor", "bin", "drush"),
	} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	return "", false
}

// siteURL is the site's address, http://<uri> when the caller gave none.
func siteURL(s *aegir.AppSite) string {
	if s.URL != "" {
		return s.URL
	}
	return "http://" + s.URI
}

// siteEmail is the site's mail address, admin@<uri> when the caller gave
// none.
func siteEmail(s *aegir.AppSite) string {
	if s.Email != "" {
		return s.Email
	}
	return "admin@" + s.URI
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

var _ aegir.App = (*Drupal)(nil)
