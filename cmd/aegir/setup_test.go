package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

// TestSetupServerTurnsAnEarlierNginxReloadIntoTheSignal: a server context
// an earlier setup wrote with `nginx -s reload` gets the reload by signal
// (and the test command with it); one set by hand is left alone.
func TestSetupServerTurnsAnEarlierNginxReloadIntoTheSignal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nginx := lookPath("nginx", "/usr/sbin/nginx")
	for _, tc := range []struct {
		restart []string
		changed bool
	}{
		{[]string{"sudo", "-n", nginx, "-s", "reload"}, true},
		{[]string{"sudo", "-n", "/usr/local/bin/reload-nginx"}, false},
	} {
		paths := aegir.Paths{Home: t.TempDir()}
		c, _ := aegir.NewContext(aegir.MasterServer, aegir.ServerContext)
		c.Server.HTTPTestCmd, c.Server.HTTPRestartCmd = []string{"sudo", "-n", nginx, "-t"}, tc.restart
		if err := contextfile.New(paths).Put(ctx, c); err != nil {
			t.Fatal(err)
		}
		m, _, _ := testMain(paths.Home)
		o, err := parseOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		server, err := m.setupServer(ctx, paths, o, true)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(server.HTTPRestartCmd, " ")
		if changed := strings.Contains(got, "--signal HUP") && strings.HasPrefix(got, "sudo -n "); changed != tc.changed {
			t.Errorf("restart command %v became %q", tc.restart, got)
		}
		if !tc.changed && got != strings.Join(tc.restart, " ") {
			t.Errorf("a restart command set by hand became %q", got)
		}
	}
}
