package webconf

import (
	"regexp"
	"testing"
)

// proxySafe is what an address written unquoted after proxy_pass may hold.
var proxySafe = regexp.MustCompile(`^[A-Za-z0-9.:\[\]-]+$`)

func TestCheckProxyTo(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:80": true,
		"127.0.0.1": false, "127.0.0.1:0": false, "127.0.0.1:70000": false, ":8080": false,
		"127.0.0.1:8080;": false, "a b:80": false, "x;y:80": false, "127.0.0.1:80/x": false, "$host:80": false,
	} {
		if err := CheckProxyTo(addr); (err == nil) != ok {
			t.Errorf("CheckProxyTo(%q) = %v, want ok %v", addr, err, ok)
		}
	}
}

// FuzzCheckProxyTo: an address CheckProxyTo accepts holds nothing a web
// server's configuration reads as syntax (no space, ';', quote, '$',
// brace or '/').
func FuzzCheckProxyTo(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "[::1]:8080", "h:1", "127.0.0.1:80;", "a b:1", "{x}:1", "[::1;]:80", "x\n:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if CheckProxyTo(addr) == nil && !proxySafe.MatchString(addr) {
			t.Fatalf("CheckProxyTo accepted %q", addr)
		}
	})
}
