// Package dispatch runs the front end's task queue: a Dispatcher claims
// queued tasks from an aegir.Store as soon as the store signals them, runs
// each in-process through the back end (an aegir.Backend: provision's, the
// same Go API the CLI uses) after writing the contexts it needs from the store's
// records, streams its log into the task's log rows, and records the
// Result back into the store (task status and data, site status and
// database credentials, backups, packages, sites found on a platform).
//
// It imports the domain package only. It must not import the back end
// (provision), a store driver (sqlite, postgres), the HTTP layer, or a
// service or app driver: those are wired in cmd/aegir.
package dispatch
