package drupal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// installed checks that s is an installed site of a Drupal platform with a
// database, and returns the platform's version and major version.
func (d *Drupal) installed(s *aegir.AppSite) (string, int, error) {
	if err := checkSite(s); err != nil {
		return "", 0, err
	}
	version, major, ok := detect(s.Root)
	if !ok {
		return "", 0, errNoDrupal(s.Root)
	}
	if settings := filepath.Join(siteDir(s), d.SettingsFile()); !exists(settings) {
		return "", 0, aegir.Errorf(aegir.EINVALID, "%s has no %s, so it is not installed", s.URI, settings)
	}
	if s.DB == nil || s.DB.Name == "" {
		return "", 0, aegir.Errorf(aegir.EINVALID, "site %s has no database", s.URI)
	}
	return version, major, nil
}

// platformDrush returns the platform's drush, or the EINVALID error saying
// a Drupal of that version needs one to do what.
func platformDrush(s *aegir.AppSite, version, what string) (string, error) {
	drush, ok := findDrush(s.Root)
	if !ok {
		return "", aegir.Errorf(aegir.EINVALID,
			"Drupal %s %s through the platform's own drush, and %s has no vendor/bin/drush: add it with composer require drush/drush", version, what, s.Root)
	}
	return drush, nil
}

// drush runs the platform's drush on the site with args, standard input
// stdin (when not nil) and the site's credentials in its environment.
func (d *Drupal) drush(ctx context.Context, s *aegir.AppSite, drush string, stdin *bytes.Buffer, args ...string) ([]byte, error) {
	cmd := aegir.Command{
		Args: append([]string{drush, "--root=" + s.Root, "--uri=" + siteURL(s)}, args...),
		Dir:  s.Root, Env: dbEnv(s),
	}
	if stdin != nil {
		// drush php:script - hands its input to eval(), which starts in PHP
		// mode: a leading "?>" lets the scripts open with <?php as PHP
		// files do.
		cmd.Stdin = io.MultiReader(strings.NewReader("?>"), stdin)
	}
	return d.run(ctx, cmd)
}

// SitePackages lists what the site's database says is enabled: core
// ("drupal", with the platform's version) first, then the install profile,
// modules and themes, each with the schema version its database is at and
// the version of the platform's code.
//
// Drupal 7 reads the {system} table (status 1) through an embedded PHP
// helper; versions come from the platform's .info files at the paths the
// table records, empty when the code is missing from the platform. Drupal
// 8+ asks the platform's drush: "pm:list --status=enabled" for the
// extensions and their versions, and a "php:script" for the schema
// versions (the update hook registry, or drupal_get_installed_schema_version
// before Drupal 9.3).
func (d *Drupal) SitePackages(ctx context.Context, s *aegir.AppSite) ([]aegir.Package, error) {
	version, major, err := d.installed(s)
	if err != nil {
		return nil, err
	}
	var pkgs []aegir.Package
	if major == 7 {
		pkgs, err = d.sitePackages7(ctx, s, version)
	} else {
		pkgs, err = d.sitePackages8(ctx, s, version)
	}
	if err != nil {
		return nil, fmt.Errorf("packages of %s: %w", s.URI, err)
	}
	sort.Slice(pkgs, func(i, j int) bool {
		a, b := pkgs[i], pkgs[j]
		if typeOrder[a.Type] != typeOrder[b.Type] {
			return typeOrder[a.Type] < typeOrder[b.Type]
		}
		return a.Name < b.Name
	})
	return append([]aegir.Package{{Name: "drupal", Type: TypeCore, Version: version}}, pkgs...), nil
}

func (d *Drupal) sitePackages7(ctx context.Context, s *aegir.AppSite, coreVersion string) ([]aegir.Package, error) {
	var result struct {
		Packages []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Filename string `json:"filename"`
			Schema   int    `json:"schema_version"`
		} `json:"packages"`
	}
	if err := d.runHelper(ctx, s, "packages7.php", map[string]string{"uri": s.URI}, &result); err != nil {
		return nil, err
	}
	var pkgs []aegir.Package
	for _, row := range result.Packages {
		dir := filepath.Dir(filepath.FromSlash(row.Filename))
		p := aegir.Package{Name: row.Name, Type: row.Type, Path: filepath.ToSlash(dir)}
		if strings.HasSuffix(row.Filename, ".profile") {
			p.Type = TypeProfile
		}
		if p.Type != TypeTheme && row.Schema > 0 {
			p.Schema = row.Schema
		}
		// The code's version, from the .info file beside the one the table
		// names; a path leaving the platform is not read.
		if filepath.IsLocal(dir) {
			if in, err := readInfo7(filepath.Join(s.Root, dir, row.Name+".info")); err == nil {
				p.Version = in.version
				if p.Version == "VERSION" {
					p.Version = coreVersion
				}
			} else {
				d.warnf("%s %s of %s is enabled, but the platform has no %s", p.Type, p.Name, s.URI, filepath.Join(dir, row.Name+".info"))
			}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func (d *Drupal) sitePackages8(ctx context.Context, s *aegir.AppSite, version string) ([]aegir.Package, error) {
	drush, err := platformDrush(s, version, "lists a site's packages")
	if err != nil {
		return nil, err
	}
	out, err := d.drush(ctx, s, drush, nil, "pm:list", "--status=enabled", "--type=module,theme,profile", "--format=json")
	if err != nil {
		return nil, err
	}
	var list map[string]struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		Path    string `json:"path"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(jsonPart(out), &list); err != nil {
		// drush prints an empty list as [].
		var empty []any
		if json.Unmarshal(jsonPart(out), &empty) != nil {
			return nil, fmt.Errorf("drush pm:list printed %q, not a list of extensions", truncate(string(out), 200))
		}
	}
	script, err := helperScript(struct{}{}, "schema8.php")
	if err != nil {
		return nil, err
	}
	out, err = d.drush(ctx, s, drush, script, "php:script", "-")
	if err != nil {
		return nil, err
	}
	var schemas map[string]int
	if err := json.Unmarshal([]byte(lastLine(out)), &schemas); err != nil {
		return nil, fmt.Errorf("the schema versions script printed %q", truncate(lastLine(out), 200))
	}
	var pkgs []aegir.Package
	for key, e := range list {
		name := orDefault(e.Name, key)
		p := aegir.Package{Name: name, Type: e.Type, Version: e.Version, Path: e.Path}
		if p.Type != TypeTheme && schemas[name] > 0 {
			p.Schema = schemas[name]
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// jsonPart is out from the first line where valid JSON starts: drush may
// print notices before it.
func jsonPart(out []byte) []byte {
	for i := 0; i < len(out); {
		rest := bytes.TrimLeft(out[i:], " \t")
		if len(rest) > 0 && (rest[0] == '{' || rest[0] == '[') && json.Valid(rest) {
			return rest
		}
		nl := bytes.IndexByte(out[i:], '\n')
		if nl < 0 {
			break
		}
		i += nl + 1
	}
	return out
}

// UpdateDatabase runs the site's pending database updates, as after a
// deploy onto another codebase. Drupal 7 runs them through an embedded PHP
// helper that does what update.php does, without the batch API and
// without drush: the requirements check, then every pending
// hook_update_N() in dependency order (multi-pass updates until they
// finish), the site in maintenance mode meanwhile, and the caches flushed
// at the end; the first failing update stops the run and is the error.
// Drupal 8+ runs "drush updatedb --yes".
func (d *Drupal) UpdateDatabase(ctx context.Context, s *aegir.AppSite) error {
	version, major, err := d.installed(s)
	if err != nil {
		return err
	}
	if major >= 8 {
		drush, err := platformDrush(s, version, "runs database updates")
		if err != nil {
			return err
		}
		if _, err := d.drush(ctx, s, drush, nil, "updatedb", "--yes"); err != nil {
			return fmt.Errorf("database updates of %s: %w", s.URI, err)
		}
		d.logf("ran the database updates of %s with drush updatedb", s.URI)
		return nil
	}
	var result struct {
		Updates  []string `json:"updates"`
		Warnings []string `json:"warnings"`
		Messages []string `json:"messages"`
	}
	if err := d.runHelper(ctx, s, "update7.php", map[string]string{"uri": s.URI}, &result); err != nil {
		return fmt.Errorf("database updates of %s: %w", s.URI, err)
	}
	for _, w := range result.Warnings {
		d.warnf("drupal: %s", w)
	}
	for _, m := range result.Messages {
		d.logf("drupal: %s", m)
	}
	if len(result.Updates) == 0 {
		d.logf("%s has no pending database updates", s.URI)
	} else {
		d.logf("ran %d database updates of %s: %s", len(result.Updates), s.URI, strings.Join(result.Updates, ", "))
	}
	return nil
}

// RewriteURI turns the site's old address (oldURL, "http://<oldURI>" when
// empty) and old directory (sites/<oldURI>/) into its new ones in its
// database, after a clone or a rename, and flushes its caches. The
// settings and sites.php are not the database's: WriteSettings writes them
// for the new URI. Nothing is done when neither changed.
//
// Drupal 7 rewrites, through an embedded PHP helper, the variables stored
// in the database (file paths, theme logo paths...), the site name when it
// is the old URI, file_managed.uri, the value and summary of every text
// field (current and revisions) and custom block bodies. Drupal 8+ does
// the same through the platform's drush (php:script) for configuration,
// file_managed.uri and the text fields kept in their own tables. An
// address is rewritten whole ("http://old.example.com/x" but not
// "http://old.example.com.au/x"), with or without its scheme.
func (d *Drupal) RewriteURI(ctx context.Context, s *aegir.AppSite, oldURI, oldURL string) error {
	version, major, err := d.installed(s)
	if err != nil {
		return err
	}
	if err := aegir.ValidateURI("old_uri", oldURI); err != nil {
		return err
	}
	if oldURL == "" {
		oldURL = "http://" + oldURI
	}
	if u, err := url.Parse(oldURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return aegir.FieldErrorf("old_url", "%q is not an http or https address", oldURL)
	}
	newURL := siteURL(s)
	if oldURI == s.URI && strings.TrimRight(oldURL, "/") == strings.TrimRight(newURL, "/") {
		return nil
	}
	job := map[string]string{
		"uri": s.URI, "url": strings.TrimRight(newURL, "/"),
		"old_uri": oldURI, "old_url": strings.TrimRight(oldURL, "/"),
	}
	var result struct {
		Changed map[string]int `json:"changed"`
	}
	if major == 7 {
		if err := d.runHelper(ctx, s, "rewrite7.php", job, &result); err != nil {
			return fmt.Errorf("rewrite %s as %s: %w", oldURI, s.URI, err)
		}
	} else {
		drush, err := platformDrush(s, version, "rewrites a site's address")
		if err != nil {
			return err
		}
		script, err := helperScript(job, "rewrite.php", "rewrite8.php")
		if err != nil {
			return err
		}
		out, err := d.drush(ctx, s, drush, script, "php:script", "-")
		if err != nil {
			return fmt.Errorf("rewrite %s as %s: %w", oldURI, s.URI, err)
		}
		if err := json.Unmarshal([]byte(lastLine(out)), &result); err != nil {
			return fmt.Errorf("rewrite %s as %s: the script printed %q", oldURI, s.URI, truncate(lastLine(out), 200))
		}
	}
	var places []string
	for place, n := range result.Changed {
		if n > 0 {
			places = append(places, fmt.Sprintf("%s %d", place, n))
		}
	}
	sort.Strings(places)
	if len(places) == 0 {
		places = []string{"nothing held them"}
	}
	d.logf("rewrote %s (%s) as %s (%s) in the database of %s: %s", oldURI, oldURL, s.URI, newURL, s.URI, strings.Join(places, ", "))
	return nil
}

// Cron runs the site's cron once. Drupal 7 bootstraps the site in an
// embedded PHP helper and calls drupal_cron_run(), as cron.php does; when
// the site is in maintenance mode (cron.php refuses then too) or its cron is
// already running, cron does not run and a warning says why. Drupal 8+ runs
// "drush core:cron".
func (d *Drupal) Cron(ctx context.Context, s *aegir.AppSite) error {
	version, major, err := d.installed(s)
	if err != nil {
		return err
	}
	if major >= 8 {
		drush, err := platformDrush(s, version, "runs cron")
		if err != nil {
			return err
		}
		if _, err := d.drush(ctx, s, drush, nil, "core:cron"); err != nil {
			return fmt.Errorf("cron of %s: %w", s.URI, err)
		}
		return nil
	}
	var result struct {
		Ran      bool     `json:"ran"`
		Reason   string   `json:"reason"`
		Messages []string `json:"messages"`
	}
	if err := d.runHelper(ctx, s, "cron7.php", map[string]string{"uri": s.URI}, &result); err != nil {
		return fmt.Errorf("cron of %s: %w", s.URI, err)
	}
	if !result.Ran {
		d.warnf("cron of %s did not run: %s", s.URI, result.Reason)
		return nil
	}
	for _, m := range result.Messages {
		d.logf("drupal: %s", m)
	}
	return nil
}

// FlushCache clears every cache of the site: Drupal 7 calls
// drupal_flush_all_caches() from an embedded helper, Drupal 8+ runs
// "drush cache:rebuild".
func (d *Drupal) FlushCache(ctx context.Context, s *aegir.AppSite) error {
	version, major, err := d.installed(s)
	if err != nil {
		return err
	}
	if major >= 8 {
		drush, err := platformDrush(s, version, "rebuilds a site's caches")
		if err != nil {
			return err
		}
		if _, err := d.drush(ctx, s, drush, nil, "cache:rebuild"); err != nil {
			return fmt.Errorf("flush the caches of %s: %w", s.URI, err)
		}
	} else {
		var result struct {
			Flushed bool `json:"flushed"`
		}
		if err := d.runHelper(ctx, s, "flush7.php", map[string]string{"uri": s.URI}, &result); err != nil {
			return fmt.Errorf("flush the caches of %s: %w", s.URI, err)
		}
	}
	d.logf("flushed the caches of %s", s.URI)
	return nil
}

var _ aegir.App = (*Drupal)(nil)
