package agent

import (
	"net/http"
	"strconv"

	"github.com/hashicorp/go-bexpr"
)

// GET /v1/agent/self. Every top-level value is an object (or null): the Go
// client decodes the body as map[string]map[string]any.
func (a *Agent) agentSelf(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	c := a.config
	var member any
	for _, m := range a.lan.Members() {
		if m.Name == c.NodeName {
			member = m
		}
	}
	raftStats := a.raft.raft.Stats()
	return map[string]any{
		"Config": map[string]any{
			"Datacenter":        c.Datacenter,
			"PrimaryDatacenter": c.PrimaryDatacenter,
			"NodeName":          c.NodeName,
			"NodeID":            c.NodeID,
			"Revision":          "",
			"Server":            c.Server,
			"Version":           Version,
			"BuildDate":         "",
		},
		"DebugConfig": map[string]any{
			"BootstrapExpect": c.BootstrapExpect,
			"DataDir":         c.DataDir,
			"AdvertiseAddr":   c.AdvertiseAddr,
			"ClientAddrs":     []string{c.ClientAddr},
			"Ports":           c.Ports,
		},
		"Coord":  nil,
		"Member": member,
		"Stats": map[string]any{
			"raft": raftStats,
			"agent": map[string]string{
				"server":   "true",
				"leader":   strconv.FormatBool(a.isLeader()),
				"members":  strconv.Itoa(len(a.lan.Members())),
				"checks":   strconv.Itoa(len(a.local.checkList())),
				"services": strconv.Itoa(len(a.local.serviceList())),
			},
		},
		"Meta":        map[string]any{},
		"Replication": a.replicationStatus(),
		"Federation":  a.federationStatus(),
	}, nil
}

// GET /v1/agent/members?wan=&segment=&filter=
func (a *Agent) agentMembers(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	q := r.URL.Query()
	wan := q.Get("wan") != ""
	if seg := q.Get("segment"); seg != "" && wan {
		return nil, badRequest("Cannot provide a segment with wan=true")
	}
	members := a.lan.Members()
	if wan {
		members = a.wanMembers()
	}
	out := make([]Member, 0, len(members))
	filter := q.Get("filter")
	var eval *bexpr.Evaluator
	if filter != "" {
		var err error
		if eval, err = bexpr.CreateEvaluator(filter); err != nil {
			return nil, badRequest("Failed to create boolean expression evaluator: %v", err)
		}
	}
	for _, m := range members {
		if eval != nil {
			ok, err := eval.Evaluate(m)
			if err != nil {
				return nil, badRequest("filter: %v", err)
			}
			if !ok {
				continue
			}
		}
		out = append(out, m)
	}
	return out, nil
}
