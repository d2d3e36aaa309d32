package scenariotests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// putDefaults writes a service-defaults entry through s; true when acked.
func putDefaults(s *harness.Server, name string) (bool, error) {
	body := fmt.Sprintf(`{"Kind":"service-defaults","Name":%q,"Protocol":"http"}`, name)
	code, out, _, err := s.Do("PUT", "/v1/config", []byte(body))
	if err != nil {
		return false, err
	}
	if code != 200 {
		return false, fmt.Errorf("status %d: %s", code, out)
	}
	return strings.TrimSpace(string(out)) == "true", nil
}

// listDefaults returns the service-defaults names s holds (stale read).
func listDefaults(s *harness.Server, query string) (map[string]bool, error) {
	code, out, _, err := s.Get("/v1/config/service-defaults?" + query)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("status %d: %s", code, out)
	}
	var entries []struct{ Name string }
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, err
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Name] = true
	}
	return got, nil
}

// missing lists the names in want that got lacks.
func missing(want []string, got map[string]bool) []string {
	var out []string
	for _, n := range want {
		if !got[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func TestThreeServersElectAndReplicateFollowerWrites(t *testing.T) {
	c := harness.NewCluster(t, 3, harness.ClusterOptions{})
	f := c.Followers()[0]
	ok, err := putDefaults(f, "written-via-follower")
	if err != nil || !ok {
		t.Fatalf("write through follower %s: ok=%v err=%v", f.Name, ok, err)
	}
	for _, s := range c.Servers {
		harness.Eventually(t, 10*time.Second, func() error {
			got, err := listDefaults(s, "stale")
			if err != nil {
				return err
			}
			if !got["written-via-follower"] {
				return fmt.Errorf("%s lacks the entry", s.Name)
			}
			return nil
		})
	}
	var peers []string
	_, body, _, _ := c.Servers[0].Get("/v1/status/peers")
	if err := json.Unmarshal(body, &peers); err != nil || len(peers) != 3 {
		t.Fatalf("want 3 raft peers, got %s (%v)", body, err)
	}
}

// writeLoad writes distinct entries through every running server until
// stop closes, recording which were acknowledged.
type writeLoad struct {
	mu    sync.Mutex
	acked []string
	wg    sync.WaitGroup
	stop  chan struct{}
	// since is when the last fault was injected; firstAck is when the
	// first write issued after it was acknowledged.
	firstAck time.Time
	since    time.Time
}

func startWriteLoad(c *harness.Cluster, clients int) *writeLoad {
	w := &writeLoad{stop: make(chan struct{})}
	for i := 0; i < clients; i++ {
		w.wg.Add(1)
		go func(i int) {
			defer w.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-w.stop:
					return
				default:
				}
				running := c.Running()
				if len(running) == 0 {
					continue
				}
				s := running[(i+n)%len(running)]
				name := fmt.Sprintf("load-%d-%d", i, n)
				started := time.Now()
				if ok, err := putDefaults(s, name); err == nil && ok {
					w.mu.Lock()
					w.acked = append(w.acked, name)
					// Only a write issued after the fault shows recovery; one
					// in flight before it may still be acknowledged by the
					// old leader's commit.
					if !w.since.IsZero() && started.After(w.since) && w.firstAck.IsZero() {
						w.firstAck = time.Now()
					}
					w.mu.Unlock()
				}
			}
		}(i)
	}
	return w
}

// markFault notes the time a fault took effect (call it once the fault is
// in place); recovery() is the time from then to the first acknowledged
// write issued afterwards.
func (w *writeLoad) markFault() {
	w.mu.Lock()
	w.since, w.firstAck = time.Now(), time.Time{}
	w.mu.Unlock()
}

func (w *writeLoad) recovery() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.firstAck.IsZero() {
		return -1
	}
	return w.firstAck.Sub(w.since)
}

func (w *writeLoad) finish() []string {
	close(w.stop)
	w.wg.Wait()
	return append([]string(nil), w.acked...)
}

func TestLeaderKillUnderWriteLoadKeepsAcknowledgedWrites(t *testing.T) {
	c := harness.NewCluster(t, 3, harness.ClusterOptions{})
	load := startWriteLoad(c, 4)
	harness.Eventually(t, 10*time.Second, func() error {
		if len(load.snapshot()) < 50 {
			return fmt.Errorf("only %d writes acknowledged so far", len(load.snapshot()))
		}
		return nil
	})
	old := c.Leader()
	old.Kill(t)
	load.markFault()
	newLeader := c.WaitForLeader(15 * time.Second)
	if newLeader == old {
		t.Fatal("the killed server is still reported as leader")
	}
	harness.Eventually(t, 15*time.Second, func() error {
		if load.recovery() < 0 {
			return fmt.Errorf("no write acknowledged since the kill")
		}
		return nil
	})
	t.Logf("leader SIGKILL -> first acknowledged write: %v", load.recovery())
	acked := load.finish()
	for _, s := range c.Running() {
		harness.Eventually(t, 15*time.Second, func() error {
			got, err := listDefaults(s, "stale")
			if err != nil {
				return err
			}
			if m := missing(acked, got); len(m) > 0 {
				return fmt.Errorf("%s lacks %d acknowledged writes, e.g. %v", s.Name, len(m), m[0])
			}
			return nil
		})
	}
	// The killed server comes back and catches up.
	old.Start(t)
	harness.Eventually(t, 30*time.Second, func() error {
		got, err := listDefaults(old, "stale")
		if err != nil {
			return err
		}
		if m := missing(acked, got); len(m) > 0 {
			return fmt.Errorf("restarted %s lacks %d writes", old.Name, len(m))
		}
		return nil
	})
}

func (w *writeLoad) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.acked...)
}

func TestRestartedServerCatchesUpBySnapshotInstall(t *testing.T) {
	c := harness.NewCluster(t, 3, harness.ClusterOptions{ConfigHCL: `
raft_snapshot_threshold = 64
raft_snapshot_interval = "1s"
raft_trailing_logs = 32
`})
	victim := c.Followers()[0]
	victim.Kill(t)
	leader := c.Leader()
	var names []string
	for i := 0; i < 400; i++ {
		name := fmt.Sprintf("behind-%d", i)
		if ok, err := putDefaults(leader, name); err != nil || !ok {
			t.Fatalf("write %d: ok=%v err=%v", i, ok, err)
		}
		names = append(names, name)
	}
	// Wait until the leader has snapshotted past the victim's log position.
	harness.Eventually(t, 30*time.Second, func() error {
		idx := raftStat(t, leader, "last_snapshot_index")
		if idx < 300 {
			return fmt.Errorf("leader's last snapshot index is %d", idx)
		}
		return nil
	})
	victim.Start(t)
	harness.Eventually(t, 30*time.Second, func() error {
		got, err := listDefaults(victim, "stale")
		if err != nil {
			return err
		}
		if m := missing(names, got); len(m) > 0 {
			return fmt.Errorf("restarted follower lacks %d entries", len(m))
		}
		return nil
	})
	// The follower's own snapshots would also move last_snapshot_index, so
	// look for Raft's record of an installed remote snapshot instead.
	if !victim.LogContains("Installed remote snapshot") {
		t.Errorf("the follower caught up without installing the leader's snapshot")
	}
}

// raftStat reads a numeric raft stat from /v1/agent/self.
func raftStat(t *testing.T, s *harness.Server, key string) uint64 {
	t.Helper()
	_, body, _, err := s.Get("/v1/agent/self")
	if err != nil {
		return 0
	}
	var self struct {
		Stats map[string]map[string]string
	}
	if json.Unmarshal(body, &self) != nil {
		return 0
	}
	var n uint64
	fmt.Sscan(self.Stats["raft"][key], &n)
	return n
}

func TestOperatorRemovePeer(t *testing.T) {
	c := harness.NewCluster(t, 3, harness.ClusterOptions{})
	victim := c.Followers()[0]
	victim.Kill(t)
	leader := c.Leader()
	code, body, _, err := leader.Do("DELETE", "/v1/operator/raft/peer?address="+url.QueryEscape(victim.RaftAddr()), nil)
	if err != nil || code != 200 {
		t.Fatalf("remove-peer: %d %s %v", code, body, err)
	}
	var peers []string
	_, body, _, _ = leader.Get("/v1/status/peers")
	_ = json.Unmarshal(body, &peers)
	for _, p := range peers {
		if p == victim.RaftAddr() {
			t.Fatalf("removed peer still listed: %v", peers)
		}
	}
	if len(peers) != 2 {
		t.Fatalf("want 2 peers after removal, got %v", peers)
	}
	if ok, err := putDefaults(leader, "after-remove"); err != nil || !ok {
		t.Fatalf("write after removal: %v %v", ok, err)
	}
	code, body, _, _ = leader.Do("DELETE", "/v1/operator/raft/peer?address=127.0.0.1:1", nil)
	if code != 500 || !strings.Contains(string(body), "was not found in the Raft configuration") {
		t.Errorf("unknown address: %d %s", code, body)
	}
}

func TestFiveServersSurviveTwoKills(t *testing.T) {
	c := harness.NewCluster(t, 5, harness.ClusterOptions{})
	c.Leader().Kill(t)
	c.Followers()[0].Kill(t)
	leader := c.WaitForLeader(20 * time.Second)
	if ok, err := putDefaults(leader, "after-two-kills"); err != nil || !ok {
		t.Fatalf("write after two kills: %v %v", ok, err)
	}
	for _, s := range c.Running() {
		harness.Eventually(t, 10*time.Second, func() error {
			got, err := listDefaults(s, "consistent")
			if err != nil {
				return err
			}
			if !got["after-two-kills"] {
				return fmt.Errorf("%s lacks the entry", s.Name)
			}
			return nil
		})
	}
}

func TestKilledFollowerSerfHealthTurnsCritical(t *testing.T) {
	c := harness.NewCluster(t, 3, harness.ClusterOptions{})
	victim := c.Followers()[0]
	leader := c.Leader()
	check := func(want string) func() error {
		return func() error {
			_, body, _, err := leader.Get("/v1/health/node/" + victim.Name)
			if err != nil {
				return err
			}
			var checks []struct{ CheckID, Status string }
			if err := json.Unmarshal(body, &checks); err != nil {
				return err
			}
			for _, ch := range checks {
				if ch.CheckID == "serfHealth" {
					if ch.Status != want {
						return fmt.Errorf("serfHealth is %s", ch.Status)
					}
					return nil
				}
			}
			return fmt.Errorf("no serfHealth check for %s yet: %s", victim.Name, body)
		}
	}
	harness.Eventually(t, 15*time.Second, check("passing"))
	killed := time.Now()
	victim.Kill(t)
	harness.Eventually(t, 20*time.Second, check("critical"))
	t.Logf("SIGKILL of a follower -> serfHealth critical: %v", time.Since(killed))
}
