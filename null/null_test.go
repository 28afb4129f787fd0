package null

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/dbservicetest"
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

// TestNullDBHasNothingAndCreatesNothing runs the part of the DBService
// suite a server without databases passes (dbservicetest.Exercise needs
// databases that can be created: the null service creates none), then
// checks that its refusals say why.
func TestNullDBHasNothingAndCreatesNothing(t *testing.T) {
	t.Parallel()
	svc, err := aegir.NewDBService(&aegir.Server{DBServiceType: aegir.ServiceNull}, aegir.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	dbservicetest.ExerciseEmpty(t, svc)
	ctx := context.Background()
	err = svc.CreateDatabase(ctx, "example", "example", "pw", []string{"localhost"})
	if err == nil || !strings.Contains(err.Error(), "no database service (db_service_type is null)") {
		t.Errorf("CreateDatabase = %v, want an error saying there is no database service", err)
	}
	err = svc.Dump(ctx, "example", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cannot dump database example: the db server has no database service (db_service_type is null)") {
		t.Errorf("Dump = %v, want an error saying there is no database service", err)
	}
	err = svc.Import(ctx, "example", strings.NewReader("CREATE TABLE t (id INT);"))
	if err == nil || !strings.Contains(err.Error(), "cannot import into database example: the db server has no database service (db_service_type is null)") {
		t.Errorf("Import = %v, want an error saying there is no database service", err)
	}
	if host, port := svc.Address(); host != "" || port != 0 {
		t.Errorf("Address = %q, %d", host, port)
	}
	if err := svc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
