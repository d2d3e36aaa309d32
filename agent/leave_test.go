package agent_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard/switchyard/agent/agenttest"
)

func TestGracefulLeaveRemovesServerFromRaftAndCatalog(t *testing.T) {
	c := agenttest.NewCluster(t, 3)
	leaver := c.Followers()[0]
	name := leaver.Config().NodeName
	if err := leaver.Leave(); err != nil {
		t.Fatalf("leave: %v", err)
	}
	for i, a := range c.Agents {
		if a == leaver {
			c.Agents[i] = nil
		}
	}
	leader := c.WaitForLeader()
	agenttest.Eventually(t, 15*time.Second, func() error {
		_, body, _ := do(t, leader, "GET", "/v1/status/peers", "")
		var peers []string
		_ = json.Unmarshal([]byte(body), &peers)
		if len(peers) != 2 {
			return fmt.Errorf("raft peers after leave: %v", peers)
		}
		_, body, _ = do(t, leader, "GET", "/v1/agent/members", "")
		var members []struct {
			Name   string
			Status int
		}
		_ = json.Unmarshal([]byte(body), &members)
		for _, m := range members {
			if m.Name == name && m.Status != 3 {
				return fmt.Errorf("%s has status %d, want 3 (left)", name, m.Status)
			}
		}
		// Its node, with the serfHealth check, is gone from the catalog.
		if code, body, _ := do(t, leader, "GET", "/v1/health/node/"+name, ""); code != 200 || body != "[]" {
			return fmt.Errorf("health of the node that left: %d %s", code, body)
		}
		return nil
	})
	// The leader leaving hands over leadership first.
	old := c.Leader()
	if err := old.Leave(); err != nil {
		t.Fatalf("leader leave: %v", err)
	}
	for i, a := range c.Agents {
		if a == old {
			c.Agents[i] = nil
		}
	}
	if l := c.WaitForLeader(); l == nil {
		t.Fatal("no leader after the leader left")
	}
}
