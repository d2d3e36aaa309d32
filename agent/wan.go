package agent

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/switchyard/switchyard/replication"
)

// federation is the agent's multi-datacenter state: the WAN gossip pool of
// every server of every datacenter, the router built from it, and the
// config replicator while this server leads a secondary datacenter.
type federation struct {
	wan    *pool
	router *wanRouter
	// repl is the running replicator (leader of a secondary only), read by
	// /v1/agent/self.
	repl atomic.Pointer[replication.Replicator]
}

// wanName is a server's name in the WAN pool, unique across datacenters.
func wanName(node, dc string) string { return node + "." + dc }

// startWAN joins the WAN pool and starts measuring other datacenters.
// memberlist's WAN defaults suit links between datacenters (longer probe
// intervals and timeouts); the loopback test profile uses the local
// defaults for both pools so failures are noticed within seconds.
func (a *Agent) startWAN() error {
	c := a.config
	wanCfg := memberlist.DefaultWANConfig()
	if c.GossipProfile == GossipLocal {
		wanCfg = memberlist.DefaultLocalConfig()
	}
	p, err := newPool(poolConfig{
		Name: "wan", NodeName: wanName(c.NodeName, c.Datacenter), BindAddr: c.BindAddr, BindPort: c.Ports.SerfWAN,
		Advertise: c.AdvertiseAddr, Tags: func() map[string]string { return serverTags(c, Version) },
		Logger: a.logger.Named("memberlist.wan"), Memberlist: wanCfg,
	})
	if err != nil {
		return err
	}
	c.Ports.SerfWAN = int(p.ml.LocalNode().Port)
	a.fed = &federation{wan: p, router: newWANRouter(c.Datacenter, p, a.pingServer, a.logger.Named("wan"))}
	return nil
}

// startWANLoops starts the router's pings, the WAN join of this
// datacenter's servers and -retry-join-wan; it runs once the LAN pool
// exists. All stop at shutdown.
func (a *Agent) startWANLoops() {
	a.goRun(func() { a.fed.router.run(a.shutdownCh) })
	a.goRun(a.floodJoinWAN)
	if len(a.config.RetryJoinWAN) > 0 {
		a.goRun(func() { a.retryJoin(a.fed.wan, a.config.RetryJoinWAN) })
	}
}

// floodJoinWAN makes every server of this datacenter a member of the WAN
// pool: one server joined to another datacenter is enough, the rest are
// brought in through the LAN, as Consul does. It checks every
// wanPingInterval; a join is one gossip exchange with a local server.
//
// It also rejoins failed WAN members every wanReconnectInterval, as serf's
// reconnect does: memberlist forgets how to reach a datacenter that was
// entirely down, and without this a primary restarted as a whole would
// stay apart from its secondaries.
func (a *Agent) floodJoinWAN() {
	tick := time.NewTicker(wanPingInterval)
	defer tick.Stop()
	lastReconnect := time.Now()
	for {
		if time.Since(lastReconnect) >= wanReconnectInterval {
			lastReconnect = time.Now()
			a.reconnectWAN()
		}
		inWAN := map[string]bool{}
		for _, m := range a.fed.wan.Members() {
			if m.Status == StatusAlive {
				inWAN[m.Name] = true
			}
		}
		var addrs []string
		for _, m := range a.aliveServers() {
			port := m.Tags["wan_join_port"]
			if m.Name == a.config.NodeName || port == "" || port == "0" || inWAN[wanName(m.Name, a.config.Datacenter)] {
				continue
			}
			addrs = append(addrs, net.JoinHostPort(m.Addr, port))
		}
		if len(addrs) > 0 {
			if _, err := a.fed.wan.Join(addrs); err != nil {
				a.logger.Debug("WAN join of local servers failed, will retry", "error", err)
			}
		}
		select {
		case <-a.shutdownCh:
			return
		case <-tick.C:
		}
	}
}

// WANAddr is this server's WAN gossip address, for -retry-join-wan.
func (a *Agent) WANAddr() string {
	return net.JoinHostPort(a.config.AdvertiseAddr, strconv.Itoa(a.config.Ports.SerfWAN))
}

// JoinWAN joins the WAN pool through the given addresses (tests and tools;
// the agent itself uses RetryJoinWAN).
func (a *Agent) JoinWAN(addrs []string) (int, error) { return a.fed.wan.Join(addrs) }

// leaveWAN announces a graceful departure from the WAN pool.
func (a *Agent) leaveWAN(timeout time.Duration) {
	if a.fed == nil {
		return
	}
	if err := a.fed.wan.Leave(timeout); err != nil {
		a.logger.Warn("leaving the WAN pool failed", "error", err)
	}
}

// shutdownWAN stops WAN gossip without announcing anything.
func (a *Agent) shutdownWAN() {
	if a.fed != nil {
		_ = a.fed.wan.Shutdown()
	}
}

// wanMembers lists the WAN pool (GET /v1/agent/members?wan=1).
func (a *Agent) wanMembers() []Member {
	if a.fed == nil {
		return []Member{}
	}
	return a.fed.wan.Members()
}

// datacenters lists every known datacenter, this one first, then the others
// nearest first by measured round-trip time.
func (a *Agent) datacenters() []string {
	if a.fed == nil {
		return []string{a.config.Datacenter}
	}
	return a.fed.router.Datacenters()
}

// federationStatus is the "Federation" object of /v1/agent/self.
func (a *Agent) federationStatus() map[string]any {
	out := map[string]any{"Datacenters": []dcReport{}}
	if a.fed != nil {
		out["Datacenters"] = a.fed.router.Report()
	}
	return out
}

// pingFunc asks one server for its status within ctx; the router times it.
type pingFunc func(ctx context.Context, addr string) error

func (a *Agent) pingServer(ctx context.Context, addr string) error {
	_, err := a.serverStatus(ctx, addr)
	return err
}

// wanReconnectInterval: how often failed gossip members are contacted
// again. Each attempt is one connection per failed member.
const wanReconnectInterval = 5 * time.Second

// reconnectWAN tries to join every failed WAN member's gossip address.
func (a *Agent) reconnectWAN() { a.reconnect(a.fed.wan, "WAN") }

// reconnect tries to join every failed member of p. memberlist stops
// gossiping to a member it declared dead after a while, so two sides of a
// healed partition that each declared the other dead would otherwise stay
// apart for good; serf's reconnect loop does the same.
func (a *Agent) reconnect(p *pool, name string) {
	var addrs []string
	for _, m := range p.Members() {
		if m.Status == StatusFailed {
			addrs = append(addrs, net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))))
		}
	}
	if len(addrs) == 0 {
		return
	}
	if n, err := p.Join(addrs); err == nil {
		a.logger.Info("reconnected to failed "+name+" members", "contacted", n)
	}
}

// reconnectLAN runs reconnect on the LAN pool until shutdown.
func (a *Agent) reconnectLAN() {
	tick := time.NewTicker(wanReconnectInterval)
	defer tick.Stop()
	for {
		select {
		case <-a.shutdownCh:
			return
		case <-tick.C:
			a.reconnect(a.lan, "LAN")
		}
	}
}

// AliveWANMembers counts the alive members of the WAN pool (tests wait on it).
func (a *Agent) AliveWANMembers() int {
	n := 0
	for _, m := range a.wanMembers() {
		if m.Status == StatusAlive {
			n++
		}
	}
	return n
}
