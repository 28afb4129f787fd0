package teststack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"
)

// FreePort returns a TCP port of 127.0.0.1 nothing listens on at the
// moment.
func FreePort(t testing.TB) int {
	t.Helper()
	// The kernel may hand the same free port to two binds in a row once
	// the first is closed, and the caller binds it only later: a port
	// handed out before is not handed out again by this test process.
	givenPorts.Lock()
	defer givenPorts.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !givenPorts.m[port] {
			givenPorts.m[port] = true
			return port
		}
	}
	t.Fatal("no free port not handed out before in 100 tries")
	return 0
}

// givenPorts are the ports FreePort has handed out in this process.
var givenPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// HostClient returns an HTTP client that dials 127.0.0.1:port for every
// URL, so sites are fetched by their real names (http://HOST:port/...). It
// keeps cookies, as a browser, and returns redirects instead of following
// them. It opens a new connection per request, since after a reload a
// kept-alive one may still reach an old nginx worker with the previous
// configuration.
func HostClient(port int) *http.Client {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// WaitFor polls cond for up to 5 s and fails the test if it never holds.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 5 s")
}
