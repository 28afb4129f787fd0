package mysql

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/dbservicetest"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
)

// TestConformance runs the DBService conformance suite on the test
// server, with the local runner for mysqldump and the mysql client.
func TestConformance(t *testing.T) {
	t.Parallel()
	log := aegir.NewTaskLog(nil)
	svc, err := New(&aegir.Server{DBServiceType: aegir.ServiceMySQL, MasterDB: testMasterDB()}, aegir.Env{Log: log, Runner: &local.Runner{}})
	if err != nil {
		if strings.Contains(err.Error(), "unreachable") {
			teststack.Missing(t, "no MariaDB/MySQL test server: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	s := svc.(*Service)
	dbservicetest.Exercise(t, &dbservicetest.Server{
		Service: s,
		Connect: func(user, password, name string) (*sql.DB, error) { return openAs(s, user, password, name) },
		Hosts:   []string{"127.0.0.1", "localhost"},
		Host:    s.host, Port: s.port,
		ReservedDatabases: systemDatabases,
		ReservedUsers:     append(append([]string(nil), systemUsers...), s.admin),
	})
}
