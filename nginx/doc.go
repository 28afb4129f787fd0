// Package nginx is the nginx http service driver: it renders the server
// file, the shared per-app include snippets and each site's vhost from
// embedded templates under $AEGIR_HOME/config, links the server file into
// the system nginx, tests every change with nginx -t before reloading, and
// puts the previous files back when a test fails, so a broken vhost never
// reaches the running nginx. Changes made at the same time by the tasks of
// one process are coalesced into one test and one reload, each new vhost
// tested on its own first, by the engine the apache driver uses too
// (internal/webconf; apply.go is nginx's side).
//
// It registers itself as the "nginx" http service type. It imports only the
// domain package, internal/webconf and the standard library; it must not
// import other adapters (local, provision, contextfile, other drivers) or
// cmd.
package nginx
