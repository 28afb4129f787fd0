package provision

import (
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestAddressOfTellsTheSiteURLAMovedAddressAndAForeignOne(t *testing.T) {
	t.Parallel()
	site := &aegir.Site{URI: "a.example.com", Aliases: []string{"www.a.example.com"}}
	for _, tc := range []struct {
		stored, current string
		want            addressKind
	}{
		{"https://a.example.com", "https://a.example.com", addressCurrent},
		{"HTTPS://A.Example.com:443/", "https://a.example.com", addressCurrent},
		{"http://a.example.com:80", "http://a.example.com", addressCurrent},
		{"http://a.example.com:8080", "https://a.example.com:8443", addressMoved},
		{"http://a.example.com", "https://a.example.com", addressMoved},
		{"https://a.example.com", "http://a.example.com", addressMoved},
		{"http://a.example.com:8080", "http://a.example.com", addressMoved},
		// A redirection added or changed: the data moves to the name the
		// site is served under.
		{"http://a.example.com", "http://www.a.example.com", addressMoved},
		{"http://WWW.a.example.com", "http://a.example.com", addressMoved},
		{"http://b.example.com", "http://a.example.com", addressForeign},
		{"http://a.example.com.au", "http://a.example.com", addressForeign},
		{"http://a.example.com/blog", "http://a.example.com", addressForeign},
		{"ftp://a.example.com", "http://a.example.com", addressForeign},
		{"a.example.com", "http://a.example.com", addressForeign},
		{"http://user@a.example.com", "http://a.example.com", addressForeign},
	} {
		if got := addressOf(tc.stored, tc.current, site); got != tc.want {
			t.Errorf("addressOf(%q, %q) = %v, want %v", tc.stored, tc.current, got, tc.want)
		}
	}
}
