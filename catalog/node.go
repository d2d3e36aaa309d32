package catalog

import (
	"reflect"
	"sort"
)

// RaftIndex records the Raft log indexes at which an object was created and
// last changed. Embedding it puts CreateIndex and ModifyIndex at the top
// level of the object's JSON, where Consul has them.
type RaftIndex struct {
	CreateIndex uint64 `bexpr:"-"`
	ModifyIndex uint64 `bexpr:"-"`
}

// Locality is the region and zone a node or service instance runs in.
type Locality struct {
	Region string `json:",omitempty"`
	Zone   string `json:",omitempty"`
}

// Node is a machine in the catalog. Node names compare case-insensitively,
// as in Consul.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	PeerName        string `json:",omitempty"`
	TaggedAddresses map[string]string
	Meta            map[string]string
	Locality        *Locality `json:",omitempty" bexpr:"-"`

	RaftIndex `bexpr:"-"`
}

// IsSame reports whether n and o describe the same node, ignoring Raft
// indexes. The state store uses it to skip writes that change nothing, which
// keeps watchers from waking up for no reason.
func (n *Node) IsSame(o *Node) bool {
	a, b := *n, *o
	a.RaftIndex, b.RaftIndex = RaftIndex{}, RaftIndex{}
	return reflect.DeepEqual(a, b)
}

// NodeServices is a node with its service instances keyed by service ID:
// the body of GET /v1/catalog/node/:node.
type NodeServices struct {
	Node     *Node
	Services map[string]*NodeService
}

// NodeServiceList is a node with its service instances as a list: the body
// of GET /v1/catalog/node-services/:node.
type NodeServiceList struct {
	Node     *Node
	Services []*NodeService
}

// List converts the map form into the list form, ordered by service ID so
// the output is stable. Services is never nil, so it encodes as [].
func (ns *NodeServices) List() *NodeServiceList {
	out := &NodeServiceList{Node: ns.Node, Services: make([]*NodeService, 0, len(ns.Services))}
	for _, s := range ns.Services {
		out.Services = append(out.Services, s)
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].ID < out.Services[j].ID })
	return out
}
