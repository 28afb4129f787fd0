package ssh

import (
	"context"

	"github.com/aegir-hosting/aegir"
)

// Transport is the fleet's aegir.Transport: Local for servers on this
// machine, the pool's SSH connections for the others.
type Transport struct {
	Pool  *Pool
	Local aegir.Runner
}

// NewTransport returns the transport of the master whose home is paths.
func NewTransport(paths aegir.Paths, local aegir.Runner) *Transport {
	return &Transport{Pool: NewPool(paths, local), Local: local}
}

// Runner returns the local runner for a local server, else the SSH runner
// of the server.
func (t *Transport) Runner(name string, s *aegir.Server) aegir.Runner {
	if s.IsLocal() {
		return t.Local
	}
	return t.Pool.Runner(TargetOf(name, s))
}

// Push copies dir to the same path on a remote server.
func (t *Transport) Push(ctx context.Context, name string, s *aegir.Server, dir string, exclude []string) error {
	if s.IsLocal() {
		return nil
	}
	return t.Pool.Push(ctx, TargetOf(name, s), dir, dir, exclude)
}

// Fetch copies dir from a remote server to the same path here.
func (t *Transport) Fetch(ctx context.Context, name string, s *aegir.Server, dir string, exclude []string) error {
	if s.IsLocal() {
		return nil
	}
	return t.Pool.Fetch(ctx, TargetOf(name, s), dir, dir, exclude)
}

// Close closes the pool's connections.
func (t *Transport) Close() error { return t.Pool.Close() }

var _ aegir.Transport = (*Transport)(nil)
