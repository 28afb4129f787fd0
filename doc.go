// Package aegir is the domain of the aegir hosting system: servers,
// platforms, sites, tasks and their results, the errors they return, and the
// interfaces of the services (http, db, apps, command runner, context store)
// that adapter packages implement.
//
// It imports nothing of this module: adapters import it, never the reverse.
package aegir
