package agent

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Router timings. A ping is a gRPC Status call, answered by the server
// without Raft or disk, so its round trip is the network's plus a little.
const (
	// wanPingInterval: how often every remote server is pinged. Shorter
	// notices a dead datacenter sooner; each ping is one small RPC.
	wanPingInterval = time.Second
	// wanPingTimeout: a server that does not answer within this is counted
	// as failed for routing, even while gossip still calls it alive.
	wanPingTimeout = time.Second
	// rttSmoothing weights a new sample in the moving average, so one slow
	// answer does not reorder datacenters.
	rttSmoothing = 0.3
)

// serverStat is what pings taught about one remote server.
type serverStat struct {
	rtt      time.Duration // smoothed round-trip time of successful pings
	measured bool          // at least one ping succeeded
	ok       bool          // the last ping succeeded
	pinged   bool          // at least one ping was made
	lastErr  string
}

// wanRouter knows the servers of every datacenter (from the WAN pool) and
// how far they are (from pings). It picks the servers a ?dc= request is
// sent to and orders /v1/catalog/datacenters.
type wanRouter struct {
	self   string
	pool   *pool
	ping   pingFunc
	logger hclog.Logger

	mu          sync.Mutex
	stats       map[string]*serverStat // by WAN member name
	unreachable map[string]bool        // datacenters reported as failed
}

func newWANRouter(self string, p *pool, ping pingFunc, logger hclog.Logger) *wanRouter {
	return &wanRouter{self: self, pool: p, ping: ping, logger: logger,
		stats: map[string]*serverStat{}, unreachable: map[string]bool{}}
}

// serverView is one server as routing sees it.
type serverView struct {
	Name  string
	Addr  string // server RPC address
	Alive bool   // alive in WAN gossip
	Stat  serverStat
}

// usable: alive in gossip and not failing its pings.
func (s serverView) usable() bool { return s.Alive && (!s.Stat.pinged || s.Stat.ok) }

// dcView is one datacenter's servers.
type dcView struct {
	Name    string
	Servers []serverView
}

// reachable: some server can be used.
func (d dcView) reachable() bool {
	for _, s := range d.Servers {
		if s.usable() {
			return true
		}
	}
	return false
}

// rtt is the nearest usable measured server's round trip, or -1.
func (d dcView) rtt() time.Duration {
	best := time.Duration(-1)
	for _, s := range d.Servers {
		if s.usable() && s.Stat.measured && (best < 0 || s.Stat.rtt < best) {
			best = s.Stat.rtt
		}
	}
	return best
}

// forwardOrder lists the usable servers, measured ones nearest first, then
// the not yet measured; servers failing pings or dead in gossip are left
// out, so a request for a dead datacenter fails at once.
func (d dcView) forwardOrder() []serverView {
	var out []serverView
	for _, s := range d.Servers {
		if s.usable() {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Stat, out[j].Stat
		if a.measured != b.measured {
			return a.measured
		}
		return a.rtt < b.rtt
	})
	return out
}

// buildViews groups server members by datacenter, ignoring members that
// left (a datacenter whose servers all left is gone) and non-servers.
func buildViews(members []Member, stats map[string]*serverStat) map[string]*dcView {
	out := map[string]*dcView{}
	for _, m := range members {
		dc := m.Tags["dc"]
		if !m.IsServer() || dc == "" || m.Status == StatusLeft {
			continue
		}
		v := out[dc]
		if v == nil {
			v = &dcView{Name: dc}
			out[dc] = v
		}
		sv := serverView{Name: m.Name, Addr: m.ServerAddr(), Alive: m.Status == StatusAlive}
		if st := stats[m.Name]; st != nil {
			sv.Stat = *st
		}
		v.Servers = append(v.Servers, sv)
	}
	return out
}

// rankDatacenters orders datacenter names: self first, then reachable ones
// by round trip (measured before unmeasured), then unreachable ones; ties
// by name.
func rankDatacenters(self string, views map[string]*dcView) []string {
	type ranked struct {
		name      string
		reachable bool
		rtt       time.Duration
	}
	var rs []ranked
	for name, v := range views {
		if name != self {
			rs = append(rs, ranked{name, v.reachable(), v.rtt()})
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.reachable != b.reachable {
			return a.reachable
		}
		if (a.rtt < 0) != (b.rtt < 0) {
			return a.rtt >= 0
		}
		if a.rtt != b.rtt {
			return a.rtt < b.rtt
		}
		return a.name < b.name
	})
	out := []string{self}
	for _, r := range rs {
		out = append(out, r.name)
	}
	return out
}

func (r *wanRouter) views() map[string]*dcView {
	members := r.pool.Members()
	r.mu.Lock()
	defer r.mu.Unlock()
	return buildViews(members, r.stats)
}

// Datacenters lists known datacenters, self first, nearest next.
func (r *wanRouter) Datacenters() []string { return rankDatacenters(r.self, r.views()) }

// Servers returns the servers of dc to try for a request, best first, and
// whether the datacenter is known at all.
func (r *wanRouter) Servers(dc string) ([]serverView, bool) {
	v, ok := r.views()[dc]
	if !ok {
		return nil, false
	}
	return v.forwardOrder(), true
}

// dcReport is one datacenter in the "Federation" object of agent/self.
type dcReport struct {
	Datacenter   string
	Reachable    bool
	RTT          string // nearest usable server's smoothed round trip; "" unmeasured
	Servers      int
	AliveServers int
}

// Report describes every known datacenter in Datacenters() order.
func (r *wanRouter) Report() []dcReport {
	views := r.views()
	out := []dcReport{}
	for _, name := range rankDatacenters(r.self, views) {
		v := views[name]
		if v == nil {
			continue // self before this server saw itself in the pool
		}
		rep := dcReport{Datacenter: name, Reachable: name == r.self || v.reachable(), Servers: len(v.Servers)}
		for _, s := range v.Servers {
			if s.Alive {
				rep.AliveServers++
			}
		}
		if d := v.rtt(); d >= 0 {
			rep.RTT = d.String()
		}
		out = append(out, rep)
	}
	return out
}

// run pings remote servers every wanPingInterval and on membership
// changes until stop closes.
func (r *wanRouter) run(stop <-chan struct{}) {
	tick := time.NewTicker(wanPingInterval)
	defer tick.Stop()
	for {
		r.pingAll(stop)
		r.noticeFailures()
		select {
		case <-stop:
			return
		case <-tick.C:
		case <-r.pool.Changes():
		}
	}
}

// pingAll pings every alive server of other datacenters in parallel and
// waits for all answers (each bounded by wanPingTimeout).
func (r *wanRouter) pingAll(stop <-chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), wanPingTimeout)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for dc, v := range r.views() {
		if dc == r.self {
			continue
		}
		for _, s := range v.Servers {
			if !s.Alive {
				continue
			}
			wg.Add(1)
			go func(s serverView) {
				defer wg.Done()
				start := time.Now()
				err := r.ping(ctx, s.Addr)
				r.record(s.Name, time.Since(start), err)
			}(s)
		}
	}
	wg.Wait()
}

func (r *wanRouter) record(name string, rtt time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats[name]
	if st == nil {
		st = &serverStat{}
		r.stats[name] = st
	}
	st.pinged = true
	st.ok = err == nil
	if err != nil {
		st.lastErr = err.Error()
		return
	}
	st.lastErr = ""
	if !st.measured {
		st.rtt, st.measured = rtt, true
		return
	}
	st.rtt = time.Duration(rttSmoothing*float64(rtt) + (1-rttSmoothing)*float64(st.rtt))
}

// noticeFailures logs, once per transition, a datacenter whose servers all
// failed and its return. Requests for it fail with "No path to datacenter"
// meanwhile; agent/self shows it as not Reachable.
func (r *wanRouter) noticeFailures() {
	for dc, v := range r.views() {
		if dc == r.self {
			continue
		}
		ok := v.reachable()
		r.mu.Lock()
		was := r.unreachable[dc]
		r.unreachable[dc] = !ok
		r.mu.Unlock()
		switch {
		case !ok && !was:
			r.logger.Error("datacenter unreachable: all of its servers failed", "datacenter", dc, "servers", len(v.Servers))
		case ok && was:
			r.logger.Info("datacenter reachable again", "datacenter", dc)
		}
	}
}
