// Package web is the front end's HTTP layer: the JSON REST API under
// /api/ (bearer tokens, one table from error codes to statuses,
// cross-origin protection, an OpenAPI description at /api/openapi.json),
// live task logs as server-sent events, and Prometheus metrics at
// /metrics.
//
// It decides nothing about hosting itself: every change goes through
// package hosting, and reads go to the aegir.Store. It must not import the
// store drivers (sqlite, postgres), the back end (provision) or the
// dispatcher: cmd/aegir wires them.
package web
