// Package static is the app driver of last resort: any directory is a
// static codebase, served as files. Sites get a sites/<uri>/ directory and a
// vhost, but no settings, no installer and no login link.
//
// It implements aegir.App and registers itself as "static", tried after
// every other app. It imports only the domain package and the standard
// library: never another adapter.
package static
