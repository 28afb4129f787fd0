package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// siteContext reads a site's context file as the test's root user can.
func (s *stack) siteContext(uri string) map[string]any {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(s.home, "contexts", uri+".yml"))
	if err != nil {
		s.t.Fatal(err)
	}
	var c map[string]any
	if err := yaml.Unmarshal(data, &c); err != nil {
		s.t.Fatal(err)
	}
	return c
}

// sitePHP runs PHP code for a site from its platform root, with the
// site's cloaked credentials in the environment as the web server would
// pass them, and returns its output.
func (s *stack) sitePHP(root, uri, code string) string {
	s.t.Helper()
	return s.runSitePHP(root, uri, nil, code)
}

// runSitePHP runs php with args for a site, stdin as its input.
func (s *stack) runSitePHP(root, uri string, args []string, stdin string) string {
	s.t.Helper()
	c := s.siteContext(uri)
	cmd := exec.Command("php", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"AEGIR_SITE="+uri, "HTTP_HOST="+uri,
		"MW_CONFIG_FILE="+filepath.Join(root, "sites", uri, "LocalSettings.php"),
		"db_type=mysql", "db_host=127.0.0.1", "db_port=3306",
		"db_name="+str(c["db_name"]), "db_user="+str(c["db_user"]), "db_passwd="+str(c["db_passwd"]))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("php for %s: %v\n%s\n%s", uri, err, out.String(), errOut.String())
	}
	return out.String()
}

func str(v any) string {
	if v == nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

// wpPHP runs code inside a loaded WordPress site.
func (s *stack) wpPHP(root, uri, code string) string {
	s.t.Helper()
	return s.sitePHP(root, uri, "<?php define('WP_USE_THEMES', false); $_SERVER['HTTP_HOST'] = '"+uri+"'; require 'wp-load.php';\n"+code)
}
