package null

import (
	"context"
	"io"

	"github.com/aegir-hosting/aegir"
)

func init() { aegir.RegisterDB(aegir.ServiceNull, NewDB) }

// DB is the db service of a server without a database server: nothing
// exists on it and nothing can be created.
type DB struct{}

// NewDB returns the null db service.
func NewDB(*aegir.Server, aegir.Env) (aegir.DBService, error) { return DB{}, nil }

// Verify succeeds: there is nothing to check.
func (DB) Verify(context.Context) error { return nil }

// DatabaseExists reports false.
func (DB) DatabaseExists(context.Context, string) (bool, error) { return false, nil }

// DatabaseSize returns an ENOTFOUND error: no database exists on the
// server.
func (DB) DatabaseSize(_ context.Context, name string) (int64, error) {
	return 0, aegir.Errorf(aegir.ENOTFOUND, "database %s does not exist: the db server has no database service (db_service_type is null)", name)
}

// UserExists reports false.
func (DB) UserExists(context.Context, string) (bool, error) { return false, nil }

// CreateDatabase returns an EINVALID error: the server has no database
// service.
func (DB) CreateDatabase(_ context.Context, name, _, _ string, _ []string) error {
	return aegir.Errorf(aegir.EINVALID, "cannot create database %s: the db server has no database service (db_service_type is null)", name)
}

// DropDatabase does nothing.
func (DB) DropDatabase(context.Context, string, string) error { return nil }

// Dump returns an EINVALID error: the server has no database service.
func (DB) Dump(_ context.Context, name string, _ io.Writer) error {
	return aegir.Errorf(aegir.EINVALID, "cannot dump database %s: the db server has no database service (db_service_type is null)", name)
}

// Import returns an EINVALID error: the server has no database service.
func (DB) Import(_ context.Context, name string, _ io.Reader) error {
	return aegir.Errorf(aegir.EINVALID, "cannot import into database %s: the db server has no database service (db_service_type is null)", name)
}

// Address returns no host and port 0.
func (DB) Address() (string, int) { return "", 0 }

// Close does nothing.
func (DB) Close() error { return nil }

var _ aegir.DBService = DB{}
