package catalog

import (
	"encoding/json"
	"reflect"
)

// ServiceKind says what a service instance is: a typical application
// (the empty kind), a Connect proxy or one of the gateway kinds.
type ServiceKind string

// Service kinds, as spelled in Consul's API.
const (
	ServiceKindTypical            ServiceKind = ""
	ServiceKindConnectProxy       ServiceKind = "connect-proxy"
	ServiceKindMeshGateway        ServiceKind = "mesh-gateway"
	ServiceKindTerminatingGateway ServiceKind = "terminating-gateway"
	ServiceKindIngressGateway     ServiceKind = "ingress-gateway"
	ServiceKindAPIGateway         ServiceKind = "api-gateway"
)

// IsGateway reports whether k is one of the gateway kinds.
func (k ServiceKind) IsGateway() bool {
	switch k {
	case ServiceKindMeshGateway, ServiceKindTerminatingGateway,
		ServiceKindIngressGateway, ServiceKindAPIGateway:
		return true
	}
	return false
}

// Weights are the DNS SRV weights of an instance while it is passing and
// while it is warning.
type Weights struct {
	Passing int
	Warning int
}

// DefaultWeights is what an instance registered without (or with invalid)
// weights gets, as in Consul.
var DefaultWeights = Weights{Passing: 1, Warning: 1}

// valid applies Consul's ValidateWeights rules.
func (w *Weights) valid() bool {
	return w.Passing >= 1 && w.Warning >= 0 && w.Passing <= 65535 && w.Warning <= 65535
}

// ServiceAddress is an address and port, used for tagged addresses.
type ServiceAddress struct {
	Address string
	Port    int
}

// NodeService is a service instance as registered on a node.
type NodeService struct {
	Kind              ServiceKind `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string
	Port              int    `json:",omitempty"`
	SocketPath        string `json:",omitempty"`
	Weights           *Weights
	EnableTagOverride bool
	Locality          *Locality `json:",omitempty" bexpr:"-"`
	Proxy             ConnectProxyConfig
	Connect           ServiceConnect
	PeerName          string `json:",omitempty"`

	RaftIndex `bexpr:"-"`
}

// MarshalJSON writes Tags as [] rather than null, which the health and
// catalog endpoints promise.
func (s NodeService) MarshalJSON() ([]byte, error) {
	type plain NodeService
	if s.Tags == nil {
		s.Tags = []string{}
	}
	return json.Marshal(plain(s))
}

// ServiceNode is the flat form of a service instance joined with its node:
// the elements of GET /v1/catalog/service/:name. In the state store the
// node fields (ID, Address, Datacenter, TaggedAddresses, NodeMeta) are empty
// and WithNode fills them on the way out.
type ServiceNode struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              ServiceKind
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	ServiceWeights           Weights
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceSocketPath        string
	ServiceEnableTagOverride bool
	ServiceProxy             ConnectProxyConfig
	ServiceConnect           ServiceConnect
	ServiceLocality          *Locality `bexpr:"-"`
	PeerName                 string    `json:",omitempty"`

	RaftIndex `bexpr:"-"`
}

// MarshalJSON writes ServiceTags as [] rather than null.
func (s ServiceNode) MarshalJSON() ([]byte, error) {
	type plain ServiceNode
	if s.ServiceTags == nil {
		s.ServiceTags = []string{}
	}
	return json.Marshal(plain(s))
}

// ToServiceNode converts an instance registered on node into its flat form
// without node fields. Missing or invalid weights become DefaultWeights, as
// Consul does when it stores an instance.
func (s *NodeService) ToServiceNode(node string) *ServiceNode {
	w := DefaultWeights
	if s.Weights != nil && s.Weights.valid() {
		w = *s.Weights
	}
	return &ServiceNode{
		Node:                     node,
		ServiceKind:              s.Kind,
		ServiceID:                s.ID,
		ServiceName:              s.Service,
		ServiceTags:              s.Tags,
		ServiceAddress:           s.Address,
		ServiceTaggedAddresses:   s.TaggedAddresses,
		ServiceWeights:           w,
		ServiceMeta:              s.Meta,
		ServicePort:              s.Port,
		ServiceSocketPath:        s.SocketPath,
		ServiceEnableTagOverride: s.EnableTagOverride,
		ServiceProxy:             s.Proxy,
		ServiceConnect:           s.Connect,
		ServiceLocality:          s.Locality,
		PeerName:                 s.PeerName,
		RaftIndex:                s.RaftIndex,
	}
}

// ToNodeService converts the flat form back into the instance as registered.
// The result shares maps and slices with s.
func (s *ServiceNode) ToNodeService() *NodeService {
	w := s.ServiceWeights
	return &NodeService{
		Kind:              s.ServiceKind,
		ID:                s.ServiceID,
		Service:           s.ServiceName,
		Tags:              s.ServiceTags,
		Address:           s.ServiceAddress,
		TaggedAddresses:   s.ServiceTaggedAddresses,
		Meta:              s.ServiceMeta,
		Port:              s.ServicePort,
		SocketPath:        s.ServiceSocketPath,
		Weights:           &w,
		EnableTagOverride: s.ServiceEnableTagOverride,
		Locality:          s.ServiceLocality,
		Proxy:             s.ServiceProxy,
		Connect:           s.ServiceConnect,
		PeerName:          s.PeerName,
		RaftIndex:         s.RaftIndex,
	}
}

// WithNode returns a copy of s with the node fields taken from n. The copy
// is shallow: maps and slices are shared with s and n.
func (s *ServiceNode) WithNode(n *Node) *ServiceNode {
	out := *s
	out.ID = n.ID
	out.Node = n.Node
	out.Address = n.Address
	out.Datacenter = n.Datacenter
	out.TaggedAddresses = n.TaggedAddresses
	out.NodeMeta = n.Meta
	return &out
}

// NewServiceNode joins an instance with the node it runs on.
func NewServiceNode(n *Node, s *NodeService) *ServiceNode {
	return s.ToServiceNode(n.Node).WithNode(n)
}

// IsSameService reports whether two stored instances are equal, ignoring
// Raft indexes.
func (s *ServiceNode) IsSameService(o *ServiceNode) bool {
	a, b := *s, *o
	a.RaftIndex, b.RaftIndex = RaftIndex{}, RaftIndex{}
	return reflect.DeepEqual(a, b)
}
