// Package web is the front end's HTTP layer: the web UI (server-rendered
// html/template pages with htmx, embedded with their stylesheet and
// script; sessions in the store through scs; login with argon2id
// passwords, a rate limit and one-time login links), the JSON REST API
// under /api/ (bearer tokens, one table from error codes to statuses,
// cross-origin protection on every state-changing request, an OpenAPI
// description at /api/openapi.json), live task logs as server-sent
// events, and Prometheus metrics at /metrics.
//
// Every permission of the pages and the API is decided by Server.authorize,
// which applies the one rule table of package hosting: a role that may not
// do an action gets 403, a user asking for another client's object 404.
//
// It decides nothing about hosting itself: every change goes through
// package hosting, and reads go to the aegir.Store. It must not import the
// store drivers (sqlite, postgres), the back end (provision) or the
// dispatcher: cmd/aegir wires them.
package web
