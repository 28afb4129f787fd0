package main

import (
	"context"
	"os"
	"path/filepath"
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

func TestSetupLetsAegirRunTheSiteUserHelperOnlyWithPools(t *testing.T) {
	dir := t.TempDir()
	server := &aegir.Server{
		HTTPTestCmd: []string{"sudo", "-n", "/usr/sbin/nginx", "-t"}, HTTPRestartCmd: []string{"sudo", "-n", "/usr/sbin/nginx", "-s", "reload"},
		PHPFPMTestCmd: []string{"sudo", "-n", "/usr/sbin/php-fpm8.2", "-t"}, PHPFPMReloadCmd: []string{"sudo", "-n", "/usr/bin/kill", "-USR2", "1"},
	}
	rule := func() string {
		path := filepath.Join(dir, "aegir")
		if err := writeSudoers(context.Background(), path, "aegir", server); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if got := rule(); strings.Contains(got, "site-user") || strings.Contains(got, "php-fpm") {
		t.Errorf("without pools the rule names php-fpm or the helper:\n%s", got)
	}
	server.PHPFPMPools = true
	got := rule()
	for _, want := range []string{"/usr/sbin/php-fpm8.2 -t", "/usr/bin/kill -USR2 1", " site-user *"} {
		if !strings.Contains(got, want) {
			t.Errorf("with pools the rule lacks %q:\n%s", want, got)
		}
	}

	include := filepath.Join(dir, "pool.d", "aegir.conf")
	if err := writePHPPoolInclude(include, "/var/aegir/config/server_master/php-fpm"); err == nil {
		t.Error("wrote the include into a missing pool.d")
	}
	os.Mkdir(filepath.Dir(include), 0o755)
	if err := writePHPPoolInclude(include, "/var/aegir/config/server_master/php-fpm"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(include); !strings.Contains(string(data), "include = /var/aegir/config/server_master/php-fpm/*.conf\n") {
		t.Errorf("include file:\n%s", data)
	}
}

func TestSetupWithPoolsTestsAndReloadsPHPFPMThroughSudo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	paths := aegir.Paths{Home: t.TempDir()}
	m, _, _ := testMain(paths.Home)
	o, err := parseOptions([]string{"--php_fpm_pools=true"})
	if err != nil {
		t.Fatal(err)
	}
	server, err := m.setupServer(ctx, paths, o, true)
	if err != nil {
		t.Fatal(err)
	}
	test, reload := strings.Join(server.PHPFPMTestCmd, " "), strings.Join(server.PHPFPMReloadCmd, " ")
	if !server.PHPFPMPools || !strings.HasPrefix(test, "sudo -n ") || !strings.HasSuffix(test, "php-fpm8.2 -t") {
		t.Errorf("pools %v, test command %q", server.PHPFPMPools, test)
	}
	if !strings.HasPrefix(reload, "sudo -n ") || !strings.Contains(reload, "--signal USR2") || !strings.HasSuffix(reload, "php-fpm8.2") {
		t.Errorf("reload command %q", reload)
	}
}
