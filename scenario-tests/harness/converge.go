package harness

import (
	"encoding/json"
	"fmt"
	"time"
)

// Digest is a server's answer to GET /v1/operator/state-hash: the highest
// Raft index that changed its state and a hash of the whole state.
type Digest struct {
	Index uint64
	Hash  string
}

// Digest asks s for its state digest.
func (s *Server) Digest() (Digest, error) {
	code, body, _, err := s.Get("/v1/operator/state-hash")
	if err != nil {
		return Digest{}, err
	}
	if code != 200 {
		return Digest{}, fmt.Errorf("%s: state-hash: %d %s", s.Name, code, body)
	}
	var d Digest
	if err := json.Unmarshal(body, &d); err != nil {
		return Digest{}, fmt.Errorf("%s: state-hash: %v", s.Name, err)
	}
	return d, nil
}

// WaitConverged polls until every running server reports the same digest
// and returns it. Writes must have stopped, or it may never settle.
func (c *Cluster) WaitConverged(timeout time.Duration) Digest {
	c.t.Helper()
	var agreed Digest
	Eventually(c.t, timeout, func() error {
		var first *Server
		for _, s := range c.Running() {
			d, err := s.Digest()
			if err != nil {
				return err
			}
			if first == nil {
				first, agreed = s, d
				continue
			}
			if d != agreed {
				return fmt.Errorf("%s has %+v, %s has %+v", first.Name, agreed, s.Name, d)
			}
		}
		return nil
	})
	return agreed
}
