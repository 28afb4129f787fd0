package wordpress

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/phpfile"
)

// loginTTL is how long a login link stays valid.
const loginTTL = 24 * time.Hour

// runHelper runs the embedded PHP helper with job for site s, from the
// platform root, and decodes its JSON result into out. The helper goes to
// PHP on standard input behind a prelude that holds the job, so secrets in
// the job never reach a command line or a file; the database credentials
// and AEGIR_SITE are in the environment, as the web server would pass them.
func (w *WordPress) runHelper(ctx context.Context, s *aegir.AppSite, job map[string]any, out any) error {
	if w.env.Runner == nil {
		return aegir.Errorf(aegir.EINTERNAL, "wordpress: no runner")
	}
	if err := aegir.ValidateURI("uri", s.URI); err != nil {
		return err
	}
	if s.DB == nil || s.DB.Name == "" {
		return aegir.Errorf(aegir.EINVALID, "wordpress site %s has no database", s.URI)
	}
	helper, err := files.ReadFile("files/helper.php")
	if err != nil {
		return err
	}
	job["root"], job["url"] = s.Root, strings.TrimRight(s.URL, "/")
	data, err := json.Marshal(job)
	if err != nil {
		return err
	}
	var script bytes.Buffer
	fmt.Fprintf(&script, "<?php\n$aegir_job = json_decode(%s, true);\n?>", phpfile.Quote(string(data)))
	script.Write(helper)
	stdout, err := w.env.Runner.Run(ctx, aegir.Command{
		Args:  []string{"php", "-d", "display_errors=stderr", "-d", "log_errors=0"},
		Dir:   s.Root,
		Env:   append(s.DB.Env(), "AEGIR_SITE="+s.URI),
		Stdin: &script,
	})
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(last), out); err != nil {
		return fmt.Errorf("unexpected output of the WordPress helper: %q", strings.TrimSpace(string(stdout)))
	}
	return nil
}

// Install installs WordPress in the site's database with wp_install(): the
// title is the site's URI, the admin account is admin, and the site's
// address (home and siteurl) is s.URL. A language other than English is
// used when the platform has it, else the site is in English with a warning.
func (w *WordPress) Install(ctx context.Context, s *aegir.AppSite, admin aegir.Admin) error {
	if s.DB == nil || s.DB.Name == "" {
		return aegir.Errorf(aegir.EINVALID, "wordpress site %s has no database", s.URI)
	}
	email := admin.Email
	if email == "" {
		email = s.Email
	}
	var result struct {
		UserID   int      `json:"user_id"`
		Warnings []string `json:"warnings"`
	}
	err := w.runHelper(ctx, s, map[string]any{
		"action":   "install",
		"title":    s.URI,
		"user":     admin.Name,
		"email":    email,
		"password": admin.Password,
		"language": s.Language,
	}, &result)
	if err != nil {
		return fmt.Errorf("install wordpress site %s: %w", s.URI, err)
	}
	for _, warning := range result.Warnings {
		w.warnf("%s", warning)
	}
	w.infof("installed WordPress site %s, admin %s (user %d)", s.URL, admin.Name, result.UserID)
	return nil
}

// LoginLink makes a one-time login link for the site's first
// administrator, valid for a day: the token's sha256 is stored in the site's
// database for the aegir-login must-use plugin, which checks and deletes it.
func (w *WordPress) LoginLink(ctx context.Context, s *aegir.AppSite) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	var result struct {
		User string `json:"user"`
	}
	err := w.runHelper(ctx, s, map[string]any{
		"action":  "login",
		"hash":    hex.EncodeToString(sum[:]),
		"expires": time.Now().Add(loginTTL).Unix(),
	}, &result)
	if err != nil {
		return "", fmt.Errorf("login link for wordpress site %s: %w", s.URI, err)
	}
	return strings.TrimRight(s.URL, "/") + "/wp-login.php?aegir_login=" + token, nil
}
