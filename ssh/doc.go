// Package ssh reaches aegir's remote servers: an aegir.Runner over SSH (one
// connection per server, shared by parallel sessions, host keys pinned in
// known_hosts) and file transfer by rsync over the same key and pins. It
// implements aegir.Transport and imports no other adapter of ours.
//
// Every remote command is an argument vector made into one line for the
// remote POSIX shell by Line, the package's one quoting function.
package ssh
