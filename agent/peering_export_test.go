package agent

import (
	"time"

	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/peering"
)

// Test-only views into the agent's peering state for the agent_test
// package (a _test.go file of package agent, so nothing here ships).

// PeerTrustBundleForTest returns the trust bundle this server stores for
// the peering named name, and whether the record exists.
func (a *Agent) PeerTrustBundleForTest(name string) (*fsm.PeeringTrustBundle, bool) {
	_, p, err := a.state.store().PeeringByName(nil, name)
	if err != nil || p == nil {
		return nil, false
	}
	return p.TrustBundle, true
}

// LocalTrustBundleForTest returns what this server sends peers as its
// trust bundle.
func (a *Agent) LocalTrustBundleForTest() (string, []string, error) {
	return peeringBackend{a}.TrustBundle(nil)
}

// MismatchPeeringCAForTest stores a CA certificate that does not belong to
// the stored CA key, the state a leader change between the two writes of
// an older ensurePeeringCA could leave behind.
func (a *Agent) MismatchPeeringCAForTest() error {
	td, err := a.trustDomain(nil, a.state.store())
	if err != nil {
		return err
	}
	other, _, err := peering.GenerateCA(td, time.Now())
	if err != nil {
		return err
	}
	return a.setSystemMeta(metaPeeringCACert, other, false)
}
