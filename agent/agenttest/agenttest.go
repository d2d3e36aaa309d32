// Package agenttest starts real Switchyard servers in-process for
// integration tests: real Raft (raft-boltdb in t.TempDir()), real memberlist
// and real gRPC and HTTP on loopback with free ports.
package agenttest

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchyard/switchyard/agent"
)

// Cluster is a set of servers of one datacenter.
type Cluster struct {
	t      testing.TB
	Agents []*agent.Agent
	cfgs   []*agent.Config
}

// Option changes a server's config before it starts.
type Option func(i int, c *agent.Config)

// TestConfig is a server config for tests: loopback, port 0 everywhere,
// a temp data dir, and timings shrunk so failures are noticed quickly.
func TestConfig(t testing.TB, name string) *agent.Config {
	c := agent.DefaultConfig()
	c.NodeName = name
	c.DataDir = t.TempDir()
	c.BindAddr = "127.0.0.1"
	c.AdvertiseAddr = "127.0.0.1"
	c.ClientAddr = "127.0.0.1"
	c.Ports = agent.Ports{}
	c.GossipProfile = agent.GossipLocal
	c.ReconcileInterval = 500 * time.Millisecond
	c.DeadServerGrace = 5 * time.Second
	c.RetryInterval = 200 * time.Millisecond
	c.RPCHoldTimeout = 5 * time.Second
	return c
}

// NewCluster starts n servers that find each other by retry-join through
// the first one and bootstrap with bootstrap-expect n, and waits for a
// leader. Servers are shut down when the test ends.
func NewCluster(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	for i := 0; i < n; i++ {
		cfg := TestConfig(t, fmt.Sprintf("s%d", i+1))
		cfg.BootstrapExpect = n
		for _, o := range opts {
			o(i, cfg)
		}
		if i > 0 {
			cfg.RetryJoin = []string{c.Agents[0].LANAddr()}
		}
		a := c.start(cfg)
		c.Agents = append(c.Agents, a)
		c.cfgs = append(c.cfgs, cfg)
	}
	t.Cleanup(c.Shutdown)
	c.WaitForLeader()
	return c
}

func (c *Cluster) start(cfg *agent.Config) *agent.Agent {
	c.t.Helper()
	a, err := agent.New(cfg, testLogger(c.t, cfg.NodeName))
	if err != nil {
		c.t.Fatalf("starting %s: %v", cfg.NodeName, err)
	}
	return a
}

// testLogger writes agent logs to the test log, only shown on failure.
func testLogger(t testing.TB, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Info, Output: testWriter{t}})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}

// Shutdown stops every running server.
func (c *Cluster) Shutdown() {
	for _, a := range c.Agents {
		if a != nil {
			_ = a.Shutdown()
		}
	}
}

// Leader returns the current leader among running servers, or nil.
func (c *Cluster) Leader() *agent.Agent {
	for _, a := range c.Agents {
		if a != nil && a.IsLeader() {
			return a
		}
	}
	return nil
}

// Followers returns running servers that are not the leader.
func (c *Cluster) Followers() []*agent.Agent {
	var out []*agent.Agent
	for _, a := range c.Agents {
		if a != nil && !a.IsLeader() {
			out = append(out, a)
		}
	}
	return out
}

// WaitForLeader waits until exactly one running server leads and every
// running server knows it.
func (c *Cluster) WaitForLeader() *agent.Agent {
	c.t.Helper()
	var leader *agent.Agent
	Eventually(c.t, 30*time.Second, func() error {
		leader = c.Leader()
		if leader == nil {
			return fmt.Errorf("no leader yet")
		}
		for _, a := range c.Agents {
			if a != nil && a.LeaderAddr() == "" {
				return fmt.Errorf("%s does not know the leader", a.Config().NodeName)
			}
		}
		return nil
	})
	return leader
}

// Kill stops server i abruptly (no leave), like a crash.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	if err := c.Agents[i].Shutdown(); err != nil {
		c.t.Logf("shutdown of %s: %v", c.cfgs[i].NodeName, err)
	}
	c.Agents[i] = nil
}

// Restart starts server i again with the same data dir and ports.
func (c *Cluster) Restart(i int) *agent.Agent {
	c.t.Helper()
	old := c.cfgs[i]
	cfg := TestConfig(c.t, old.NodeName)
	cfg.DataDir = old.DataDir
	cfg.BootstrapExpect = old.BootstrapExpect
	cfg.Ports = old.Ports
	cfg.Datacenter, cfg.PrimaryDatacenter, cfg.RetryJoinWAN = old.Datacenter, old.PrimaryDatacenter, old.RetryJoinWAN
	cfg.RetryJoin = nil
	for j, a := range c.Agents {
		if a != nil && j != i {
			cfg.RetryJoin = append(cfg.RetryJoin, a.LANAddr())
		}
	}
	c.Agents[i] = c.start(cfg)
	c.cfgs[i] = cfg
	return c.Agents[i]
}

// Eventually retries f until it returns nil or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // a poll interval, not a wait for an event
	}
	t.Fatalf("condition not met within %s: %v", timeout, err)
}
