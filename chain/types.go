package chain

import (
	"encoding/json"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

// Node types.
const (
	NodeRouter   = "router"
	NodeSplitter = "splitter"
	NodeResolver = "resolver"
)

// CompiledDiscoveryChain is the compiler's output, in the JSON shape of
// GET /v1/discovery-chain/:service ({"Chain": <this>}).
type CompiledDiscoveryChain struct {
	ServiceName       string
	Namespace         string
	Partition         string
	Datacenter        string
	CustomizationHash string                         `json:",omitempty"`
	Default           bool                           `json:",omitempty"`
	Protocol          string                         `json:",omitempty"`
	ServiceMeta       map[string]string              `json:",omitempty"`
	EnvoyExtensions   []configentry.EnvoyExtension   `json:",omitempty"`
	StartNode         string                         `json:",omitempty"`
	Nodes             map[string]*DiscoveryGraphNode `json:",omitempty"`
	Targets           map[string]*DiscoveryTarget    `json:",omitempty"`
	// Virtual IPs are assigned by the catalog, not the compiler; always
	// emitted (null when none) as Consul does.
	AutoVirtualIPs   []string
	ManualVirtualIPs []string
}

// DiscoveryGraphNode is a router, splitter or resolver node.
type DiscoveryGraphNode struct {
	Type         string
	Name         string
	Routes       []*DiscoveryRoute         `json:",omitempty"`
	Splits       []*DiscoverySplit         `json:",omitempty"`
	Resolver     *DiscoveryResolver        `json:",omitempty"`
	LoadBalancer *configentry.LoadBalancer `json:",omitempty"`
}

// MapKey is the node's key in CompiledDiscoveryChain.Nodes ("type:name").
func (n *DiscoveryGraphNode) MapKey() string { return n.Type + ":" + n.Name }

// DiscoveryRoute is a compiled route and the node it leads to.
type DiscoveryRoute struct {
	Definition *configentry.ServiceRoute
	NextNode   string
}

// DiscoverySplit is a compiled (possibly flattened) split.
type DiscoverySplit struct {
	Definition *configentry.ServiceSplit
	Weight     float32
	NextNode   string
}

// DiscoveryResolver is the resolver part of a resolver node.
// ConnectTimeout encodes as a duration string, RequestTimeout as integer
// nanoseconds (omitted when zero), matching Consul.
type DiscoveryResolver struct {
	Default        bool `json:",omitempty"`
	ConnectTimeout time.Duration
	RequestTimeout time.Duration `json:",omitempty"`
	Target         string
	Failover       *DiscoveryFailover `json:",omitempty"`
}

// MarshalJSON renders ConnectTimeout as a string.
func (r *DiscoveryResolver) MarshalJSON() ([]byte, error) {
	type plain DiscoveryResolver
	return json.Marshal(&struct {
		*plain
		ConnectTimeout string
	}{(*plain)(r), r.ConnectTimeout.String()})
}

// DiscoveryFailover lists the targets tried, in order, when the resolver's
// own target has no healthy instances.
type DiscoveryFailover struct {
	Targets []string
	Policy  *configentry.ServiceResolverFailoverPolicy `json:",omitempty"`
	Regions []string                                   `json:",omitempty"`
}

// Locality is a region/zone pair (peer targets take it from the peering).
type Locality struct {
	Region string `json:",omitempty"`
	Zone   string `json:",omitempty"`
}

// DiscoveryTarget is one concrete place instances are resolved from.
type DiscoveryTarget struct {
	ID                   string
	Service              string
	ServiceSubset        string    `json:",omitempty"`
	Namespace            string    `json:",omitempty"`
	Partition            string    `json:",omitempty"`
	Datacenter           string    `json:",omitempty"`
	Peer                 string    `json:",omitempty"`
	Locality             *Locality `json:",omitempty"`
	MeshGateway          configentry.MeshGatewayConfig
	Subset               configentry.ServiceResolverSubset
	TransparentProxy     TargetTransparentProxy
	ConnectTimeout       time.Duration
	External             bool                                             `json:",omitempty"`
	SNI                  string                                           `json:",omitempty"`
	Name                 string                                           `json:",omitempty"`
	PrioritizeByLocality *configentry.ServiceResolverPrioritizeByLocality `json:",omitempty"`
}

// TargetTransparentProxy carries the transparent-proxy facts a target needs.
type TargetTransparentProxy struct {
	DialedDirectly bool `json:",omitempty"`
}

// MarshalJSON renders ConnectTimeout as a string.
func (t *DiscoveryTarget) MarshalJSON() ([]byte, error) {
	type plain DiscoveryTarget
	return json.Marshal(&struct {
		*plain
		ConnectTimeout string
	}{(*plain)(t), t.ConnectTimeout.String()})
}

// Response is the body of GET /v1/discovery-chain/:service.
type Response struct {
	Chain *CompiledDiscoveryChain
}
