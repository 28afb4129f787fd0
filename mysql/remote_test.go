package mysql

import (
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"testing"

	xssh "golang.org/x/crypto/ssh"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/dbservicetest"
	"github.com/aegir-hosting/aegir/internal/fleetlab"
	"github.com/aegir-hosting/aegir/local"
)

// TestConformanceOnARemoteDBServer runs the DBService conformance suite
// against MariaDB on another machine (a fleetlab db server on its own
// network), reached over TCP through master_db as a remote db server is:
// grants name the address the master connects from.
func TestConformanceOnARemoteDBServer(t *testing.T) {
	t.Parallel()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := xssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	admin := &fleetlab.DBAdmin{User: "aegir_root", Password: "Rem0tePassw0rd"}
	f := fleetlab.Start(t, fleetlab.Options{AuthorizedKey: key, DBAdmin: admin}, fleetlab.Spec{Name: "db1", Role: fleetlab.RoleDB})
	db1 := f.Servers["db1"]
	svc, err := New(&aegir.Server{RemoteHost: db1.Addr, DBServiceType: aegir.ServiceMySQL,
		MasterDB: "mysql://aegir_root:" + admin.Password + "@" + db1.Addr + ":3306"}, aegir.Env{Log: aegir.NewTaskLog(nil), Runner: &local.Runner{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	s := svc.(*Service)
	dbservicetest.Exercise(t, &dbservicetest.Server{
		Service: s,
		Connect: func(user, password, name string) (*sql.DB, error) { return openAs(s, user, password, name) },
		Hosts:   []string{f.HostAddr},
		Host:    s.host, Port: s.port,
		ReservedDatabases: systemDatabases,
		ReservedUsers:     append(append([]string(nil), systemUsers...), s.admin),
	})
}
