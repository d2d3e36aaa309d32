package agent

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchyard/switchyard/peering"
)

// Config is everything an agent needs to start. Defaults live only in
// DefaultConfig; DevConfig overrides what differs for `agent -dev`.
type Config struct {
	// NodeName names this agent in gossip and the catalog. Default: hostname.
	NodeName string
	// NodeID is a stable UUID for the node; generated once and kept in the
	// data dir so a restarted server keeps its Raft identity.
	NodeID string
	// Datacenter this agent belongs to. Default "dc1".
	Datacenter string
	// PrimaryDatacenter is authoritative for config entries. Default: Datacenter.
	PrimaryDatacenter string
	// Server runs Raft and answers RPCs. Switchyard has only server agents.
	Server bool
	// BootstrapExpect: the cluster bootstraps once this many servers are seen
	// in gossip. 1 bootstraps a single server (dev). 0 means join an existing
	// cluster only.
	BootstrapExpect int
	// DataDir holds Raft's log, stable store and snapshots, and the node ID.
	DataDir string
	// DevMode uses a temporary data dir removed at shutdown.
	DevMode bool

	// BindAddr is the address server RPC and gossip listen on. Default 0.0.0.0
	// in normal mode (advertise then must resolve to one private IP) and
	// 127.0.0.1 in dev mode.
	BindAddr string
	// AdvertiseAddr is what other servers use to reach this one. Default:
	// BindAddr when it is a specific IP, else the first private IPv4.
	AdvertiseAddr string
	// ClientAddr is where the HTTP API listens. Default 127.0.0.1.
	ClientAddr string
	Ports      Ports

	// RetryJoin lists LAN gossip addresses (host:port) to join, retried
	// every RetryInterval until one answers.
	RetryJoin     []string
	RetryInterval time.Duration
	// RetryJoinWAN lists WAN gossip addresses of servers in other datacenters.
	RetryJoinWAN []string

	// LogLevel is trace, debug, info, warn or error. LogJSON switches the
	// log format to JSON lines.
	LogLevel string
	LogJSON  bool

	// EnableDebug serves Go's profiler under /debug/pprof/ on the HTTP
	// address (Consul's enable_debug). Off by default: profiles expose
	// internals and cost CPU while taken.
	EnableDebug bool

	// RPCHoldTimeout bounds how long a request that needs the leader waits
	// for one during an election before failing with "No cluster leader".
	// Consul's rpc_hold_timeout default, 7s.
	RPCHoldTimeout time.Duration
	// Raft timings. Shorter than Consul's production defaults (which multiply
	// by 5): the failover target is a new leader well within 1.5 s of a
	// leader crash; the cost is more spurious elections on overloaded hosts.
	RaftHeartbeatTimeout time.Duration
	RaftElectionTimeout  time.Duration
	RaftLeaderLease      time.Duration
	// RaftCommitTimeout is how long an idle leader waits before telling
	// followers the new commit index. Followers apply (and wake their
	// blocking queries) only when they learn it, so this bounds how stale
	// a follower's reads are after a write; Raft's 50 ms default is most of
	// a 50 ms write-to-watcher budget. The cost is more idle heartbeats.
	RaftCommitTimeout time.Duration
	// RaftSnapshotThreshold/Interval: how many log entries accumulate before
	// a snapshot is considered, and how often it is checked.
	RaftSnapshotThreshold uint64
	RaftSnapshotInterval  time.Duration
	// RaftTrailingLogs is how many log entries are kept behind a snapshot,
	// so a briefly lagging follower catches up from the log rather than by
	// a full snapshot install.
	RaftTrailingLogs uint64
	// DeadServerGrace: a server that stays failed in gossip this long is
	// removed from the Raft configuration (only if quorum is kept).
	DeadServerGrace time.Duration
	// ReconcileInterval: how often the leader re-checks gossip members
	// against the catalog and the Raft configuration, on top of events.
	ReconcileInterval time.Duration

	// GossipProbeInterval is how often each member probes another on the
	// LAN pool (the probe timeout is half of it). Memberlist's LAN default
	// is 1 s, which puts a crashed member's detection at 5-6 s; 500 ms
	// brings serfHealth to critical within about 3 s, at the cost of twice
	// the probe traffic (a few small UDP packets per second per member).
	GossipProbeInterval time.Duration
	// GossipProfile picks memberlist's timing defaults: GossipLAN for real
	// networks, GossipLocal (faster probes and suspicion) for loopback tests.
	GossipProfile string

	// HTTP server protections.
	HTTPReadHeaderTimeout time.Duration
	HTTPMaxBodyBytes      int64

	// Peering tunes cluster-peering streams (heartbeats, redial backoff,
	// token lifetime); see peering.DefaultConfig for the trade-offs.
	Peering peering.Config
}

// Ports are the listening ports; every one can be changed so several agents
// run side by side.
type Ports struct {
	HTTP    int // 8500
	Server  int // 8300: Raft and server-to-server gRPC, multiplexed
	SerfLAN int // 8301
	SerfWAN int // 8302
	GRPC    int // 8503: peering
}

// Gossip timing profiles.
const (
	GossipLAN   = "lan"
	GossipLocal = "local"
)

// DefaultConfig returns the production defaults.
func DefaultConfig() *Config {
	host, _ := os.Hostname()
	return &Config{
		NodeName:              host,
		Datacenter:            "dc1",
		Server:                true,
		BindAddr:              "0.0.0.0",
		ClientAddr:            "127.0.0.1",
		Ports:                 Ports{HTTP: 8500, Server: 8300, SerfLAN: 8301, SerfWAN: 8302, GRPC: 8503},
		RetryInterval:         2 * time.Second,
		LogLevel:              "info",
		RPCHoldTimeout:        7 * time.Second,
		RaftHeartbeatTimeout:  500 * time.Millisecond,
		RaftElectionTimeout:   500 * time.Millisecond,
		RaftLeaderLease:       250 * time.Millisecond,
		RaftCommitTimeout:     10 * time.Millisecond,
		RaftSnapshotThreshold: 16384,
		RaftSnapshotInterval:  30 * time.Second,
		RaftTrailingLogs:      10240,
		DeadServerGrace:       30 * time.Second,
		ReconcileInterval:     10 * time.Second,
		GossipProfile:         GossipLAN,
		GossipProbeInterval:   500 * time.Millisecond,
		HTTPReadHeaderTimeout: 10 * time.Second,
		HTTPMaxBodyBytes:      4 << 20, // config entries are small; 4 MiB is generous
		Peering:               peering.DefaultConfig(),
	}
}

// DevConfig is a single self-bootstrapping server on loopback with a
// temporary data dir.
func DevConfig() *Config {
	c := DefaultConfig()
	c.DevMode = true
	c.BootstrapExpect = 1
	c.BindAddr = "127.0.0.1"
	c.NodeName = "dev"
	return c
}

// Finalize fills derived values (advertise address, primary datacenter,
// data dir in dev mode) and validates. It names both values in cross-field
// errors.
func (c *Config) Finalize() error {
	if c.PrimaryDatacenter == "" {
		c.PrimaryDatacenter = c.Datacenter
	}
	if c.NodeName == "" {
		return fmt.Errorf("node name is empty: set -node")
	}
	if !validDCName(c.Datacenter) {
		return fmt.Errorf("datacenter %q is invalid: use letters, digits, '-' and '_'", c.Datacenter)
	}
	if !c.Server {
		return fmt.Errorf("only server agents are supported: set -server")
	}
	if c.DataDir == "" {
		if !c.DevMode {
			return fmt.Errorf("-data-dir is required (or use -dev)")
		}
		dir, err := os.MkdirTemp("", "switchyard-dev-")
		if err != nil {
			return err
		}
		c.DataDir = dir
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	c.DataDir = abs
	if c.BootstrapExpect < 0 {
		return fmt.Errorf("bootstrap-expect %d must not be negative", c.BootstrapExpect)
	}
	if c.AdvertiseAddr == "" {
		adv, err := defaultAdvertise(c.BindAddr)
		if err != nil {
			return err
		}
		c.AdvertiseAddr = adv
	}
	if net.ParseIP(c.AdvertiseAddr) == nil {
		return fmt.Errorf("advertise address %q is not an IP address", c.AdvertiseAddr)
	}
	for name, p := range map[string]int{"http": c.Ports.HTTP, "server": c.Ports.Server, "serf-lan": c.Ports.SerfLAN, "serf-wan": c.Ports.SerfWAN, "grpc": c.Ports.GRPC} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%s port %d is out of range 0-65535", name, p)
		}
	}
	if c.RaftLeaderLease > c.RaftHeartbeatTimeout {
		return fmt.Errorf("raft leader lease %s must not exceed the heartbeat timeout %s", c.RaftLeaderLease, c.RaftHeartbeatTimeout)
	}
	switch strings.ToLower(c.LogLevel) {
	case "trace", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log level %q is not one of trace, debug, info, warn, error", c.LogLevel)
	}
	return nil
}

func validDCName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// defaultAdvertise picks the address to advertise for a bind address: the
// bind address itself when specific, else the only private IPv4 of the host.
func defaultAdvertise(bind string) (string, error) {
	ip := net.ParseIP(bind)
	if ip != nil && !ip.IsUnspecified() {
		return bind, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	var found []string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil || ipn.IP.IsLoopback() {
			continue
		}
		if ipn.IP.IsPrivate() {
			found = append(found, ipn.IP.String())
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no private IPv4 address found to advertise: set -advertise (or -bind to a specific address)")
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("several private IPv4 addresses found (%s): set -advertise to choose one", strings.Join(found, ", "))
	}
}
