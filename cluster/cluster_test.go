//go:build linux

package cluster_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/cluster"
	"github.com/aegir-hosting/aegir/httpservicetest"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/nginx"
)

// member is one web server of the test's cluster: a private nginx.
type member struct {
	name  string
	nginx *teststack.Nginx
	svc   aegir.HTTPService
	port  int
}

// newCluster starts n private nginx servers and returns the cluster
// service over them, verified, with its members.
func newCluster(t *testing.T, n int) (aegir.HTTPService, []*member) {
	t.Helper()
	home := t.TempDir()
	var ms []*member
	for i := range n {
		ng := teststack.StartNginx(t)
		m := &member{name: "server_web" + string(rune('1'+i)), nginx: ng, port: teststack.FreePort(t)}
		server := &aegir.Server{HTTPServiceType: aegir.ServiceNginx, HTTPPort: m.port,
			HTTPConfLink: filepath.Join(ng.ConfD, "aegir.conf"), HTTPTestCmd: ng.TestCmd(), HTTPRestartCmd: ng.ReloadCmd(),
			PHPFPMSocket: "/run/php/php8.2-fpm.sock"}
		server.Defaults()
		env := aegir.Env{Paths: aegir.Paths{Home: home}, Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)}
		svc, err := nginx.New(server, m.name, env)
		if err != nil {
			t.Fatal(err)
		}
		m.svc = svc
		ms = append(ms, m)
	}
	env := aegir.Env{Paths: aegir.Paths{Home: home}, Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil),
		ClusterMembers: func(context.Context) ([]aegir.ClusterMember, error) {
			var out []aegir.ClusterMember
			for _, m := range ms {
				out = append(out, aegir.ClusterMember{Name: m.name, HTTP: m.svc, Runner: &local.Runner{}})
			}
			return out, nil
		}}
	svc, err := cluster.New(&aegir.Server{HTTPServiceType: aegir.ServiceCluster}, "server_cluster1", env)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.VerifyServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc, ms
}

// TestConformance runs the HTTPService conformance suite on a cluster of
// two private nginx servers, through the first's port; the second is
// checked to serve the same in TestClusterServesFromEveryMember.
func TestConformance(t *testing.T) {
	t.Parallel()
	httpservicetest.Exercise(t, func(t *testing.T) *httpservicetest.Stack {
		svc, ms := newCluster(t, 2)
		vhostFile := ms[0].svc.(*nginx.Nginx).VhostFile
		return &httpservicetest.Stack{Service: svc, Port: ms[0].port, VhostFile: vhostFile,
			Break: func(v *aegir.Vhost) { v.App = "nonexistent" },
			Apps:  []string{"static"}}
	})
}

// TestClusterServesFromEveryMember writes a site through the cluster and
// gets it from each member; with the second member's nginx stopped, a new
// site fails naming that member and the first no longer serves it (its
// change undone), while the first site goes on being served.
func TestClusterServesFromEveryMember(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, ms := newCluster(t, 2)
	root := httpservicetest.StaticRoot(t, "served by the cluster")
	if _, err := svc.WritePlatform(ctx, "platform_a", root, "static"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.WriteSite(ctx, &aegir.Vhost{URI: "a.test", Root: root, App: "static"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		httpservicetest.Expect(t, m.port, "a.test", "/", 200, "served by the cluster")
	}

	ms[1].nginx.Stop()
	_, err := svc.WriteSite(ctx, &aegir.Vhost{URI: "b.test", Root: root, App: "static"})
	if err == nil || !strings.Contains(err.Error(), "server_web2") {
		t.Fatalf("a change with server_web2 down: %v, want an error naming it", err)
	}
	httpservicetest.Expect(t, ms[0].port, "b.test", "/", 404, "")
	httpservicetest.Expect(t, ms[0].port, "a.test", "/", 200, "served by the cluster")

	// Without a way to its members, a cluster is refused by name.
	if _, err := cluster.New(&aegir.Server{HTTPServiceType: aegir.ServiceCluster}, "server_cluster1", aegir.Env{}); err == nil || !strings.Contains(err.Error(), "server_cluster1") {
		t.Fatalf("a cluster without members: %v", err)
	}
}
