package chain

import (
	"time"

	"github.com/switchyard/switchyard/configentry"
)

// Source is what the compiler reads entries from. configentry.Set implements
// it for the CLI and tests; the server's state store implements it over a
// read transaction (tracking the highest index and watch channels it reads).
// A nil result means "no such entry".
type Source interface {
	Router(service string) *configentry.ServiceRouterConfigEntry
	Splitter(service string) *configentry.ServiceSplitterConfigEntry
	Resolver(service string) *configentry.ServiceResolverConfigEntry
	ServiceDefaults(service string) *configentry.ServiceConfigEntry
	ProxyDefaults() *configentry.ProxyConfigEntry
}

// PeerLocalitySource is an optional ability of a Source: the remote locality
// of a peering, copied onto peer targets. Sources without it give no Locality.
type PeerLocalitySource interface {
	PeerLocality(peer string) *Locality
}

var _ Source = (*configentry.Set)(nil)

// Request is everything besides entries that a compile depends on.
type Request struct {
	ServiceName string
	// EvaluateInDatacenter is the datacenter the chain is compiled for.
	EvaluateInDatacenter string
	// EvaluateInNamespace/Partition default to "default" (CE).
	EvaluateInNamespace string
	EvaluateInPartition string
	// TrustDomain is "<cluster-id>.consul"; it appears in SNIs.
	TrustDomain string
	// Overrides from the POST body of /v1/discovery-chain/:service.
	OverrideProtocol       string
	OverrideConnectTimeout time.Duration
	OverrideMeshGateway    configentry.MeshGatewayConfig
}
