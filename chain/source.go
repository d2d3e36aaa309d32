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

// Entries is what graph validation (ValidateWrite) reads: single entries,
// and the entries of one kind in any order. ValidateWrite lists only
// routers, splitters and resolvers, so an implementation over an indexed
// store answers in time proportional to those kinds, not to the number of
// entries (service-defaults usually dominate). configentry.Set implements it
// for the CLI and tests; fsm.ConfigView over a state store transaction.
type Entries interface {
	// Get returns the entry of kind and name, or nil.
	Get(kind, name string) configentry.Entry
	// List returns every entry of kind.
	List(kind string) []configentry.Entry
}

var _ Entries = (*configentry.Set)(nil)

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

// LookupFunc adapts a plain (kind, name) lookup to a Source, so a caller
// with its own storage (an overlay, a state store transaction) writes one
// function instead of five typed methods.
type LookupFunc func(kind, name string) configentry.Entry

var _ Source = LookupFunc(nil)

// Router implements Source.
func (f LookupFunc) Router(s string) *configentry.ServiceRouterConfigEntry {
	e, _ := f(configentry.ServiceRouter, s).(*configentry.ServiceRouterConfigEntry)
	return e
}

// Splitter implements Source.
func (f LookupFunc) Splitter(s string) *configentry.ServiceSplitterConfigEntry {
	e, _ := f(configentry.ServiceSplitter, s).(*configentry.ServiceSplitterConfigEntry)
	return e
}

// Resolver implements Source.
func (f LookupFunc) Resolver(s string) *configentry.ServiceResolverConfigEntry {
	e, _ := f(configentry.ServiceResolver, s).(*configentry.ServiceResolverConfigEntry)
	return e
}

// ServiceDefaults implements Source.
func (f LookupFunc) ServiceDefaults(s string) *configentry.ServiceConfigEntry {
	e, _ := f(configentry.ServiceDefaults, s).(*configentry.ServiceConfigEntry)
	return e
}

// ProxyDefaults implements Source.
func (f LookupFunc) ProxyDefaults() *configentry.ProxyConfigEntry {
	e, _ := f(configentry.ProxyDefaults, configentry.ProxyDefaultsName).(*configentry.ProxyConfigEntry)
	return e
}
