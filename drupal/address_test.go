package drupal_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestSettingsDoNotDependOnTheSiteScheme shows a Drupal site needs no
// address step when SSL is turned on or its port changes: the settings
// aegir writes are the same for any scheme and port (no $base_url, so
// Drupal takes its address from each request), and the driver reads no
// address from the site's data.
func TestSettingsDoNotDependOnTheSiteScheme(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	if _, ok := app.(aegir.AddressReader); ok {
		t.Error("the Drupal driver reads a site address")
	}
	for _, fixture := range []string{"d7", "d8"} {
		t.Run(fixture, func(t *testing.T) {
			root := platform(t, fixture, nil)
			s := site(root, "example.com", "www.example.com")
			var written [][]byte
			for _, url := range []string{"http://example.com:8080", "https://example.com:8443"} {
				s.URL = url
				if err := app.WriteSettings(context.Background(), s); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(s.SiteDir, "settings.php"))
				if err != nil {
					t.Fatal(err)
				}
				for _, part := range []string{"base_url", "8080", "8443", "https://"} {
					if bytes.Contains(b, []byte(part)) {
						t.Errorf("the settings for %s hold %q", url, part)
					}
				}
				written = append(written, b)
			}
			if !bytes.Equal(written[0], written[1]) {
				t.Error("the settings differ between http and https")
			}
		})
	}
}
