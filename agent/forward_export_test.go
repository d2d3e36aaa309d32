package agent

// Test-only views of forwarding and leader readiness (a _test.go file of package
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

// ReadyTermForTest returns the term in which this server's leader session
// passed its barrier (0 outside a session); SetReadyTermForTest overrides
// it, to hold leader reads as a new leader that has not caught up would.
func (a *Agent) ReadyTermForTest() uint64 { return a.readyTerm.Load() }

func (a *Agent) SetReadyTermForTest(t uint64) { a.readyTerm.Store(t) }
