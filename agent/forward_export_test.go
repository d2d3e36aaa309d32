package agent

// Test-only view of the forwarding streams (a _test.go file of package
// agent, so nothing here ships).

// ForwardStreamsOpen counts the working ForwardStreams this agent keeps to
// other servers (tests only).
func (a *Agent) ForwardStreamsOpen() int {
	p := a.conns
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, fs := range p.streams {
		if fs.broken() == nil {
			n++
		}
	}
	return n
}
