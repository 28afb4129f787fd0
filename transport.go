package aegir

import "context"

// Transport reaches the servers of the fleet: this machine for local ones
// (Server.IsLocal), SSH for the others. Paths are the same on every server,
// as in Aegir: the master renders config and holds platforms' code, and
// pushes them to the same absolute paths on the servers that use them.
type Transport interface {
	// Runner returns the runner of the named server: commands given to it
	// run there.
	Runner(name string, s *Server) Runner
	// Push copies the local directory dir to the same path on the named
	// server, deleting there what is gone here except what exclude names
	// (rsync patterns anchored at dir). It does nothing for a local server.
	Push(ctx context.Context, name string, s *Server, dir string, exclude []string) error
	// Fetch copies dir from the named server to the same path here, the
	// reverse of Push. It does nothing for a local server.
	Fetch(ctx context.Context, name string, s *Server, dir string, exclude []string) error
}
