package null

import (
	"context"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestNullHTTPWritesNothingAndSaysSo(t *testing.T) {
	t.Parallel()
	log := aegir.NewTaskLog(nil)
	svc, err := aegir.NewHTTPService(&aegir.Server{HTTPServiceType: aegir.ServiceNull}, "server_db", aegir.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := svc.VerifyServer(ctx); err != nil {
		t.Fatal(err)
	}
	entries := log.Entries()
	if len(entries) == 0 || !strings.Contains(entries[0].Message, "no web service") {
		t.Fatalf("log %v does not say the server has no web service", entries)
	}
	if undo, err := svc.WritePlatform(ctx, "p", "/var/aegir/p", "wordpress"); err != nil || undo != nil {
		t.Errorf("WritePlatform = %v, %v", undo != nil, err)
	}
	if undo, err := svc.WriteSite(ctx, &aegir.Vhost{URI: "example.com"}); err != nil || undo != nil {
		t.Errorf("WriteSite = %v, %v", undo != nil, err)
	}
	if undo, err := svc.DeleteSite(ctx, "example.com"); err != nil || undo != nil {
		t.Errorf("DeleteSite = %v, %v", undo != nil, err)
	}
	// A nil log is allowed.
	if svc, err := NewHTTP(nil, "s", aegir.Env{}); err != nil || svc.VerifyServer(ctx) != nil {
		t.Errorf("NewHTTP without a log: %v", err)
	}
}

func TestNullDBHasNothingAndCreatesNothing(t *testing.T) {
	t.Parallel()
	svc, err := aegir.NewDBService(&aegir.Server{DBServiceType: aegir.ServiceNull}, aegir.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ctx := context.Background()
	if err := svc.Verify(ctx); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if ok, err := svc.DatabaseExists(ctx, "example"); ok || err != nil {
		t.Errorf("DatabaseExists = %v, %v", ok, err)
	}
	if n, err := svc.DatabaseSize(ctx, "example"); n != 0 || aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Errorf("DatabaseSize = %d, %v; want an ENOTFOUND error", n, err)
	}
	if ok, err := svc.UserExists(ctx, "example"); ok || err != nil {
		t.Errorf("UserExists = %v, %v", ok, err)
	}
	err = svc.CreateDatabase(ctx, "example", "example", "pw", []string{"localhost"})
	if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "no database service (db_service_type is null)") {
		t.Errorf("CreateDatabase = %v, want an EINVALID error saying there is no database service", err)
	}
	var dump strings.Builder
	err = svc.Dump(ctx, "example", &dump)
	if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "cannot dump database example: the db server has no database service (db_service_type is null)") {
		t.Errorf("Dump = %v, want an EINVALID error saying there is no database service", err)
	}
	if dump.Len() != 0 {
		t.Errorf("Dump wrote %q", dump.String())
	}
	err = svc.Import(ctx, "example", strings.NewReader("CREATE TABLE t (id INT);"))
	if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), "cannot import into database example: the db server has no database service (db_service_type is null)") {
		t.Errorf("Import = %v, want an EINVALID error saying there is no database service", err)
	}
	if err := svc.DropDatabase(ctx, "example", "example"); err != nil {
		t.Errorf("DropDatabase: %v", err)
	}
	if host, port := svc.Address(); host != "" || port != 0 {
		t.Errorf("Address = %q, %d", host, port)
	}
	if err := svc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
