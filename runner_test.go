package aegir

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestCommandFailedLeadsWithTheError: the message of a failed command
// starts with what went wrong, not with the end of a PHP stack trace.
func TestCommandFailedLeadsWithTheError(t *testing.T) {
	var trace strings.Builder
	for i := range 27 {
		fmt.Fprintf(&trace, "#%d /srv/web/core/lib/Drupal/Core/Form/FormBuilder.php(%d): Drupal\\Core\\Form\\FormSubmitter->doSubmitForm()\n", i, 100+i)
	}
	for _, tc := range []struct {
		name, out, lead string
	}{
		{"php fatal error and a long trace",
			" [notice] Starting Drupal installation.\nPHP Fatal error:  Uncaught Error: Cannot use object of type stdClass as array in /srv/web/core/lib/Drupal/Core/Site/SettingsEditor.php:118\nStack trace:\n" + trace.String() + strings.Repeat("x", 5000) + "\n [warning] Drush command terminated abnormally.",
			"PHP Fatal error:  Uncaught Error: Cannot use object of type stdClass as array in /srv/web/core/lib/Drupal/Core/Site/SettingsEditor.php:118"},
		{"symfony console block",
			" [notice] Performed install task: install_load_profile\n\nIn SiteInstallCommands.php line 181:\n                    \n  Default settings file:The default settings file does not exist.  \n  The Drupal installer requires it.  \n\n",
			"In SiteInstallCommands.php line 181: Default settings file:The default settings file does not exist. The Drupal installer requires it."},
		{"nothing that looks like an error", "just some output", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CommandFailed([]string{"drush", "site:install"}, errors.New("exit status 1"), []byte(tc.out), nil)
			msg := err.Error()
			head, rest, _ := strings.Cut(strings.TrimPrefix(msg, "drush site:install: exit status 1: "), "\n")
			if tc.lead != "" && head != tc.lead {
				t.Fatalf("message leads with %q, want %q", head, tc.lead)
			}
			if strings.Contains(msg, "#26 ") || strings.Contains(msg, "FormBuilder.php(") {
				t.Fatalf("stack trace lines kept:\n%s", msg)
			}
			if len(msg) > maxFailureOutput+100 {
				t.Fatalf("message of %d bytes", len(msg))
			}
			if tc.lead == "" && head != "just some output" {
				t.Fatalf("plain output became %q %q", head, rest)
			}
		})
	}
}
