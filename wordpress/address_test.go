package wordpress

import (
	"context"
	"testing"
)

func TestSiteAddressIsTheHomeOptionWithoutItsSlash(t *testing.T) {
	w, s, _ := installSite(t, "http://URI:8123")
	ctx := context.Background()
	got, err := w.SiteAddress(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got != s.URL {
		t.Errorf("SiteAddress = %q, want %q", got, s.URL)
	}
	// home is what pages link to: it wins over siteurl.
	phpEval(t, s, `require 'wp-load.php'; update_option('home', 'https://`+s.URI+`:8443/'); update_option('siteurl', 'http://`+s.URI+`:8123/wp');`)
	if got, err = w.SiteAddress(ctx, s); err != nil || got != "https://"+s.URI+":8443" {
		t.Errorf("SiteAddress = %q, %v, want https://%s:8443", got, err, s.URI)
	}
}

func TestSiteAddressOfADatabaseWithoutWordPressIsAnError(t *testing.T) {
	requirePHP(t)
	w := New(testEnv()).(*WordPress)
	s := newSite(t, platform(t), "http://URI", newDatabase(t))
	if got, err := w.SiteAddress(context.Background(), s); err == nil {
		t.Errorf("SiteAddress of an empty database = %q, want an error", got)
	}
}
