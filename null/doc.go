// Package null provides the "null" http and db service types, for servers
// that have no web server or no database server: they write nothing, create
// nothing and say so.
//
// It imports only the domain package; it must not import other adapters.
package null
