package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/rpc/pb"
)

// Version is reported in gossip tags and /v1/agent/self.
var Version = "0.1.0-dev"

// Agent is one running Switchyard server.
type Agent struct {
	config *Config
	logger hclog.Logger

	state *stateHandle // FSM and state store

	mux      *serverMux
	raft     *raftParts
	grpcSrv  *grpc.Server
	conns    *connPool
	lan      *pool
	fed      *federation // WAN pool, routing to other datacenters, replication (wan.go)
	httpSrv  *http.Server
	httpLn   net.Listener
	httpAddr string

	// local holds the services and checks registered with this agent
	// (agent/service/register); they are synced into the catalog.
	local localState
	// localSaveMu orders saves of local, so an older snapshot never
	// replaces a newer one on disk.
	localSaveMu sync.Mutex

	// peering is the cluster-peering listener and leader manager (peering.go).
	peering *peeringParts

	routesOnce sync.Once
	routeTable map[string]*route

	leaderDone chan struct{} // closed when leaderLoop has returned
	// readyTerm is the Raft term in which this server's leader session
	// passed its barrier, 0 outside a session: see leaderReady.
	readyTerm    atomic.Uint64
	leaveCh      chan struct{}
	leaveOnce    sync.Once
	shutdownCh   chan struct{}
	shutdownOnce sync.Once
	wg           sync.WaitGroup
}

// New starts an agent: listeners, Raft, gossip, the leader loop and the
// HTTP API. The returned agent is running; call Shutdown or Leave.
func New(c *Config, logger hclog.Logger) (*Agent, error) {
	if err := c.Finalize(); err != nil {
		return nil, err
	}
	id, err := loadOrCreateNodeID(c.DataDir, c.NodeID)
	if err != nil {
		return nil, err
	}
	c.NodeID = id
	a := &Agent{config: c, logger: logger, shutdownCh: make(chan struct{}), leaveCh: make(chan struct{}), conns: newConnPool()}
	if err := a.start(); err != nil {
		a.Shutdown()
		return nil, err
	}
	return a, nil
}

func (a *Agent) start() error {
	c := a.config
	a.state = newStateHandle(a.logger.Named("fsm"))

	ln, err := net.Listen("tcp", net.JoinHostPort(c.BindAddr, strconv.Itoa(c.Ports.Server)))
	if err != nil {
		return fmt.Errorf("server port: %w", err)
	}
	// With port 0 (tests), learn the real port before anything advertises it.
	c.Ports.Server = ln.Addr().(*net.TCPAddr).Port
	a.mux = newServerMux(ln, a.logger.Named("mux"))

	a.grpcSrv = grpc.NewServer()
	pb.RegisterForwarderServer(a.grpcSrv, &forwarderServer{a: a})
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		_ = a.grpcSrv.Serve(a.mux.grpc)
	}()

	advertise := &net.TCPAddr{IP: net.ParseIP(c.AdvertiseAddr), Port: c.Ports.Server}
	a.raft, err = setupRaft(c, a.state.fsm, &raftStreamLayer{chanListener: a.mux.raft, advertise: advertise}, a.logger.Named("raft"))
	if err != nil {
		return err
	}

	// Before gossip starts: the peering port is advertised in its tags.
	if err := a.startPeering(); err != nil {
		return err
	}
	if err := a.startHTTP(); err != nil {
		return err
	}

	// The WAN pool starts first: its port (resolved when 0) is advertised
	// in the LAN tags, through which a datacenter's servers find each
	// other's WAN address.
	if err := a.startWAN(); err != nil {
		return err
	}
	lanCfg := memberlist.DefaultLANConfig()
	if c.GossipProfile == GossipLocal {
		lanCfg = memberlist.DefaultLocalConfig()
	} else if c.GossipProbeInterval > 0 {
		lanCfg.ProbeInterval = c.GossipProbeInterval
		lanCfg.ProbeTimeout = c.GossipProbeInterval / 2
	}
	// Gossip port 0 (tests) must be resolved before joining, since the port
	// is advertised; memberlist resolves it itself when BindPort is 0.
	a.lan, err = newPool(poolConfig{
		Name: "lan", NodeName: c.NodeName, BindAddr: c.BindAddr, BindPort: c.Ports.SerfLAN,
		Advertise: c.AdvertiseAddr, Tags: func() map[string]string { return serverTags(c, Version) },
		Logger: a.logger.Named("memberlist.lan"), Memberlist: lanCfg,
	})
	if err != nil {
		return err
	}
	c.Ports.SerfLAN = int(a.lan.ml.LocalNode().Port)

	a.leaderDone = make(chan struct{})
	go func() {
		defer close(a.leaderDone)
		a.leaderLoop()
	}()
	if err := a.restoreLocal(); err != nil {
		return err
	}
	a.startLocalSync()
	if !a.raft.hadState && c.BootstrapExpect > 0 {
		a.goRun(a.bootstrapLoop)
	}
	if len(c.RetryJoin) > 0 {
		a.goRun(func() { a.retryJoin(a.lan, c.RetryJoin) })
	}
	a.goRun(a.reconnectLAN)
	a.startWANLoops()
	a.logger.Info("agent started", "node", c.NodeName, "datacenter", c.Datacenter,
		"http", a.httpAddr, "server", net.JoinHostPort(c.AdvertiseAddr, strconv.Itoa(c.Ports.Server)),
		"serf_lan", c.Ports.SerfLAN, "serf_wan", c.Ports.SerfWAN, "data_dir", c.DataDir)
	return nil
}

func (a *Agent) goRun(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// HTTPAddr is the address the HTTP API listens on (host:port).
func (a *Agent) HTTPAddr() string { return a.httpAddr }

// LANAddr is this agent's LAN gossip address, for -retry-join.
func (a *Agent) LANAddr() string {
	return net.JoinHostPort(a.config.AdvertiseAddr, strconv.Itoa(a.config.Ports.SerfLAN))
}

// Config returns the agent's finalized configuration (do not modify).
func (a *Agent) Config() *Config { return a.config }

// IsLeader reports whether this server leads its datacenter.
func (a *Agent) IsLeader() bool { return a.isLeader() }

// LeaderAddr is the Raft address of the leader this server knows, or "".
func (a *Agent) LeaderAddr() string {
	addr, _ := a.raft.raft.LeaderWithID()
	return string(addr)
}

// Raft exposes the Raft node (tests and the operator endpoints use it).
func (a *Agent) Raft() *raft.Raft { return a.raft.raft }

// retryJoin joins the pool through addrs, retrying until one answers or the
// agent stops.
func (a *Agent) retryJoin(p *pool, addrs []string) {
	for attempt := 1; ; attempt++ {
		n, err := p.Join(addrs)
		if err == nil {
			a.logger.Info("joined gossip pool", "pool", p.name, "contacted", n)
			return
		}
		a.logger.Warn("join failed, will retry", "pool", p.name, "attempt", attempt, "error", err, "retry_in", a.config.RetryInterval)
		select {
		case <-time.After(a.config.RetryInterval):
		case <-a.shutdownCh:
			return
		}
	}
}

// bootstrapLoop waits until BootstrapExpect servers of this datacenter are
// alive in gossip, checks that none of them already has Raft state (so an
// existing cluster is never bootstrapped again), and bootstraps Raft with
// all of them as voters. Every server runs this with the same member list,
// and hashicorp/raft accepts identical bootstrap configurations.
func (a *Agent) bootstrapLoop() {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-a.shutdownCh:
			return
		case <-a.lan.Changes():
		case <-tick.C:
		}
		if a.raft.raft.Leader() != "" {
			return // joined an existing cluster instead
		}
		servers := a.aliveServers()
		if len(servers) < a.config.BootstrapExpect {
			continue
		}
		if err := a.checkPeersHaveNoState(servers); err != nil {
			a.logger.Info("not bootstrapping", "reason", err)
			if errors.Is(err, errPeerHasState) {
				return
			}
			continue
		}
		var cfg raft.Configuration
		for _, m := range servers {
			cfg.Servers = append(cfg.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m.Tags["id"]), Address: raft.ServerAddress(m.ServerAddr())})
		}
		err := a.raft.raft.BootstrapCluster(cfg).Error()
		if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			a.logger.Error("bootstrap failed", "error", err)
			continue
		}
		a.logger.Info("bootstrapped raft cluster", "servers", len(cfg.Servers))
		return
	}
}

var errPeerHasState = errors.New("a peer already has raft state")

// aliveServers lists alive server members of this datacenter.
func (a *Agent) aliveServers() []Member {
	var out []Member
	for _, m := range a.lan.Members() {
		if m.IsServer() && m.Status == StatusAlive && m.Tags["dc"] == a.config.Datacenter {
			out = append(out, m)
		}
	}
	return out
}

// checkPeersHaveNoState asks every other server whether it has Raft state.
func (a *Agent) checkPeersHaveNoState(servers []Member) error {
	for _, m := range servers {
		if m.Name == a.config.NodeName {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := a.serverStatus(ctx, m.ServerAddr())
		cancel()
		if err != nil {
			return fmt.Errorf("cannot ask %s for its raft state: %w", m.Name, err)
		}
		if st.HasRaftState {
			return fmt.Errorf("%w: %s", errPeerHasState, m.Name)
		}
	}
	return nil
}

// Leave departs gracefully: a leader first hands leadership to another
// voter, then the node announces its departure in gossip (the new leader
// removes it from Raft), then everything stops.
func (a *Agent) Leave() error {
	if a.raft != nil && a.raft.raft.State() == raft.Leader && a.numVoters() > 1 {
		if err := a.raft.raft.LeadershipTransfer().Error(); err != nil {
			a.logger.Warn("leadership transfer before leave failed", "error", err)
		}
	}
	if a.lan != nil {
		// A leave broadcast nobody acknowledges (every other member is gone
		// or leaving too) is not a failure of this agent: it still stops.
		if err := a.lan.Leave(5 * time.Second); err != nil {
			a.logger.Warn("gossip leave not confirmed by other members", "error", err)
		}
		a.waitRemovedFromRaft(10 * time.Second)
	}
	a.leaveWAN(5 * time.Second)
	return a.Shutdown()
}

func (a *Agent) numVoters() int {
	f := a.raft.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	n := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}

// waitRemovedFromRaft waits until this server is no longer in the Raft
// configuration (the leader removes servers that left), or the timeout.
func (a *Agent) waitRemovedFromRaft(timeout time.Duration) {
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		f := a.raft.raft.GetConfiguration()
		if f.Error() == nil {
			found := false
			for _, s := range f.Configuration().Servers {
				if s.ID == raft.ServerID(a.config.NodeID) {
					found = true
				}
			}
			if !found || len(f.Configuration().Servers) == 1 {
				return
			}
		}
		select {
		case <-deadline:
			a.logger.Warn("left gossip but was not removed from raft in time")
			return
		case <-tick.C:
		}
	}
}

// Shutdown stops everything without announcing a departure.
func (a *Agent) Shutdown() error {
	var err error
	a.shutdownOnce.Do(func() {
		close(a.shutdownCh)
		// The leader session writes through Raft: stop it before Raft.
		if a.leaderDone != nil {
			<-a.leaderDone
		}
		if a.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = a.httpSrv.Shutdown(ctx)
			cancel()
		}
		if a.lan != nil {
			_ = a.lan.Shutdown()
		}
		a.shutdownWAN()
		if a.grpcSrv != nil {
			a.grpcSrv.Stop()
		}
		if a.raft != nil {
			err = a.raft.Close()
		}
		if a.mux != nil {
			_ = a.mux.Close()
		}
		a.conns.Close()
		a.wg.Wait()
		if a.config.DevMode {
			_ = os.RemoveAll(a.config.DataDir)
		}
	})
	return err
}
