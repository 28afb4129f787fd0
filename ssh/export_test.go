package ssh

// BreakConnection closes the pooled connection to t without the pool
// knowing, as a network drop does.
func BreakConnection(p *Pool, t Target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.clients[t]; c != nil {
		c.Close()
	}
}
