package agent

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/hashicorp/raft"
)

// GET /v1/status/leader: the leader's Raft address, or "".
func (a *Agent) statusLeader(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	if err := a.checkLocalDC(w, r); err != nil {
		return nil, err
	}
	addr, _ := a.raft.raft.LeaderWithID()
	return string(addr), nil
}

// GET /v1/status/peers: addresses of every server in the Raft configuration.
func (a *Agent) statusPeers(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	if err := a.checkLocalDC(w, r); err != nil {
		return nil, err
	}
	cfg, err := a.raftConfiguration()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, s := range cfg.Servers {
		out = append(out, string(s.Address))
	}
	return out, nil
}

// checkLocalDC sends a request for another datacenter there (then it
// returns errResponseWritten, or the forwarding error); nil means answer
// here.
func (a *Agent) checkLocalDC(w http.ResponseWriter, r *http.Request) error {
	qo, err := parseQueryOptions(r, a.config.Datacenter)
	if err != nil {
		return err
	}
	if qo.dc != a.config.Datacenter {
		return a.forwardToDC(w, r, qo.dc, nil)
	}
	return nil
}

func (a *Agent) raftConfiguration() (raft.Configuration, error) {
	f := a.raft.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Configuration{}, err
	}
	return f.Configuration(), nil
}

// RaftServer is one entry of /v1/operator/raft/configuration.
type RaftServer struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	ProtocolVersion string
	Voter           bool
	LastIndex       uint64
}

// GET /v1/operator/raft/configuration
func (a *Agent) operatorRaftConfiguration(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	if err := a.checkLocalDC(w, r); err != nil {
		return nil, err
	}
	f := a.raft.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	leaderAddr, _ := a.raft.raft.LeaderWithID()
	byID := a.membersByNodeID()
	out := struct {
		Servers []RaftServer
		Index   uint64
	}{Servers: []RaftServer{}, Index: f.Index()}
	for _, s := range f.Configuration().Servers {
		rs := RaftServer{ID: string(s.ID), Node: "(unknown)", Address: string(s.Address),
			Leader: s.Address == leaderAddr, ProtocolVersion: "unknown", Voter: s.Suffrage == raft.Voter}
		if m, ok := byID[string(s.ID)]; ok {
			rs.Node = m.Name
			if v := m.Tags["raft_vsn"]; v != "" {
				rs.ProtocolVersion = v
			}
		}
		if string(s.ID) == a.config.NodeID {
			rs.LastIndex = a.raft.raft.LastIndex()
		}
		out.Servers = append(out.Servers, rs)
	}
	return out, nil
}

func (a *Agent) membersByNodeID() map[string]Member {
	out := map[string]Member{}
	for _, m := range a.lan.Members() {
		if id := m.Tags["id"]; id != "" {
			out[id] = m
		}
	}
	return out
}

// DELETE /v1/operator/raft/peer?id=|?address=
func (a *Agent) operatorRaftPeerDelete(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	q := r.URL.Query()
	id, addr := q.Get("id"), q.Get("address")
	switch {
	case id == "" && addr == "":
		return nil, badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	case id != "" && addr != "":
		return nil, badRequest("Must specify only one of ?id or ?address")
	}
	cfg, err := a.raftConfiguration()
	if err != nil {
		return nil, err
	}
	for _, s := range cfg.Servers {
		if (id != "" && string(s.ID) == id) || (addr != "" && string(s.Address) == addr) {
			if err := a.raft.raft.RemoveServer(s.ID, 0, 0).Error(); err != nil {
				return nil, err
			}
			a.logger.Info("removed raft peer by operator request", "id", s.ID, "address", s.Address)
			return nil, nil
		}
	}
	if id != "" {
		return nil, &httpError{http.StatusInternalServerError, fmt.Sprintf("id %q was not found in the Raft configuration", id)}
	}
	return nil, &httpError{http.StatusInternalServerError, fmt.Sprintf("address %q was not found in the Raft configuration", addr)}
}

// autopilotServer is one entry of /v1/operator/autopilot/health.
type autopilotServer struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact string
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince string
}

// GET /v1/operator/autopilot/health: 200 when healthy, 429 (with the same
// body) when not, as Consul does.
func (a *Agent) operatorAutopilotHealth(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	if err := a.checkLocalDC(w, r); err != nil {
		return nil, err
	}
	if !a.isLeader() {
		if err := a.forwardToLeader(w, r, nil, false); err != nil {
			return nil, err
		}
		return nil, errResponseWritten
	}
	cfg, err := a.raftConfiguration()
	if err != nil {
		return nil, err
	}
	byID := a.membersByNodeID()
	leaderAddr, _ := a.raft.raft.LeaderWithID()
	stats := a.raft.raft.Stats()
	out := struct {
		Healthy          bool
		FailureTolerance int
		Servers          []autopilotServer
	}{Healthy: true, Servers: []autopilotServer{}}
	healthyVoters, voters := 0, 0
	for _, s := range cfg.Servers {
		m, known := byID[string(s.ID)]
		as := autopilotServer{ID: string(s.ID), Name: m.Name, Address: string(s.Address), SerfStatus: "none",
			Version: m.Tags["build"], Leader: s.Address == leaderAddr, Voter: s.Suffrage == raft.Voter,
			LastContact: "0s", StableSince: m.changed.UTC().Truncate(time.Second).Format(time.RFC3339)}
		if known {
			as.SerfStatus = statusName(m.Status)
		}
		as.Healthy = known && m.Status == StatusAlive
		if as.Leader {
			as.LastIndex = a.raft.raft.LastIndex()
			fmt.Sscan(stats["term"], &as.LastTerm)
		}
		if as.Voter {
			voters++
			if as.Healthy {
				healthyVoters++
			}
		}
		if !as.Healthy {
			out.Healthy = false
		}
		out.Servers = append(out.Servers, as)
	}
	sort.Slice(out.Servers, func(i, j int) bool { return out.Servers[i].Name < out.Servers[j].Name })
	out.FailureTolerance = max(0, healthyVoters-(voters/2+1))
	if !out.Healthy {
		writeJSONStatus(w, r, http.StatusTooManyRequests, out)
		return nil, errResponseWritten
	}
	return out, nil
}

// GET /v1/operator/state-hash (a Switchyard extension): this server's
// fsm.StateDigest, answered locally and never forwarded, since its point
// is to compare what each server holds. Servers that applied the same log
// report equal digests; see fsm/hash.go.
func (a *Agent) operatorStateHash(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	d, err := a.state.store().Digest()
	if err != nil {
		return nil, err
	}
	return d, nil
}
