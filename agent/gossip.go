package agent

import (
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// Member statuses, numbered as Consul's /v1/agent/members reports them.
const (
	StatusNone    = 0
	StatusAlive   = 1
	StatusLeaving = 2
	StatusLeft    = 3
	StatusFailed  = 4
)

// Member is one gossip pool member as the agent API reports it.
type Member struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
	// changed is when Status last changed; used for the dead-server grace.
	changed time.Time
}

// IsServer reports whether the member runs as a server.
func (m Member) IsServer() bool { return m.Tags["role"] == "consul" }

// ServerAddr is the member's server (Raft + RPC) address.
func (m Member) ServerAddr() string {
	return net.JoinHostPort(m.Addr, m.Tags["port"])
}

// pool wraps one memberlist pool (LAN, later WAN) and keeps every member it
// has seen, including failed and left ones, which memberlist forgets.
type pool struct {
	name    string
	ml      *memberlist.Memberlist
	logger  hclog.Logger
	tags    func() map[string]string
	changes chan struct{} // coalesced "membership changed" signal

	mu      sync.Mutex
	members map[string]*Member
	now     func() time.Time

	// leaving is published as the tag "leaving" before a graceful leave.
	// memberlist hands its delegate the same node state for a departure
	// and a crash, so without this intent others could not tell "left"
	// (remove now) from "failed" (wait for the grace period).
	leaving atomic.Bool
}

// poolConfig is what a pool needs beyond memberlist's own config.
type poolConfig struct {
	Name       string
	NodeName   string
	BindAddr   string
	BindPort   int
	Advertise  string
	Tags       func() map[string]string
	Logger     hclog.Logger
	Memberlist *memberlist.Config // base config (DefaultLANConfig / DefaultWANConfig)
}

func newPool(cfg poolConfig) (*pool, error) {
	p := &pool{
		name:    cfg.Name,
		logger:  cfg.Logger,
		tags:    cfg.Tags,
		changes: make(chan struct{}, 1),
		members: map[string]*Member{},
		now:     time.Now,
	}
	mc := cfg.Memberlist
	mc.Name = cfg.NodeName
	mc.BindAddr = cfg.BindAddr
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.Advertise
	mc.AdvertisePort = cfg.BindPort
	mc.Delegate = &poolDelegate{p: p}
	mc.Events = &poolEvents{p: p}
	mc.Logger = cfg.Logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("%s gossip: %w", cfg.Name, err)
	}
	p.ml = ml
	return p, nil
}

// Join contacts the given addresses; it succeeds if any answers.
func (p *pool) Join(addrs []string) (int, error) { return p.ml.Join(addrs) }

// Members returns every known member, sorted by name.
func (p *pool) Members() []Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		c := *m
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Forget drops a left or reaped member from the table.
func (p *pool) Forget(name string) {
	p.mu.Lock()
	delete(p.members, name)
	p.mu.Unlock()
}

// Changes fires (coalesced) whenever membership or a member's tags change.
func (p *pool) Changes() <-chan struct{} { return p.changes }

// UpdateTags re-broadcasts this node's tags.
func (p *pool) UpdateTags() error { return p.ml.UpdateNode(5 * time.Second) }

// Leave announces a graceful departure (first the intent, through a tag
// update, then memberlist's own leave), then stops gossiping.
func (p *pool) Leave(timeout time.Duration) error {
	p.leaving.Store(true)
	if err := p.ml.UpdateNode(timeout); err != nil {
		p.logger.Warn("announcing the intent to leave failed", "error", err)
	}
	err := p.ml.Leave(timeout)
	if serr := p.ml.Shutdown(); err == nil {
		err = serr
	}
	return err
}

// Shutdown stops gossiping without announcing anything (like a crash).
func (p *pool) Shutdown() error { return p.ml.Shutdown() }

func (p *pool) record(n *memberlist.Node, status int) {
	tags := map[string]string{}
	if len(n.Meta) > 0 {
		if err := json.Unmarshal(n.Meta, &tags); err != nil {
			p.logger.Warn("ignoring member with unreadable tags", "member", n.Name, "error", err)
			return
		}
	}
	p.mu.Lock()
	prev := p.members[n.Name]
	switch {
	case status == StatusAlive && tags["leaving"] == "1":
		status = StatusLeaving
	case status == StatusFailed && prev != nil && (prev.Status == StatusLeaving || prev.Status == StatusLeft):
		status = StatusLeft
	}
	delete(tags, "leaving")
	m := &Member{
		Name: n.Name, Addr: n.Addr.String(), Port: n.Port, Tags: tags, Status: status,
		ProtocolMin: n.PMin, ProtocolMax: n.PMax, ProtocolCur: n.PCur,
		DelegateMin: n.DMin, DelegateMax: n.DMax, DelegateCur: n.DCur,
		changed: p.now(),
	}
	if prev != nil && prev.Status == status {
		m.changed = prev.changed
	}
	p.members[n.Name] = m
	p.mu.Unlock()
	if prev == nil || prev.Status != status {
		p.logger.Info("member "+statusName(status), "pool", p.name, "member", n.Name, "addr", n.Address())
	}
	select {
	case p.changes <- struct{}{}:
	default:
	}
}

func statusName(s int) string {
	switch s {
	case StatusAlive:
		return "alive"
	case StatusLeaving:
		return "leaving"
	case StatusLeft:
		return "left"
	case StatusFailed:
		return "failed"
	}
	return "none"
}

type poolEvents struct{ p *pool }

func (e *poolEvents) NotifyJoin(n *memberlist.Node)   { e.p.record(n, StatusAlive) }
func (e *poolEvents) NotifyUpdate(n *memberlist.Node) { e.p.record(n, StatusAlive) }
func (e *poolEvents) NotifyLeave(n *memberlist.Node)  { e.p.record(n, StatusFailed) }

// poolDelegate publishes this node's tags as memberlist node metadata.
type poolDelegate struct{ p *pool }

func (d *poolDelegate) NodeMeta(limit int) []byte {
	tags := d.p.tags()
	if d.p.leaving.Load() {
		tags["leaving"] = "1"
	}
	b, err := json.Marshal(tags)
	if err != nil || len(b) > limit {
		// The tags are a fixed small set; exceeding the limit is a bug.
		panic(fmt.Sprintf("gossip tags do not fit in %d bytes: %v", limit, err))
	}
	return b
}
func (d *poolDelegate) NotifyMsg([]byte)                           {}
func (d *poolDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *poolDelegate) LocalState(join bool) []byte                { return nil }
func (d *poolDelegate) MergeRemoteState(buf []byte, join bool)     {}

// serverTags are the tags a server advertises, with Consul's names so tools
// reading /v1/agent/members see what they expect.
func serverTags(c *Config, version string) map[string]string {
	return map[string]string{
		"role":     "consul",
		"dc":       c.Datacenter,
		"id":       c.NodeID,
		"port":     strconv.Itoa(c.Ports.Server),
		"expect":   strconv.Itoa(c.BootstrapExpect),
		"raft_vsn": "3",
		"vsn":      "2",
		"build":    version,
		"http":     strconv.Itoa(c.Ports.HTTP),
		"grpc":     strconv.Itoa(c.Ports.GRPC),
		// Servers of one datacenter join each other's WAN pool through
		// this (wan.go floodJoinWAN), as Consul's servers do.
		"wan_join_port": strconv.Itoa(c.Ports.SerfWAN),
	}
}
