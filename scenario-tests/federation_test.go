package scenariotests

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// defaultsIndexes maps each service-defaults entry s holds (stale) to its
// ModifyIndex there.
func defaultsIndexes(s *harness.Server) (map[string]uint64, error) {
	code, out, _, err := s.Get("/v1/config/service-defaults?stale")
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("status %d: %s", code, out)
	}
	var entries []struct {
		Name        string
		ModifyIndex uint64
	}
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, err
	}
	got := map[string]uint64{}
	for _, e := range entries {
		got[e.Name] = e.ModifyIndex
	}
	return got, nil
}

// waitHolds waits until every running server of c holds exactly want
// (stale reads, so each server's own state is checked).
func waitHolds(t *testing.T, c *harness.Cluster, want map[string]bool, timeout time.Duration) {
	t.Helper()
	for _, s := range c.Running() {
		harness.Eventually(t, timeout, func() error {
			got, err := listDefaults(s, "stale")
			if err != nil {
				return err
			}
			var extra, lack []string
			for n := range got {
				if !want[n] {
					extra = append(extra, n)
				}
			}
			for n := range want {
				if !got[n] {
					lack = append(lack, n)
				}
			}
			if len(extra)+len(lack) > 0 {
				return fmt.Errorf("%s: lacks %d (e.g. %v), has %d extra (e.g. %v)", s.Name, len(lack), first(lack), len(extra), first(extra))
			}
			return nil
		})
	}
}

func first(s []string) []string { return s[:min(len(s), 3)] }

// putVia writes name through any running server of c, retrying through an
// election; it reports whether the write was acknowledged.
func putVia(c *harness.Cluster, name string, deadline time.Time) bool {
	for time.Now().Before(deadline) {
		for _, s := range c.Running() {
			if ok, err := putDefaults(s, name); err == nil && ok {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond) // retry interval during an election
	}
	return false
}

func TestFederationReplicatesAcrossFailures(t *testing.T) {
	f := harness.NewFederation(t, 3, "dc1", "dc2")
	dc1, dc2 := f.DC("dc1"), f.DC("dc2")
	want := map[string]bool{}

	t.Run("entries converge and deletes disappear", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			name := "conv-" + strconv.Itoa(i)
			if ok, err := putDefaults(dc1.Servers[i%3], name); err != nil || !ok {
				t.Fatalf("put %s: %v %v", name, ok, err)
			}
			want[name] = true
		}
		waitHolds(t, dc2, want, 20*time.Second)
		for i := 0; i < 5; i++ {
			name := "conv-" + strconv.Itoa(i)
			if code, out, _, err := dc1.Servers[0].Do("DELETE", "/v1/config/service-defaults/"+name, nil); err != nil || code != 200 {
				t.Fatalf("delete %s: %d %s %v", name, code, out, err)
			}
			delete(want, name)
		}
		waitHolds(t, dc2, want, 20*time.Second)
	})

	t.Run("a write sent to the secondary lands in the primary", func(t *testing.T) {
		fol := dc2.Followers()[0]
		if ok, err := putDefaults(fol, "via-dc2"); err != nil || !ok {
			t.Fatalf("write via %s: %v %v", fol.Name, ok, err)
		}
		want["via-dc2"] = true
		got, err := listDefaults(dc1.Servers[1], "") // default consistency: dc1's leader
		if err != nil || !got["via-dc2"] {
			t.Fatalf("dc1 lacks the entry written via dc2: %v %v", got, err)
		}
		waitHolds(t, dc2, want, 20*time.Second)
	})

	t.Run("primary leader killed during replication", func(t *testing.T) {
		done := make(chan []string)
		var progress atomic.Int64
		go func() {
			var acked []string
			deadline := time.Now().Add(30 * time.Second)
			for i := 0; i < 60; i++ {
				name := "kill-" + strconv.Itoa(i)
				if putVia(dc1, name, deadline) {
					acked = append(acked, name)
				}
				progress.Add(1)
				time.Sleep(10 * time.Millisecond) // pace the writer across the kill
			}
			done <- acked
		}()
		// Kill the leader while writes (and so replication) are in flight.
		harness.Eventually(t, 10*time.Second, func() error {
			if progress.Load() < 15 {
				return fmt.Errorf("writer at %d", progress.Load())
			}
			return nil
		})
		leader := dc1.WaitForLeader(10 * time.Second)
		leader.Kill(t)
		acked := <-done
		if len(acked) < 50 {
			t.Fatalf("only %d of 60 writes acknowledged across the failover", len(acked))
		}
		for _, n := range acked {
			want[n] = true
		}
		dc1.WaitForLeader(20 * time.Second)
		waitHolds(t, dc2, want, 30*time.Second)
		leader.Start(t)
	})

	t.Run("primary down: secondary serves stale and catches up without rewrites", func(t *testing.T) {
		waitHolds(t, dc2, want, 30*time.Second)
		before, err := defaultsIndexes(dc2.Leader())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range dc1.Servers {
			s.Kill(t)
		}
		harness.Eventually(t, 20*time.Second, func() error {
			code, body, _, err := dc2.Servers[0].Get("/v1/agent/self")
			if err != nil || code != 200 {
				return fmt.Errorf("agent/self: %d %v", code, err)
			}
			if !strings.Contains(string(body), `"Datacenter":"dc1","Reachable":false`) {
				return fmt.Errorf("dc1 not reported unreachable")
			}
			return nil
		})
		for _, s := range dc2.Servers {
			got, err := listDefaults(s, "stale")
			if err != nil || len(got) != len(want) {
				t.Fatalf("%s while dc1 is down: %d entries, %v", s.Name, len(got), err)
			}
		}
		if code, _, _, _ := dc2.Servers[0].Do("PUT", "/v1/config", []byte(`{"Kind":"service-defaults","Name":"x"}`)); code == 200 {
			t.Error("a config write succeeded with the primary down")
		}

		for _, s := range dc1.Servers {
			s.Start(t)
		}
		dc1.WaitForLeader(30 * time.Second)
		if !putVia(dc1, "after-outage", time.Now().Add(20*time.Second)) {
			t.Fatal("write after the outage failed")
		}
		if ok, err := putDefaults(dc1.Leader(), "conv-10"); err != nil || !ok { // unchanged content: no-op
			t.Fatal(ok, err)
		}
		code, out, _, err := dc1.Leader().Do("PUT", "/v1/config", []byte(`{"Kind":"service-defaults","Name":"conv-11","Protocol":"grpc"}`))
		if err != nil || code != 200 {
			t.Fatalf("modify conv-11: %d %s %v", code, out, err)
		}
		want["after-outage"] = true
		waitHolds(t, dc2, want, 60*time.Second)
		harness.Eventually(t, 20*time.Second, func() error {
			after, err := defaultsIndexes(dc2.Leader())
			if err != nil {
				return err
			}
			if after["conv-11"] == before["conv-11"] {
				return fmt.Errorf("the modified entry is not replicated yet")
			}
			for name, idx := range before {
				if name != "conv-11" && after[name] != idx {
					t.Errorf("%s rewritten in dc2: ModifyIndex %d -> %d", name, idx, after[name])
				}
			}
			return nil
		})
	})

	t.Run("chain in dc2 fails over to dc1's healthy instances", func(t *testing.T) {
		s := dc2.Servers[0]
		// After dc1's restart each dc2 server sees dc1's servers alive again
		// once WAN gossip reconverges (failed members are re-probed every
		// few seconds); until then it answers "No path to datacenter".
		harness.Eventually(t, 30*time.Second, func() error {
			code, body, _, err := s.Get("/v1/status/leader?dc=dc1")
			if err != nil || code != 200 {
				return fmt.Errorf("%s cannot reach dc1 yet: %d %s %v", s.Name, code, body, err)
			}
			return nil
		})
		body := `{"Kind":"service-resolver","Name":"pay","Failover":{"*":{"Datacenters":["dc1"]}}}`
		if code, out, _, err := s.Do("PUT", "/v1/config", []byte(body)); err != nil || code != 200 {
			t.Fatalf("resolver: %d %s %v", code, out, err)
		}
		for i, status := range []string{"passing", "critical"} {
			reg := fmt.Sprintf(`{"Node":"pay-%d","Address":"10.1.0.%d","Service":{"Service":"pay","Port":80},
				"Check":{"CheckID":"pay-%d","Name":"pay","Status":%q,"ServiceID":"pay"}}`, i, i+1, i, status)
			if code, out, _, err := s.Do("PUT", "/v1/catalog/register?dc=dc1", []byte(reg)); err != nil || code != 200 {
				t.Fatalf("register in dc1: %d %s %v", code, out, err)
			}
		}
		var target string
		harness.Eventually(t, 20*time.Second, func() error {
			code, out, _, err := s.Get("/v1/discovery-chain/pay")
			if err != nil || code != 200 {
				return fmt.Errorf("chain: %d %s %v", code, out, err)
			}
			var resp struct {
				Chain struct {
					Nodes map[string]struct {
						Resolver *struct{ Failover *struct{ Targets []string } }
					}
					Targets map[string]struct{ Service, Datacenter string }
				}
			}
			if err := json.Unmarshal(out, &resp); err != nil {
				return err
			}
			r := resp.Chain.Nodes["resolver:pay.default.default.dc2"].Resolver
			if r == nil || r.Failover == nil || len(r.Failover.Targets) != 1 {
				return fmt.Errorf("no failover in %s", out)
			}
			tg := resp.Chain.Targets[r.Failover.Targets[0]]
			if tg.Datacenter != "dc1" {
				return fmt.Errorf("failover target %+v", tg)
			}
			target = tg.Datacenter
			return nil
		})
		code, out, _, err := s.Get("/v1/health/service/pay?passing=1&dc=" + target)
		var inst []struct{ Node struct{ Node string } }
		if err != nil || code != 200 || json.Unmarshal(out, &inst) != nil || len(inst) != 1 || inst[0].Node.Node != "pay-0" {
			t.Fatalf("healthy dc1 instances via dc2: %d %s %v", code, out, err)
		}
	})
}

// BenchmarkReplicationLag measures the time from the primary acknowledging
// a config write to the entry being visible in the secondary (its leader's
// state, read through a blocking query), at a steady 100 writes/s.
// The primary holds b.N entries by the end, so -benchtime sets the entry
// count too; the lag must not grow with it (replication sends deltas).
// Run with: go test ./scenario-tests -run '^$' -bench ReplicationLag -benchtime 2000x
// and again with -benchtime 5000x.
func BenchmarkReplicationLag(b *testing.B) {
	f := harness.NewFederation(b, 3, "dc1", "dc2")
	primary, secondary := f.DC("dc1").WaitForLeader(10*time.Second), f.DC("dc2").WaitForLeader(10*time.Second)
	acked := make([]time.Time, b.N)
	seen := make([]time.Time, b.N)
	var ackMu sync.Mutex
	stop := make(chan struct{})
	watchDone := make(chan struct{})
	go func() { // the observer: a blocking query on the secondary's leader
		defer close(watchDone)
		idx := "0"
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, out, h, err := secondary.Get("/v1/config/service-defaults?index=" + idx + "&wait=2s")
			now := time.Now()
			if err != nil || code != 200 {
				continue
			}
			idx = h.Get("X-Consul-Index")
			var entries []struct{ Name string }
			_ = json.Unmarshal(out, &entries)
			for _, e := range entries {
				if i, err := strconv.Atoi(strings.TrimPrefix(e.Name, "lag-")); err == nil && i < b.N && seen[i].IsZero() {
					seen[i] = now
				}
			}
		}
	}()
	b.ResetTimer()
	tick := time.NewTicker(10 * time.Millisecond) // 100 writes/s
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		<-tick.C
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if ok, err := putDefaults(primary, "lag-"+strconv.Itoa(i)); err != nil || !ok {
				b.Errorf("write %d: %v %v", i, ok, err)
				return
			}
			ackMu.Lock()
			acked[i] = time.Now()
			ackMu.Unlock()
		}(i)
	}
	tick.Stop()
	wg.Wait()
	harness.Eventually(b, 30*time.Second, func() error {
		got, err := listDefaults(secondary, "stale")
		if err != nil {
			return err
		}
		if len(got) < b.N {
			return fmt.Errorf("secondary holds %d of %d", len(got), b.N)
		}
		return nil
	})
	close(stop)
	<-watchDone
	b.StopTimer()
	var lag []time.Duration
	for i := range acked {
		if !acked[i].IsZero() && !seen[i].IsZero() {
			// An entry can appear before its ack reaches the writer; that
			// counts as no lag.
			lag = append(lag, max(0, seen[i].Sub(acked[i])))
		}
	}
	reportLatencies(b, lag)
}
