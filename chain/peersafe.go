package chain

import "sort"

// checkPeerSafe is rule 48: a chain exported to a peer may not leave the
// partition or the datacenter, nor hand traffic to another peer. Every
// entry gathered for the chain is inspected, used by the compiled chain or
// not, in Consul's order: routers, splitters, resolvers (each by name here,
// where Consul's order among same-kind entries is unspecified).
func checkPeerSafe(src Source, service string) error {
	es := gather(src, service)
	fail := func(what string) error {
		return graphErrorf(service, "peer exported service %q contains %s", service, what)
	}
	if r := es.router; r != nil {
		for _, route := range r.Routes {
			if route.Destination != nil && isOtherPartition(route.Destination.Partition) {
				return fail("cross-partition route destination")
			}
		}
	}
	for _, name := range sortedKeys(es.splitters) {
		for _, split := range es.splitters[name].Splits {
			if isOtherPartition(split.Partition) {
				return fail("cross-partition split destination")
			}
		}
	}
	for _, name := range sortedKeys(es.resolvers) {
		r := es.resolvers[name]
		if rd := r.Redirect; rd != nil {
			switch {
			case rd.Datacenter != "":
				return fail("cross-datacenter resolver redirect")
			case rd.Peer != "":
				return fail("cross-peer resolver redirect")
			case isOtherPartition(rd.Partition):
				return fail("cross-partition resolver redirect")
			}
		}
		// Failover to another peer or partition is allowed: it is what a
		// sameness group does, and mesh gateways ignore it for peers.
		for _, f := range r.Failover {
			if len(f.Datacenters) > 0 {
				return fail("cross-datacenter failover")
			}
			for _, t := range f.Targets {
				if t.Datacenter != "" {
					return fail("cross-datacenter failover")
				}
			}
		}
	}
	return nil
}

// isOtherPartition reports whether a partition field names a partition
// other than the entry's own (the default one in CE).
func isOtherPartition(p string) bool {
	return p != "" && p != defaultTenancy
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkNoNewTargets is rule 49. Targets are compared by the identity (SPIFFE
// ID) their instances would present, so subsets do not count as new;
// failover targets are left out on both sides, and a peer target is told
// apart from a datacenter of the same name.
func checkNoNewTargets(service string, proposed, current *CompiledDiscoveryChain) error {
	known := targetIdentities(current)
	added := targetIdentities(proposed)
	ids := make([]string, 0, len(added))
	for identity, id := range added {
		if _, ok := known[identity]; !ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	return graphErrorf(service, "peer exported service %q uses protocol=%q and cannot introduce new discovery chain targets like %q",
		service, proposed.Protocol, ids[0])
}

// targetIdentities maps the identity of each non-failover target of c to
// the smallest target ID that has it.
func targetIdentities(c *CompiledDiscoveryChain) map[string]string {
	failover := map[string]bool{}
	for _, n := range c.Nodes {
		if n.Resolver != nil && n.Resolver.Failover != nil {
			for _, id := range n.Resolver.Failover.Targets {
				failover[id] = true
			}
		}
	}
	out := map[string]string{}
	for id, t := range c.Targets {
		if failover[id] {
			continue
		}
		identity := spiffeKey(t)
		if prev, ok := out[identity]; !ok || id < prev {
			out[identity] = id
		}
	}
	return out
}

// spiffeKey renders the parts of a target's SPIFFE ID that distinguish it.
func spiffeKey(t *DiscoveryTarget) string {
	place := "dc/" + t.Datacenter
	if t.Peer != "" {
		place = "peer/" + t.Peer
	}
	return "ap/" + orDefault(t.Partition, defaultTenancy) + "/ns/" + orDefault(t.Namespace, defaultTenancy) +
		"/" + place + "/svc/" + t.Service
}
