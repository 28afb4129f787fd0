// Package postgres is the front end's shared store: aegir.Store, whose
// queries sqlstore holds, on a PostgreSQL database through pgx (its
// database/sql adapter over a pgxpool), for `aegir serve --database
// postgres://...` and for several aegir processes sharing one task queue.
// Dispatchers claim tasks with FOR UPDATE SKIP LOCKED under a
// transaction-scoped advisory lock, so the ordering and exclusion checks of
// two processes never race, and wake each other with LISTEN/NOTIFY on the
// channel aegir_tasks. Timestamps come from the database server's clock,
// so dispatchers on several machines agree on them. Schema migrations are
// embedded and run by goose at Open, under goose's advisory lock. It
// registers itself for aegir.OpenStore under "postgres" and "postgresql".
//
// It imports the domain package and sqlstore only; it must not import
// other adapters (sqlite, http, the back end's drivers).
package postgres
