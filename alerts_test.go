package aegir

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzAlertSubscriptionValidate: a subscription that passes names only
// known events and, if any, an http(s) webhook with a host, no user name
// and a secret of 16 to 256 characters.
func FuzzAlertSubscriptionValidate(f *testing.F) {
	f.Add("site_down,site_up", "https://hooks.example/aegir", "0123456789abcdef")
	f.Add("backup_failed", "http://user:pw@h.example/", "0123456789abcdef")
	f.Add("site", "file:///etc/passwd", "x")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, events, hook, secret string) {
		a := &AlertSubscription{WebhookURL: hook, WebhookSecret: secret}
		if events != "" {
			a.Events = strings.Split(events, ",")
		}
		if a.Validate() != nil {
			return
		}
		for _, e := range a.Events {
			if !a.Wants(e) || !slices.Contains(AlertEvents, e) {
				t.Fatalf("event %q passed", e)
			}
		}
		if hook == "" {
			return
		}
		u, err := url.Parse(hook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(secret) < 16 {
			t.Fatalf("webhook %q with a secret of %d passed", hook, len(secret))
		}
	})
}
