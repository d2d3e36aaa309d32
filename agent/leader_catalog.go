package agent

import (
	"strconv"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/fsm"
)

// The node-level check every gossip member carries in the catalog.
const (
	serfHealthID      = "serfHealth"
	serfHealthName    = "Serf Health Status"
	serfAliveOutput   = "Agent alive and reachable"
	serfFailedOutput  = "Agent not live or unreachable"
	consulServiceName = "consul"
)

// reconcileCatalog makes the catalog reflect gossip: every member of this
// datacenter is a node with a serfHealth check (passing while alive,
// critical once failed), servers carry the consul service, and members that
// left are deregistered, as are nodes that still have a serfHealth check but
// are no longer members at all. Only differences cost a Raft write, so the
// periodic pass is cheap when nothing changed.
func (a *Agent) reconcileCatalog(members []Member) {
	store := a.state.store()
	known := map[string]bool{}
	for _, m := range members {
		if m.Tags["dc"] != a.config.Datacenter {
			continue
		}
		known[m.Name] = true
		switch m.Status {
		case StatusAlive, StatusFailed:
			want := a.memberRegistration(m)
			if a.registrationNeeded(store, want) {
				a.applyCatalog(fsm.EncodeRegister(want))
			}
		case StatusLeft:
			if _, ns, err := store.Node(nil, m.Name, ""); err == nil && ns != nil {
				a.applyCatalog(fsm.EncodeDeregister(&catalog.DeregisterRequest{Node: m.Name}))
			}
			a.lan.Forget(m.Name)
		}
	}
	_, checks, err := store.ChecksInState(nil, "any", "")
	if err != nil {
		a.logger.Warn("reading checks for reconcile failed", "error", err)
		return
	}
	for _, c := range checks {
		if c.CheckID == serfHealthID && !known[c.Node] {
			a.logger.Info("deregistering node that is no longer a member", "node", c.Node)
			a.applyCatalog(fsm.EncodeDeregister(&catalog.DeregisterRequest{Node: c.Node}))
		}
	}
}

// memberRegistration is the catalog state a member should have.
func (a *Agent) memberRegistration(m Member) *catalog.RegisterRequest {
	status, output := catalog.HealthPassing, serfAliveOutput
	if m.Status == StatusFailed {
		status, output = catalog.HealthCritical, serfFailedOutput
	}
	req := &catalog.RegisterRequest{
		Datacenter: a.config.Datacenter,
		ID:         m.Tags["id"],
		Node:       m.Name,
		Address:    m.Addr,
		Checks: []*catalog.HealthCheck{{
			Node: m.Name, CheckID: serfHealthID, Name: serfHealthName,
			Status: status, Output: output, Type: "serf",
		}},
	}
	if m.IsServer() {
		port, _ := strconv.Atoi(m.Tags["port"])
		meta := map[string]string{"version": m.Tags["build"], "raft_version": m.Tags["raft_vsn"], "non_voter": "false", "read_replica": "false"}
		if g := m.Tags["grpc"]; g != "" && g != "0" {
			meta["grpc_port"] = g
		}
		req.Service = &catalog.NodeService{ID: consulServiceName, Service: consulServiceName, Port: port, Meta: meta,
			Weights: &catalog.Weights{Passing: 1, Warning: 1}}
	}
	req.Normalize()
	return req
}

// registrationNeeded reports whether the catalog differs from want in what
// reconcile manages: the node's address and ID, the serfHealth check's
// status and output, and the consul service.
func (a *Agent) registrationNeeded(store *stateStore, want *catalog.RegisterRequest) bool {
	_, ns, err := store.Node(nil, want.Node, "")
	if err != nil || ns == nil || ns.Node == nil {
		return true
	}
	if ns.Node.Address != want.Address || ns.Node.ID != want.ID {
		return true
	}
	if want.Service != nil {
		have, ok := ns.Services[want.Service.ID]
		if !ok || have.Port != want.Service.Port || have.Meta["version"] != want.Service.Meta["version"] {
			return true
		}
	}
	_, checks, err := store.NodeChecks(nil, want.Node, "")
	if err != nil {
		return true
	}
	for _, c := range checks {
		if c.CheckID == serfHealthID {
			w := want.Checks[0]
			return c.Status != w.Status || c.Output != w.Output
		}
	}
	return true
}

// applyCatalog applies a catalog command built by the leader, logging
// failures; the next reconcile pass retries.
func (a *Agent) applyCatalog(cmd []byte, err error) {
	if err == nil {
		_, err = a.raftApply(cmd)
	}
	if err != nil {
		a.logger.Warn("catalog reconcile write failed", "error", err)
	}
}
