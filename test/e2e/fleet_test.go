package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/aegir-hosting/aegir/internal/fleetlab"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestFleetServesWordPressFromARemoteWebServerWithARemoteDatabase builds
// master + web1 + web2 + db1 in network namespaces, every one raw (root
// only, by the master's key): aegir bootstrap prepares each, root's key is
// then taken away (so whatever follows proves nothing runs as root), a
// WordPress platform on web1 is pushed there, and a site with its database
// on db1 is installed and served from web1's address. Then the faults: a
// vhost web2 rejects leaves web2 serving its other site, a changed host key
// is refused naming both fingerprints, and a stopped web2 fails its task
// fast, naming it, with web1 unchanged. A site migrated from web2 to web1 is
// served there and gone from web2, its grants moved.
func TestFleetServesWordPressFromARemoteWebServerWithARemoteDatabase(t *testing.T) {
	// Four servers on a shared machine: the load limit is not what this
	// test is about.
	t.Setenv("AEGIR_LOAD_CRITICAL", "1000")
	s := newStack(t)
	s.setup()
	ctx := context.Background()
	pub, err := os.ReadFile(filepath.Join(s.home, ".ssh", "id_ed25519.pub"))
	if err != nil {
		t.Fatalf("aegir setup made no key: %v", err)
	}
	key, _, _, _, err := xssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	f := fleetlab.Start(t, fleetlab.Options{AuthorizedKey: key, Hide: []string{s.home}},
		fleetlab.Spec{Name: "web1", Role: fleetlab.RoleWeb},
		fleetlab.Spec{Name: "web2", Role: fleetlab.RoleWeb},
		fleetlab.Spec{Name: "db1", Role: fleetlab.RoleDB},
		fleetlab.Spec{Name: "db2", Role: fleetlab.RoleDB})
	web1, web2, db1, db2 := f.Servers["web1"], f.Servers["web2"], f.Servers["db1"], f.Servers["db2"]

	s.mustAegir("save", "@server_web1", "--context_type=server", "--remote_host="+web1.Addr, "--http_service_type=nginx")
	s.mustAegir("save", "@server_web2", "--context_type=server", "--remote_host="+web2.Addr, "--http_service_type=nginx")
	s.mustAegir("save", "@server_db1", "--context_type=server", "--remote_host="+db1.Addr, "--http_service_type=null")
	s.mustAegir("save", "@server_db2", "--context_type=server", "--remote_host="+db2.Addr, "--http_service_type=null")
	for _, srv := range []string{"server_web1", "server_web2", "server_db1", "server_db2"} {
		out := s.mustAegir("bootstrap", "@"+srv)
		// Again: idempotent, and the pinned key is the one offered.
		s.mustAegir("bootstrap", "@"+srv)
		t.Logf("bootstrap @%s:\n%s", srv, out)
	}
	kh, _ := os.ReadFile(filepath.Join(s.home, ".ssh", "known_hosts"))
	for _, srv := range []*fleetlab.Server{web1, web2, db1, db2} {
		if !strings.Contains(string(kh), strings.TrimSpace(string(xssh.MarshalAuthorizedKey(srv.HostKey)))) {
			t.Fatalf("the host key of %s was not pinned:\n%s", srv.Name, kh)
		}
		// After bootstrap nothing may run as root: take root's login away.
		if out, err := srv.Exec(ctx, "root", "rm", "-f", "/etc/ssh/authorized_keys/root"); err != nil {
			t.Fatalf("%s: %v %s", srv.Name, err, out)
		}
	}
	ctxFile, _ := os.ReadFile(filepath.Join(s.home, "contexts", "server_db1.yml"))
	if !strings.Contains(string(ctxFile), "mysql://aegir_root:") {
		t.Fatalf("bootstrap saved no master_db for db1:\n%s", ctxFile)
	}
	if st, err := os.Stat(filepath.Join(s.home, "contexts", "server_db1.yml")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("db1's context file: %v %v, want 0600", st.Mode(), err)
	}
	for _, srv := range []string{"server_web1", "server_web2", "server_db1", "server_db2"} {
		s.mustTask("verify", "@"+srv)
	}

	// WordPress on web1, its database on db1.
	root := filepath.Join(s.home, "platforms", "wp1")
	if err := teststack.CopyTree("/usr/share/wordpress", root); err != nil {
		t.Fatal(err)
	}
	s.mustAegir("save", "@platform_wp1", "--context_type=platform", "--root="+root, "--web_server=@server_web1")
	s.mustTask("verify", "@platform_wp1")
	if _, err := web1.ReadFile(filepath.Join(root, "wp-login.php")); err != nil {
		t.Fatalf("the platform was not pushed to web1: %v", err)
	}
	uri := "wp." + s.token + ".test"
	s.mustAegir("save", "@"+uri, "--context_type=site", "--platform=@platform_wp1", "--db_server=@server_db1")
	r := s.mustTask("install", "@"+uri)
	served := func(srv *fleetlab.Server, host, want string) bool {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := srv.HTTPGet(t, host, "/")
			if code == 200 && strings.Contains(body, want) {
				return true
			}
			if time.Now().After(deadline) {
				t.Logf("GET %s from %s = %d:\n%.500s", host, srv.Name, code, body)
				return false
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !served(web1, uri, uri) {
		t.Fatalf("%s is not served from web1", uri)
	}
	dbName := fmt.Sprint(r.Data["db_name"])
	out, err := db1.Exec(ctx, "root", "mysql", "-N", "-e", "SELECT host FROM mysql.user WHERE user = '"+dbName+"' ORDER BY host")
	if err != nil {
		t.Fatalf("grants on db1: %v %s", err, out)
	}
	hosts := strings.Fields(string(out))
	if !strings.Contains(string(out), web1.Addr) || strings.Contains(string(out), "%") {
		t.Fatalf("the site's db user may connect from %v, want web1's %s and not %%", hosts, web1.Addr)
	}
	if _, err := web2.ReadFile(filepath.Join(root, "wp-login.php")); err == nil {
		t.Fatal("web2 holds web1's platform")
	}

	// A vhost web2 rejects: web2 keeps serving its other site.
	root2 := filepath.Join(s.home, "platforms", "wp2")
	if err := teststack.CopyTree("/usr/share/wordpress", root2); err != nil {
		t.Fatal(err)
	}
	s.mustAegir("save", "@platform_wp2", "--context_type=platform", "--root="+root2, "--web_server=@server_web2")
	s.mustTask("verify", "@platform_wp2")
	a, b := "a."+s.token+".test", "b."+s.token+".test"
	for _, site := range []string{a, b} {
		s.mustAegir("save", "@"+site, "--context_type=site", "--platform=@platform_wp2", "--db_server=@server_db1")
		s.mustTask("install", "@"+site)
	}
	vhost := filepath.Join(s.home, "config", "server_web2", "nginx", "vhost.d", a+".conf")
	before, err := web2.ReadFile(vhost)
	if err != nil {
		t.Fatalf("the vhost was not pushed to web2: %v", err)
	}
	long := strings.Repeat("x", 60) + "." + strings.Repeat("y", 60) + "." + strings.Repeat("z", 60) + "." + s.token + ".test"
	s.mustAegir("save", "@"+a, "--aliases="+long)
	if r, err := s.task("verify", "@"+a); err == nil || !strings.Contains(fmt.Sprint(r.Log), "server_names_hash") {
		t.Fatalf("a vhost web2 rejects: %v %+v", err, r.Log)
	}
	if after, _ := web2.ReadFile(vhost); string(after) != string(before) {
		t.Fatalf("the rejected vhost was left on web2:\n%s", after)
	}
	for _, site := range []string{a, b} {
		if !served(web2, site, site) {
			t.Fatalf("%s is not served from web2 after the rejected vhost", site)
		}
	}

	// b moves from web2 and db1 to web1 and db2: served there with its
	// content and what users uploaded on web2, gone from web2 (vhost and
	// directory), its database on db2 granted to web1's address, the old
	// database and its user gone from db1.
	prop := func(site, key string) string {
		t.Helper()
		c, err := os.ReadFile(filepath.Join(s.home, "contexts", site+".yml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(c), "\n") {
			if v, ok := strings.CutPrefix(l, key+": "); ok {
				return strings.Trim(v, "\"' ")
			}
		}
		t.Fatalf("%s has no %s:\n%s", site, key, c)
		return ""
	}
	hostsOf := func(db *fleetlab.Server, user string) string {
		t.Helper()
		out, err := db.Exec(ctx, "root", "mysql", "-N", "-e", "SELECT host FROM mysql.user WHERE user = '"+user+"' ORDER BY host")
		if err != nil {
			t.Fatalf("grants of %q on %s: %v %s", user, db.Name, err, out)
		}
		return string(out)
	}
	oldUser, oldDB := prop(b, "db_user"), prop(b, "db_name")
	bDir := filepath.Join(root2, "sites", b)
	upload := filepath.Join(bDir, "files", "uploaded-on-web2.txt")
	if err := web2.WriteFile(ctx, "aegir", upload, []byte("made on web2"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.mustTask("migrate", "@"+b, "@platform_wp1", "--db_server=@server_db2")
	if !served(web1, b, b) {
		t.Fatalf("%s is not served from web1 after the migrate", b)
	}
	if code, body := web2.HTTPGet(t, b, "/"); code == 200 && strings.Contains(body, b) {
		t.Fatalf("%s is still served from web2 after the migrate", b)
	}
	if got, err := web1.ReadFile(filepath.Join(root, "sites", b, "files", "uploaded-on-web2.txt")); err != nil || string(got) != "made on web2" {
		t.Fatalf("the upload made on web2 is not on web1: %q %v", got, err)
	}
	if _, err := os.Stat(web2.Path(bDir)); !os.IsNotExist(err) {
		t.Fatalf("%s is still on web2 after the migrate: %v", bDir, err)
	}
	newUser := prop(b, "db_user")
	if g := hostsOf(db2, newUser); !strings.Contains(g, web1.Addr) || strings.Contains(g, web2.Addr) || strings.Contains(g, "%") {
		t.Fatalf("after the migrate to web1 and db2 %s's db user may connect to db2 from %q", b, g)
	}
	if g := hostsOf(db1, oldUser); strings.TrimSpace(g) != "" {
		t.Fatalf("after the migrate to db2 %s's old db user is still on db1, from %q", b, g)
	}
	if out, err := db1.Exec(ctx, "root", "mysql", "-N", "-e", "SHOW DATABASES LIKE '"+oldDB+"'"); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("the old database of %s is still on db1: %v %s", b, err, out)
	}

	// The master killed (-9) in the middle of a's move from web2 and db1 to
	// web1 and db2, once it has named the new database: a verify leaves a
	// served from one web server, gone from the other, and no database on
	// either db server that no site names.
	s.mustAegir("save", "@"+a, "--aliases=null")
	s.mustTask("verify", "@"+a)
	record := filepath.Join(root2, "sites", ".aegir-task-"+a)
	kill := exec.Command(aegirBin, "migrate", "@"+a, "@platform_wp1", "--db_server=@server_db2")
	kill.Env = append(os.Environ(), "AEGIR_HOME="+s.home, "AEGIR_ALLOW_ROOT=1")
	if err := kill.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if rec, _ := os.ReadFile(record); strings.Contains(string(rec), `"to":"`) {
			break
		}
		if time.Now().After(deadline) {
			kill.Process.Kill()
			t.Fatal("the migrate never named its new database")
		}
	}
	kill.Process.Signal(syscall.SIGKILL)
	kill.Wait()
	s.mustTask("verify", "@"+a)
	on, off, onRoot, offRoot := web2, web1, root2, root
	if prop(a, "platform") == "@platform_wp1" {
		on, off, onRoot, offRoot = web1, web2, root, root2
	}
	t.Logf("after the kill and the verify, %s is on %s", a, on.Name)
	if !served(on, a, a) {
		t.Fatalf("%s is not served from %s after the kill and the verify", a, on.Name)
	}
	if code, body := off.HTTPGet(t, a, "/"); code == 200 && strings.Contains(body, a) {
		t.Fatalf("%s is served from %s too", a, off.Name)
	}
	offConf := filepath.Join(s.home, "config", "server_"+off.Name, "nginx", "vhost.d", a+".conf")
	if _, err := os.Stat(off.Path(offConf)); !os.IsNotExist(err) {
		t.Fatalf("%s's vhost is left on %s: %v", a, off.Name, err)
	}
	if _, err := os.Stat(off.Path(filepath.Join(offRoot, "sites", a))); !os.IsNotExist(err) {
		t.Fatalf("%s's directory is left on %s: %v", a, off.Name, err)
	}
	if _, err := os.Stat(on.Path(filepath.Join(onRoot, "sites", a))); err != nil {
		t.Fatalf("%s's directory is not on %s: %v", a, on.Name, err)
	}
	named := map[string]bool{}
	for _, site := range []string{uri, a, b} {
		named[prop(site, "db_name")] = true
	}
	for _, db := range []*fleetlab.Server{db1, db2} {
		out, err := db.Exec(ctx, "root", "mysql", "-N", "-e", "SHOW DATABASES")
		if err != nil {
			t.Fatalf("%s: %v %s", db.Name, err, out)
		}
		for _, name := range strings.Fields(string(out)) {
			if !named[name] && !slices.Contains([]string{"information_schema", "mysql", "performance_schema", "sys"}, name) {
				t.Fatalf("database %s is left on %s, named by no site", name, db.Name)
			}
		}
	}

	// A cluster of web1 and web2: its platform pushed to both, a site on
	// it served from both addresses, its db user granted to both.
	s.mustAegir("save", "@server_cluster1", "--context_type=server", "--http_service_type=cluster", "--cluster_web_servers=@server_web1,@server_web2")
	s.mustTask("verify", "@server_cluster1")
	rootC := filepath.Join(s.home, "platforms", "wpc")
	if err := teststack.CopyTree("/usr/share/wordpress", rootC); err != nil {
		t.Fatal(err)
	}
	s.mustAegir("save", "@platform_wpc", "--context_type=platform", "--root="+rootC, "--web_server=@server_cluster1")
	s.mustTask("verify", "@platform_wpc")
	c := "c." + s.token + ".test"
	s.mustAegir("save", "@"+c, "--context_type=site", "--platform=@platform_wpc", "--db_server=@server_db1")
	s.mustTask("install", "@"+c)
	for _, srv := range []*fleetlab.Server{web1, web2} {
		if !served(srv, c, c) {
			t.Fatalf("%s of the cluster is not served from %s", c, srv.Name)
		}
	}
	if g := hostsOf(db1, prop(c, "db_user")); !strings.Contains(g, web1.Addr) || !strings.Contains(g, web2.Addr) || strings.Contains(g, "%") {
		t.Fatalf("the cluster's site's db user may connect from %q, want web1's and web2's addresses", g)
	}

	// web2 gone: its task fails fast naming it; web1 is unchanged.
	web2.Stop(t)
	vhost1 := filepath.Join(s.home, "config", "server_web1", "nginx", "vhost.d", uri+".conf")
	before1, _ := web1.ReadFile(vhost1)
	start := time.Now()
	_, err = s.aegir("verify", "@server_web2")
	if err == nil || !strings.Contains(err.Error(), "server_web2") {
		t.Fatalf("verify on a stopped web2: %v, want an error naming server_web2", err)
	}
	t.Logf("the task on the stopped server failed in %s", time.Since(start).Round(time.Millisecond))
	if after, _ := web1.ReadFile(vhost1); string(after) != string(before1) || !served(web1, uri, uri) || !served(web1, b, b) {
		t.Fatal("web1 changed while web2 was down")
	}
	// The cluster's verify and a change of its site fail naming web2,
	// and leave web1 as it was.
	vhostC := filepath.Join(s.home, "config", "server_web1", "nginx", "vhost.d", c+".conf")
	beforeC, _ := web1.ReadFile(vhostC)
	if _, err := s.aegir("verify", "@server_cluster1"); err == nil || !strings.Contains(err.Error(), "server_web2") {
		t.Fatalf("verify of the cluster with web2 stopped: %v, want an error naming server_web2", err)
	}
	s.mustAegir("save", "@"+c, "--aliases=www."+c)
	if _, err := s.aegir("verify", "@"+c); err == nil || !strings.Contains(err.Error(), "server_web2") {
		t.Fatalf("verify of the cluster's site with web2 stopped: %v, want an error naming server_web2", err)
	}
	if after, _ := web1.ReadFile(vhostC); string(after) != string(beforeC) || !served(web1, c, c) {
		t.Fatalf("web1's vhost of the cluster's site changed while web2 was down:\n%s", after)
	}
	web2.Start(t)

	// A changed host key is refused, naming the server and both keys.
	pinned := xssh.FingerprintSHA256(web2.HostKey)
	rotated := web2.RotateHostKey(t)
	_, err = s.aegir("verify", "@server_web2")
	for _, want := range []string{"server_web2", "host key changed", pinned, xssh.FingerprintSHA256(rotated)} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("verify over a changed host key: %v, want %q in it", err, want)
		}
	}

}

// TestFleetUsesAServerPreparedByHand shows a web server prepared as Aegir's
// guide says (the aegir user with the master's key, the sudo rule for
// nginx's test and reload), whose host key the operator pinned, is used
// without bootstrap: its verify pushes the config there and reloads it.
func TestFleetUsesAServerPreparedByHand(t *testing.T) {
	t.Setenv("AEGIR_LOAD_CRITICAL", "1000")
	s := newStack(t)
	s.setup()
	pub, err := os.ReadFile(filepath.Join(s.home, ".ssh", "id_ed25519.pub"))
	if err != nil {
		t.Fatal(err)
	}
	key, _, _, _, err := xssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	f := fleetlab.Start(t, fleetlab.Options{AuthorizedKey: key, AegirUser: true, Hide: []string{s.home}},
		fleetlab.Spec{Name: "web1", Role: fleetlab.RoleWeb})
	web1 := f.Servers["web1"]
	// By hand, the aegir user may not write outside its home: the master's
	// home is the server's /var/aegir only when they are the same path, so
	// the operator makes the master's tree there.
	if out, err := web1.Exec(context.Background(), "root", "install", "-d", "-o", "aegir", "-g", "aegir", s.home); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	s.write(filepath.Join(s.home, ".ssh", "known_hosts"), string(f.KnownHosts()))
	s.mustAegir("save", "@server_web1", "--context_type=server", "--remote_host="+web1.Addr, "--http_service_type=nginx")
	s.mustTask("verify", "@server_web1")
	conf := filepath.Join(s.home, "config", "server_web1", "nginx.conf")
	if _, err := web1.ReadFile(conf); err != nil {
		t.Fatalf("the server file was not pushed: %v", err)
	}
	// The include link is the operator's, as Aegir documents.
	if out, err := web1.Exec(context.Background(), "root", "ln", "-sfn", conf, "/etc/nginx/conf.d/aegir.conf"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	s.mustTask("verify", "@server_web1")
	if code, _ := web1.HTTPGet(t, "unknown.example", "/"); code == 0 {
		t.Fatal("web1 does not answer on port 80")
	}
}
