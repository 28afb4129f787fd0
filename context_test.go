package aegir_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestValidateURIRejectsWhatAegirRejects(t *testing.T) {
	t.Parallel()
	good := []string{"example.com", "a.b-c.example", "x", "www.example.co.uk", "1.example.com"}
	bad := map[string]string{
		"":                                   "empty",
		"Example.com":                        "uppercase",
		"a..b":                               "empty label",
		"a;b.com":                            "semicolon",
		"a'b.com":                            "quote",
		"a b.com":                            "space",
		"-a.com":                             "leading hyphen",
		"a-.com":                             "trailing hyphen",
		"a_b.com":                            "underscore",
		"a/b.com":                            "slash",
		"../etc":                             "dot dot",
		strings.Repeat("a", 64) + ".com":     "label over 63",
		strings.Repeat("abcdefgh.", 30) + "": "over 253",
	}
	for _, uri := range good {
		if err := aegir.ValidateURI("uri", uri); err != nil {
			t.Errorf("ValidateURI(%q) = %v, want nil", uri, err)
		}
	}
	for uri, why := range bad {
		err := aegir.ValidateURI("uri", uri)
		if err == nil {
			t.Errorf("ValidateURI(%q) accepted (%s)", uri, why)
			continue
		}
		if aegir.ErrorCode(err) != aegir.EINVALID || !strings.HasPrefix(err.Error(), "uri: ") {
			t.Errorf("ValidateURI(%q) = %v, want an EINVALID error naming uri", uri, err)
		}
	}
}

func TestSetPropertyParsesAndResets(t *testing.T) {
	t.Parallel()
	c, err := aegir.NewContext("@server_master", aegir.ServerContext)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ name, value string }{
		{"http-port", "8080"},
		{"http_test_cmd", "nginx -p /tmp/x -t"},
		{"http_restart_cmd", `["nginx","-s","reload"]`},
		{"db_grant_all_hosts", "1"},
		{"master_db", "mysql://root:pw@127.0.0.1:3306"},
	}
	for _, s := range steps {
		if err := c.SetProperty(s.name, s.value); err != nil {
			t.Fatalf("SetProperty(%s, %s) = %v", s.name, s.value, err)
		}
	}
	if got := c.Server; got.HTTPPort != 8080 || strings.Join(got.HTTPTestCmd, "|") != "nginx|-p|/tmp/x|-t" ||
		len(got.HTTPRestartCmd) != 3 || !got.DBGrantAllHosts {
		t.Fatalf("server = %+v", got)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProperty("http_port", "null"); err != nil || c.Server.HTTPPort != 0 {
		t.Fatalf("null did not reset http_port: %v %d", err, c.Server.HTTPPort)
	}
	for _, bad := range []struct{ name, value, field string }{
		{"http_port", "x", "http_port"},
		{"colour", "blue", "colour"},
		{"db_grant_all_hosts", "maybe", "db_grant_all_hosts"},
		{"http_conf_link", "relative/path", "http_conf_link"},
	} {
		err := c.SetProperty(bad.name, bad.value)
		if err == nil || !strings.HasPrefix(err.Error(), bad.field+": ") {
			t.Errorf("SetProperty(%s, %s) = %v, want an error naming %s", bad.name, bad.value, err, bad.field)
		}
	}
}

func TestSiteValidateChecksAliasesAndRedirection(t *testing.T) {
	t.Parallel()
	site := func(mod func(*aegir.Site)) *aegir.Site {
		s := &aegir.Site{URI: "example.com", Platform: "@platform_a", Aliases: []string{"www.example.com"}}
		mod(s)
		return s
	}
	cases := []struct {
		name  string
		site  *aegir.Site
		field string
	}{
		{"valid", site(func(*aegir.Site) {}), ""},
		{"redirect to alias", site(func(s *aegir.Site) { s.Redirection = "www.example.com" }), ""},
		{"redirect elsewhere", site(func(s *aegir.Site) { s.Redirection = "other.com" }), "redirection"},
		{"alias is the uri", site(func(s *aegir.Site) { s.Aliases = []string{"example.com"} }), "aliases"},
		{"bad alias", site(func(s *aegir.Site) { s.Aliases = []string{"a b"} }), "aliases"},
		{"no platform", site(func(s *aegir.Site) { s.Platform = "" }), "platform"},
		{"bad email", site(func(s *aegir.Site) { s.ClientEmail = "x\"@y.com" }), "client_email"},
		{"bad language", site(func(s *aegir.Site) { s.Language = "en;rm" }), "language"},
	}
	for _, tc := range cases {
		err := tc.site.Validate()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field+": ")):
			t.Errorf("%s: got %v, want an error naming %s", tc.name, err, tc.field)
		}
	}
}

func TestParseMasterDB(t *testing.T) {
	t.Parallel()
	m, err := aegir.ParseMasterDB("mysql://aegir_root:s3cret@db.example.com:3307")
	if err != nil {
		t.Fatal(err)
	}
	if m.User != "aegir_root" || m.Password != "s3cret" || m.Host != "db.example.com" || m.Port != 3307 {
		t.Fatalf("parsed %+v", m)
	}
	if strings.Contains(m.String(), "s3cret") {
		t.Fatalf("String() leaks the password: %s", m)
	}
	for _, bad := range []string{"postgres://a@b", "mysql://host:3306", "mysql://u@h:99999", "nonsense"} {
		if _, err := aegir.ParseMasterDB(bad); err == nil {
			t.Errorf("ParseMasterDB(%q) accepted", bad)
		}
	}
}

func TestNullIsAServiceTypeNotAReset(t *testing.T) {
	t.Parallel()
	c, _ := aegir.NewContext("server_x", aegir.ServerContext)
	if err := c.SetProperty("http_service_type", "null"); err != nil || c.Server.HTTPServiceType != aegir.ServiceNull {
		t.Fatalf("http_service_type=null gave %q, %v", c.Server.HTTPServiceType, err)
	}
	if err := c.SetProperty("db-service-type", "null"); err != nil || c.Server.DBServiceType != aegir.ServiceNull {
		t.Fatalf("db_service_type=null gave %q, %v", c.Server.DBServiceType, err)
	}
}

func TestCloneSharesNothing(t *testing.T) {
	site, _ := aegir.NewContext("a.example", aegir.SiteContext)
	site.Site.Aliases = []string{"www.a.example"}
	site.Site.DBName = "adb"
	cp := site.Clone()
	if !reflect.DeepEqual(cp, site) {
		t.Fatalf("clone %+v differs from %+v", cp.Site, site.Site)
	}
	cp.Site.Aliases[0], cp.Site.DBName = "changed", "other"
	if site.Site.Aliases[0] != "www.a.example" || site.Site.DBName != "adb" {
		t.Fatalf("changing the clone changed the original: %+v", site.Site)
	}
	server, _ := aegir.NewContext("server_master", aegir.ServerContext)
	server.Server.HTTPTestCmd = []string{"nginx", "-t"}
	cs := server.Clone()
	cs.Server.HTTPTestCmd[0] = "apache2ctl"
	if server.Server.HTTPTestCmd[0] != "nginx" || cs.Platform != nil || cs.Site != nil {
		t.Fatalf("server clone shares its lists: %+v", server.Server)
	}
}

func TestPerSitePoolsNeedALocalWebServerAndSafeCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(s *aegir.Server)
		ok   bool
	}{
		{"nginx", func(s *aegir.Server) {}, true},
		{"apache", func(s *aegir.Server) { s.HTTPServiceType = aegir.ServiceApache }, true},
		{"no http service", func(s *aegir.Server) { s.HTTPServiceType = aegir.ServiceNull }, false},
		{"remote", func(s *aegir.Server) { s.RemoteHost = "web1.example.com" }, false},
		{"shell as test", func(s *aegir.Server) { s.PHPFPMTestCmd = []string{"sh", "-c", "php-fpm8.2 -t"} }, false},
		{"sudo shell as reload", func(s *aegir.Server) { s.PHPFPMReloadCmd = []string{"sudo", "-n", "bash", "-c", "x"} }, false},
	}
	for _, tt := range tests {
		s := &aegir.Server{PHPFPMPools: true}
		tt.edit(s)
		s.Defaults()
		if err := s.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}

func TestServerSSHPropertiesAreValidated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(s *aegir.Server)
		err  string // the field named, or "" when valid
	}{
		{"host name", func(s *aegir.Server) { s.RemoteHost = "web1.example.com" }, ""},
		{"ipv4", func(s *aegir.Server) { s.RemoteHost = "10.0.0.11" }, ""},
		{"ipv6", func(s *aegir.Server) { s.RemoteHost = "fd00::11" }, ""},
		{"option as host", func(s *aegir.Server) { s.RemoteHost = "-oProxyCommand=x" }, "remote_host"},
		{"user in host", func(s *aegir.Server) { s.RemoteHost = "root@web1" }, "remote_host"},
		{"ipv6 zone", func(s *aegir.Server) { s.RemoteHost = "fe80::1%eth0" }, "remote_host"},
		{"port", func(s *aegir.Server) { s.SSHPort = 2222 }, ""},
		{"port too big", func(s *aegir.Server) { s.SSHPort = 70000 }, "ssh_port"},
		{"user", func(s *aegir.Server) { s.SSHUser = "aegir2" }, ""},
		{"user as option", func(s *aegir.Server) { s.SSHUser = "-l" }, "ssh_user"},
		{"user with host", func(s *aegir.Server) { s.SSHUser = "aegir@x" }, "ssh_user"},
		{"cluster", func(s *aegir.Server) {
			s.HTTPServiceType, s.ClusterWebServers = aegir.ServiceCluster, []string{"@server_web1", "@server_web2"}
		}, ""},
		{"cluster without members", func(s *aegir.Server) { s.HTTPServiceType = aegir.ServiceCluster }, "cluster_web_servers"},
		{"cluster member twice", func(s *aegir.Server) {
			s.HTTPServiceType, s.ClusterWebServers = aegir.ServiceCluster, []string{"@server_web1", "server_web1"}
		}, "cluster_web_servers"},
		{"cluster member path", func(s *aegir.Server) {
			s.HTTPServiceType, s.ClusterWebServers = aegir.ServiceCluster, []string{"@../x"}
		}, "cluster_web_servers"},
		{"members of a web server", func(s *aegir.Server) { s.ClusterWebServers = []string{"@server_web1"} }, "cluster_web_servers"},
		{"cluster with an address", func(s *aegir.Server) {
			s.HTTPServiceType, s.ClusterWebServers, s.RemoteHost = aegir.ServiceCluster, []string{"@server_web1"}, "10.0.0.5"
		}, "remote_host"},
	}
	for _, tt := range tests {
		s := &aegir.Server{}
		tt.edit(s)
		s.Defaults()
		err := s.Validate()
		if tt.err == "" && err != nil {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: Validate() = %v, want an error naming %s", tt.name, err, tt.err)
		}
	}
}
