package scenariotests

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// partitionNet returns a test network, or skips the calling scenario with a
// plain reason when this machine cannot make network namespaces.
func partitionNet(t *testing.T) *harness.Net {
	t.Helper()
	n, err := harness.NewNet(t)
	if err != nil {
		t.Skipf("partition scenario not run: %v", err)
	}
	return n
}

// leaderAmong asks the given servers who leads; "" unless all agree.
func leaderAmong(servers []*harness.Server) string {
	var addr string
	for _, s := range servers {
		code, body, _, err := s.Get("/v1/status/leader")
		var a string
		if err != nil || code != 200 || json.Unmarshal(body, &a) != nil || a == "" || (addr != "" && a != addr) {
			return ""
		}
		addr = a
	}
	return addr
}

func without(all []*harness.Server, drop *harness.Server) []*harness.Server {
	var out []*harness.Server
	for _, s := range all {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// An isolated leader loses its leadership and cannot acknowledge writes or
// serve consistent reads; the majority elects a new leader and goes on; a
// one-way link failure does not stop the cluster; after healing every
// server holds the same state.
func TestPartitionIsolatedLeaderAndOneWayDrop(t *testing.T) {
	n := partitionNet(t)
	c := harness.NewCluster(t, 3, harness.ClusterOptions{Net: n})
	var acked []string
	if ok, err := putDefaults(c.Servers[0], "before"); !ok || err != nil {
		t.Fatalf("write before the partition: %v %v", ok, err)
	}
	acked = append(acked, "before")

	old := c.Leader()
	n.Isolate(old.Name)
	majority := without(c.Servers, old)
	harness.Eventually(t, 15*time.Second, func() error {
		if l := leaderAmong(majority); l == "" || l == old.RaftAddr() {
			return fmt.Errorf("majority has no new leader (%q)", l)
		}
		return nil
	})
	harness.Eventually(t, 15*time.Second, func() error {
		ok, err := putDefaults(majority[0], "during-isolation")
		if err != nil || !ok {
			return fmt.Errorf("write through the majority: %v %v", ok, err)
		}
		return nil
	})
	acked = append(acked, "during-isolation")

	// The old leader must neither acknowledge a write nor answer a
	// consistent read from its stale state.
	if ok, err := putDefaults(old, "via-isolated"); ok && err == nil {
		t.Fatalf("isolated old leader %s acknowledged a write", old.Name)
	}
	if code, body, _, err := old.Get("/v1/config/service-defaults/during-isolation?consistent"); err == nil && code != 500 && code != 503 {
		t.Fatalf("isolated server answered a consistent read: %d %s", code, body)
	}

	n.Heal()
	leader := c.WaitForLeader(30 * time.Second)
	follower := without(c.Running(), leader)[0]
	n.DropOneWay(leader.Name, follower.Name)
	harness.Eventually(t, 30*time.Second, func() error {
		for _, s := range c.Servers {
			if ok, err := putDefaults(s, "during-one-way"); err == nil && ok {
				return nil
			}
		}
		return fmt.Errorf("no server acknowledges writes with a one-way drop")
	})
	acked = append(acked, "during-one-way")

	n.Heal()
	c.WaitForLeader(30 * time.Second)
	d := c.WaitConverged(30 * time.Second)
	for _, s := range c.Servers {
		got, err := listDefaults(s, "stale")
		if err != nil {
			t.Fatal(err)
		}
		if m := missing(acked, got); len(m) > 0 {
			t.Fatalf("%s lost acknowledged writes %v", s.Name, m)
		}
	}
	t.Logf("converged at index %d hash %s", d.Index, d.Hash[:12])
}
