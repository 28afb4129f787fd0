// Package hosting holds the front end's rules in one place: what a user
// may create, change and delete, which tasks each change queues, which
// tasks an object allows in its present state (Aegir's hosting rules), and
// who may do what (roles.go: the roles, their rule table and the client
// scopes of lists). Users, their argon2id passwords, login links and the
// audit log are here too. The REST API and the web UI both call it; the
// dispatcher runs what it queues.
//
// It works only through the domain's aegir.Store. It imports the domain
// package and nothing else of this module: no store driver, no back end
// (provision), no HTTP package.
package hosting
