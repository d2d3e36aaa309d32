package peering

import (
	"reflect"
	"strings"

	"github.com/switchyard/switchyard/catalog"
)

// ImportPlan is the catalog writes that make the local copy of one peer's
// service match what the peer sent: registrations (applied together) and
// then deregistrations.
type ImportPlan struct {
	Register   []*catalog.RegisterRequest
	Deregister []*catalog.DeregisterRequest
}

// Empty reports whether nothing needs writing.
func (p ImportPlan) Empty() bool { return len(p.Register) == 0 && len(p.Deregister) == 0 }

// PlanServiceImport reconciles the stored instances of one service imported
// from peer (current, the local health view with ?peer) against incoming,
// the peer's full instance set (peering.md §5). instancesOnNode counts, per
// lower-cased node name, every instance of any service this peer has on
// that node, so a node is deregistered only when nothing imported from the
// peer remains on it.
func PlanServiceImport(peer string, incoming []catalog.CheckServiceNode, current []catalog.CheckServiceNode, instancesOnNode map[string]int) ImportPlan {
	var plan ImportPlan
	type key struct{ node, id string }
	have := map[key]catalog.CheckServiceNode{}
	for _, csn := range current {
		have[key{strings.ToLower(csn.Node.Node), strings.ToLower(csn.Service.ID)}] = csn
	}
	wanted := map[key]bool{}
	wantedNodes := map[string]bool{}
	for _, csn := range incoming {
		if csn.Node == nil || csn.Service == nil {
			continue
		}
		k := key{strings.ToLower(csn.Node.Node), strings.ToLower(csn.Service.ID)}
		wanted[k] = true
		wantedNodes[k.node] = true
		req := importRequest(peer, csn)
		if old, ok := have[k]; ok && sameInstance(old, req) {
			continue
		}
		plan.Register = append(plan.Register, req)
	}
	removed := map[string]int{}
	var stale []catalog.CheckServiceNode
	for _, csn := range current {
		k := key{strings.ToLower(csn.Node.Node), strings.ToLower(csn.Service.ID)}
		if !wanted[k] {
			removed[k.node]++
			stale = append(stale, csn)
		}
	}
	nodeGone := map[string]bool{}
	for _, csn := range stale {
		n := strings.ToLower(csn.Node.Node)
		if !wantedNodes[n] && instancesOnNode[n] <= removed[n] {
			if !nodeGone[n] {
				nodeGone[n] = true
				plan.Deregister = append(plan.Deregister, &catalog.DeregisterRequest{Node: csn.Node.Node, PeerName: peer})
			}
			continue
		}
		plan.Deregister = append(plan.Deregister, &catalog.DeregisterRequest{Node: csn.Node.Node, ServiceID: csn.Service.ID, PeerName: peer})
	}
	return plan
}

// importRequest stamps peer on an incoming instance and turns it into a
// registration. The node keeps the exporter's datacenter name.
func importRequest(peer string, csn catalog.CheckServiceNode) *catalog.RegisterRequest {
	n := csn.Node
	svc := *csn.Service
	svc.PeerName = peer
	svc.RaftIndex = catalog.RaftIndex{}
	req := &catalog.RegisterRequest{
		Datacenter: n.Datacenter, ID: n.ID, Node: n.Node, Address: n.Address,
		TaggedAddresses: n.TaggedAddresses, NodeMeta: n.Meta, Locality: n.Locality,
		Service: &svc, PeerName: peer,
	}
	for _, c := range csn.Checks {
		cc := *c
		cc.PeerName, cc.RaftIndex, cc.Node = peer, catalog.RaftIndex{}, n.Node
		req.Checks = append(req.Checks, &cc)
	}
	req.Normalize()
	return req
}

// sameInstance compares what an import would write with what is stored,
// on the fields the exporter controls, so an unchanged instance costs no
// Raft write.
func sameInstance(old catalog.CheckServiceNode, req *catalog.RegisterRequest) bool {
	n := old.Node
	if n.ID != req.ID || n.Address != req.Address || n.Datacenter != req.Datacenter ||
		!sameMap(n.Meta, req.NodeMeta) || !sameMap(n.TaggedAddresses, req.TaggedAddresses) {
		return false
	}
	o, s := old.Service, req.Service
	if o.Service != s.Service || o.Address != s.Address || o.Port != s.Port || !sameStrings(o.Tags, s.Tags) ||
		!sameMap(o.Meta, s.Meta) || !reflect.DeepEqual(weightsOf(o.Weights), weightsOf(s.Weights)) ||
		!reflect.DeepEqual(o.TaggedAddresses, s.TaggedAddresses) && len(o.TaggedAddresses)+len(s.TaggedAddresses) > 0 {
		return false
	}
	if len(old.Checks) != len(req.Checks) {
		return false
	}
	for i, c := range req.Checks {
		oc := old.Checks[i]
		if oc.CheckID != c.CheckID || oc.Status != c.Status || oc.Output != c.Output || oc.Name != c.Name {
			return false
		}
	}
	return true
}

func weightsOf(w *catalog.Weights) catalog.Weights {
	if w == nil {
		return catalog.DefaultWeights
	}
	return *w
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func sameStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return equalStrings(a, b)
}

// WithdrawnServices lists the services imported from a peer that its new
// ExportedServiceList no longer names (compared case-insensitively).
func WithdrawnServices(imported []string, list []string) []string {
	keep := map[string]bool{}
	for _, n := range list {
		keep[strings.ToLower(n)] = true
	}
	var out []string
	for _, n := range imported {
		if !keep[strings.ToLower(n)] {
			out = append(out, n)
		}
	}
	return out
}
