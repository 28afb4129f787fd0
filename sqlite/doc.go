// Package sqlite is the front end's embedded store: aegir.Store, whose
// queries sqlstore holds, on one SQLite file ($AEGIR_HOME/hosting.db)
// through modernc.org/sqlite, in WAL mode, with one writer connection (so
// every change, and every task claim, is one serialised BEGIN IMMEDIATE
// transaction, committed in groups) beside a pool of readers. Its dialect
// keeps times as text and wakes listeners within the process. Its schema
// migrations are embedded and run by goose at Open. It registers itself
// for aegir.OpenStore under the scheme "sqlite" (and bare paths).
//
// It imports the domain package and sqlstore only; it must not import
// other adapters (postgres, http, the back end's drivers).
package sqlite
