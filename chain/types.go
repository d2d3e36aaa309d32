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
// Weight is omitted when zero, as Consul does.
type DiscoverySplit struct {
	Definition *configentry.ServiceSplit
	Weight     float32 `json:",omitempty"`
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

// MarshalJSON renders ConnectTimeout as a string. The string field sits
// before the embedded struct, as in Consul, so it is emitted first.
func (r *DiscoveryResolver) MarshalJSON() ([]byte, error) {
	type plain DiscoveryResolver
	return json.Marshal(&struct {
		ConnectTimeout string `json:",omitempty"`
		*plain
	}{durationString(r.ConnectTimeout), (*plain)(r)})
}

// UnmarshalJSON reads what MarshalJSON writes, so clients can decode chains.
func (r *DiscoveryResolver) UnmarshalJSON(data []byte) error {
	type plain DiscoveryResolver
	aux := &struct {
		ConnectTimeout string
		*plain
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(data, aux); err != nil {
		return err
	}
	return parseDuration(aux.ConnectTimeout, &r.ConnectTimeout)
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
	ID               string
	Service          string
	ServiceSubset    string    `json:",omitempty"`
	Namespace        string    `json:",omitempty"`
	Partition        string    `json:",omitempty"`
	Datacenter       string    `json:",omitempty"`
	Peer             string    `json:",omitempty"`
	Locality         *Locality `json:",omitempty"`
	MeshGateway      configentry.MeshGatewayConfig
	Subset           configentry.ServiceResolverSubset
	TransparentProxy TargetTransparentProxy
	ConnectTimeout   time.Duration
	External         bool   `json:",omitempty"`
	SNI              string `json:",omitempty"`
	Name             string `json:",omitempty"`
	// PrioritizeByLocality is Enterprise-only (CE validation refuses it).
	PrioritizeByLocality *configentry.ServiceResolverPrioritizeByLocality `json:",omitempty"`
}

// TargetTransparentProxy carries the transparent-proxy facts a target needs.
type TargetTransparentProxy struct {
	DialedDirectly bool `json:",omitempty"`
}

// MarshalJSON renders ConnectTimeout as a string, first, as Consul does.
func (t *DiscoveryTarget) MarshalJSON() ([]byte, error) {
	type plain DiscoveryTarget
	return json.Marshal(&struct {
		ConnectTimeout string `json:",omitempty"`
		*plain
	}{durationString(t.ConnectTimeout), (*plain)(t)})
}

// UnmarshalJSON reads what MarshalJSON writes, so clients can decode chains.
func (t *DiscoveryTarget) UnmarshalJSON(data []byte) error {
	type plain DiscoveryTarget
	aux := &struct {
		ConnectTimeout string
		*plain
	}{plain: (*plain)(t)}
	if err := json.Unmarshal(data, aux); err != nil {
		return err
	}
	return parseDuration(aux.ConnectTimeout, &t.ConnectTimeout)
}

// parseDuration sets *d from a duration string; empty leaves it alone.
func parseDuration(s string, d *time.Duration) error {
	if s == "" {
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// durationString is Consul's rendering of a duration that is omitted when
// zero.
func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// Response is the body of GET /v1/discovery-chain/:service.
type Response struct {
	Chain *CompiledDiscoveryChain
}
