// Package sqlstore is the front end's store written once over database/sql:
// every query of aegir.Store, for each database a Dialect that says what it
// does differently (how a write transaction runs, its locks, its wake-ups,
// how it keeps times). The sqlite and postgres packages open their
// database, migrate its schema and hand their Dialect to New.
//
// It imports the domain package and the standard library only; it must not
// import a database driver or another adapter.
package sqlstore
