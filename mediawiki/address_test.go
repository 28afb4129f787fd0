package mediawiki

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestWriteSettingsMovesAnInstalledWikiToItsNewScheme shows a wiki needs
// no address step when SSL is turned on: the verify's settings step
// writes the new URL into aegir.settings.php, and MediaWiki's server and
// canonical server (its redirects and full URLs) follow it.
func TestWriteSettingsMovesAnInstalledWikiToItsNewScheme(t *testing.T) {
	m, s, _ := installWiki(t, "http://URI:8123")
	if _, ok := any(m).(aegir.AddressReader); ok {
		t.Error("MediaWiki reads a site address: its settings hold it")
	}
	for _, url := range []string{"https://" + s.URI + ":8443", "http://" + s.URI + ":8123"} {
		s.URL = url
		if err := m.WriteSettings(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		out, err := maintenance(t, s, m.siteEnv(s), "maintenance/getConfiguration.php",
			"--settings=wgServer wgCanonicalServer", "--format=json")
		if err != nil {
			t.Fatalf("getConfiguration: %v %s", err, out)
		}
		var conf map[string]string
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &conf); err != nil {
			t.Fatalf("getConfiguration printed %q: %v", out, err)
		}
		if conf["wgServer"] != url || conf["wgCanonicalServer"] != url {
			t.Errorf("wgServer %q, wgCanonicalServer %q, want %s", conf["wgServer"], conf["wgCanonicalServer"], url)
		}
	}
}
