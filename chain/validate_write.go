package chain

import (
	"errors"
	"sort"

	"github.com/switchyard/switchyard/configentry"
)

// Graph validation compiles with fixed placeholders, as Consul does: the
// datacenter and trust domain do not change whether a chain compiles.
const (
	validationDatacenter  = "dc1"
	validationTrustDomain = "b6fc9da3-03d4-4b5a-9134-c045e9b20152.consul"
)

// exportedServicesName is the only exported-services entry CE has: the one
// named after the (default) partition.
const exportedServicesName = "default"

// ValidateWrite is graph validation (config-entries.md §7 rules 47–50): it
// reports whether the chains a change can affect still compile once the
// change is applied to all, and whether peer-exported chains stay
// peer-safe. The change is upsert, or, when upsert is nil, the deletion of
// deleteKind/deleteName. all is never modified. Failures are *GraphError
// naming the chain, with Consul's message.
//
// It runs before and inside every Raft apply of a config entry, so its cost
// must not grow with the number of entries: it looks entries up by name and
// lists only routers, splitters and resolvers, never service-defaults.
//
// Rules 51 and 52 need service-intentions, ingress-gateway and mesh
// entries, which Switchyard does not store; they are not checked.
func ValidateWrite(all Entries, upsert configentry.Entry, deleteKind, deleteName string) error {
	ch := change{kind: deleteKind, name: deleteName}
	if upsert != nil {
		ch = change{kind: upsert.GetKind(), name: upsert.GetName(), entry: upsert}
	}
	if ch.kind == configentry.ProxyDefaults && ch.name == "" {
		ch.name = configentry.ProxyDefaultsName
	}
	current := LookupFunc(all.Get)
	proposed := LookupFunc((&overlay{base: all, change: ch}).get)

	var chains []string
	switch ch.kind {
	case configentry.ExportedServices:
		return validateExports(all, current, ch)
	case configentry.ProxyDefaults:
		if ch.name != configentry.ProxyDefaultsName {
			return nil
		}
		chains = discoveryChainNames(all)
	case configentry.ServiceDefaults, configentry.ServiceRouter, configentry.ServiceSplitter, configentry.ServiceResolver:
		chains = affectedChains(all, ch.name)
	default:
		return nil
	}

	exp, _ := all.Get(configentry.ExportedServices, exportedServicesName).(*configentry.ExportedServicesConfigEntry)
	exported := peerExportedServices(exp, all, ch)
	for _, service := range chains {
		if err := validateChain(current, proposed, service, exported[service]); err != nil {
			return err
		}
	}
	return nil
}

// change is the write being validated; entry is nil for a deletion.
type change struct {
	kind, name string
	entry      configentry.Entry
}

// overlay is a Source that sees base with one change applied.
type overlay struct {
	base   Entries
	change change
}

func (o *overlay) get(kind, name string) configentry.Entry {
	if kind == o.change.kind && name == o.change.name {
		return o.change.entry
	}
	return o.base.Get(kind, name)
}

// validateChain checks one chain against the proposed state (rules 47–49).
func validateChain(current, proposed Source, service string, exported bool) error {
	if !exported && !slowDefaultChains && isDefaultChain(proposed, service) {
		return nil
	}
	compiled, err := compileForValidation(proposed, service)
	if err != nil {
		return asGraphError(service, err)
	}
	if !exported {
		return nil
	}
	if err := checkPeerSafe(proposed, service); err != nil {
		return err
	}
	if isHTTPLike(compiled.Protocol) {
		return nil
	}
	// A peer imports an L4 service by the identities of its targets, so an
	// edit may not introduce a target the current chain lacks.
	old, err := compileForValidation(current, service)
	if err != nil {
		return graphErrorf(service, "error compiling current discovery chain for %q: %s", service, err)
	}
	return checkNoNewTargets(service, compiled, old)
}

// isDefaultChain reports whether service has no router, splitter or
// resolver, so that its chain is the default one: a router-less,
// splitter-less start at a resolver node with the default resolver (no
// redirect, subsets or failover) and one target of its own. Such a chain
// always compiles: every compile error needs a router or splitter (rule
// 49's advanced routing, circular references), a resolver's redirect,
// subset or failover (circular redirects, missing subsets, external
// services with either, sameness groups), or a second service (protocol
// mismatches), and it has none. The writes that validation sees most,
// service-defaults of services without routing, are thus validated
// without compiling; TestDefaultChainShortcutAgrees checks the shortcut
// against compiling.
func isDefaultChain(src Source, service string) bool {
	return src.Router(service) == nil && src.Splitter(service) == nil && src.Resolver(service) == nil
}

// slowDefaultChains turns the isDefaultChain shortcut off (tests compare).
var slowDefaultChains bool

func compileForValidation(src Source, service string) (*CompiledDiscoveryChain, error) {
	return Compile(Request{
		ServiceName:          service,
		EvaluateInDatacenter: validationDatacenter,
		TrustDomain:          validationTrustDomain,
	}, src)
}

// asGraphError makes err a GraphError of chain if it is not one already.
func asGraphError(chain string, err error) error {
	var ge *GraphError
	if errors.As(err, &ge) {
		return ge
	}
	return &GraphError{Chain: chain, Message: err.Error()}
}

// validateExports is rule 50: every chain an exported-services write
// exports to a peer must be peer-safe as things stand.
func validateExports(all Entries, current Source, ch change) error {
	exp, _ := ch.entry.(*configentry.ExportedServicesConfigEntry)
	if exp == nil {
		return nil
	}
	exported := peerExportedServices(exp, all, ch)
	names := make([]string, 0, len(exported))
	for n := range exported {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := checkPeerSafe(current, n); err != nil {
			return err
		}
	}
	return nil
}

// peerExportedServices lists the services exp exports to at least one peer.
// A wildcard stands for every discovery chain name (Consul's reading, which
// also counts the name of the entry being written, whatever its kind, and
// drops the name of one being deleted).
func peerExportedServices(exp *configentry.ExportedServicesConfigEntry, all Entries, ch change) map[string]bool {
	out := map[string]bool{}
	if exp == nil {
		return out
	}
	for _, svc := range exp.Services {
		toPeer := false
		for _, c := range svc.Consumers {
			toPeer = toPeer || c.Peer != ""
		}
		switch {
		case !toPeer:
		case svc.Name != "*":
			out[svc.Name] = true
		default:
			for _, n := range discoveryChainNames(all) {
				out[n] = true
			}
			if ch.entry != nil {
				out[ch.name] = true
			} else {
				delete(out, ch.name)
			}
		}
	}
	return out
}

// chainKinds are the kinds that make a discovery chain more than its
// default; only their entries can name another service.
var chainKinds = [...]string{configentry.ServiceRouter, configentry.ServiceSplitter, configentry.ServiceResolver}

// discoveryChainNames lists, sorted, the services that have a router,
// splitter or resolver.
func discoveryChainNames(all Entries) []string {
	var names []string
	for _, kind := range chainKinds {
		for _, e := range all.List(kind) {
			names = append(names, e.GetName())
		}
	}
	return sortedUnique(names, "")
}

// affectedChains is rule 47 for a write on service: its own chain and the
// chain of every router, splitter or resolver that names it directly.
// Like Consul, links are not followed transitively.
func affectedChains(all Entries, service string) []string {
	names := []string{service}
	for _, kind := range chainKinds {
		for _, e := range all.List(kind) {
			var related []string
			switch x := e.(type) {
			case *configentry.ServiceRouterConfigEntry:
				related = routerRelated(x)
			case *configentry.ServiceSplitterConfigEntry:
				related = splitterRelated(x)
			case *configentry.ServiceResolverConfigEntry:
				related = resolverRelated(x)
			}
			for _, r := range related {
				if r == service {
					names = append(names, e.GetName())
					break
				}
			}
		}
	}
	return sortedUnique(names, "")
}
