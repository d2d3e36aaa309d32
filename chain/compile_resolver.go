package chain

import (
	"slices"
	"strings"

	"github.com/switchyard/switchyard/configentry"
)

// targetOpts names a target before defaults are applied.
type targetOpts struct {
	Service, ServiceSubset, Namespace, Partition, Datacenter, Peer string
}

func optsOf(t *DiscoveryTarget) targetOpts {
	return targetOpts{
		Service: t.Service, ServiceSubset: t.ServiceSubset, Namespace: t.Namespace,
		Partition: t.Partition, Datacenter: t.Datacenter, Peer: t.Peer,
	}
}

// targetID formats a target ID (§3). A peer target's ID leaves out any
// subset, as Consul's does: validation forbids naming one with a peer, but a
// failover of a subset target to a peer keeps the subset it came with.
func targetID(o targetOpts) string {
	switch {
	case o.Peer != "":
		return dotJoin(o.Service, o.Namespace, o.Partition, "external", o.Peer)
	case o.ServiceSubset == "":
		return dotJoin(o.Service, o.Namespace, o.Partition, o.Datacenter)
	default:
		return dotJoin(o.ServiceSubset, o.Service, o.Namespace, o.Partition, o.Datacenter)
	}
}

// serviceSNI is Connect's SNI for a service in a datacenter: the short
// "internal" form in the default partition, "internal-v1" otherwise.
func serviceSNI(o targetOpts, trustDomain string) string {
	var parts []string
	if o.ServiceSubset != "" {
		parts = append(parts, o.ServiceSubset)
	}
	parts = append(parts, o.Service, orDefault(o.Namespace, defaultTenancy))
	if p := orDefault(o.Partition, defaultTenancy); p != defaultTenancy {
		parts = append(parts, p, o.Datacenter, "internal-v1")
	} else {
		parts = append(parts, o.Datacenter, "internal")
	}
	return dotJoin(append(parts, trustDomain)...)
}

func dotJoin(parts ...string) string { return strings.Join(parts, ".") }

// newTarget normalises o and returns the target with its ID, shared by every
// caller that names it. Local targets default to the evaluate-in datacenter,
// namespace and partition; peer targets have no datacenter, always the
// default partition (the peering lives there), no SNI (the peer's trust
// domain is unknown here) and the peering's locality.
func (c *compiler) newTarget(o targetOpts) *DiscoveryTarget {
	if o.Peer == "" {
		o.Datacenter = orDefault(o.Datacenter, c.req.EvaluateInDatacenter)
		o.Namespace = orDefault(o.Namespace, c.req.EvaluateInNamespace)
		o.Partition = orDefault(o.Partition, c.req.EvaluateInPartition)
	} else {
		o.Datacenter = ""
		o.Partition = defaultTenancy
		o.Namespace = orDefault(o.Namespace, defaultTenancy)
	}
	id := targetID(o)
	if t := c.targets[id]; t != nil {
		return t
	}
	t := &DiscoveryTarget{
		ID: id, Service: o.Service, ServiceSubset: o.ServiceSubset, Namespace: o.Namespace,
		Partition: o.Partition, Datacenter: o.Datacenter, Peer: o.Peer,
	}
	if o.Peer == "" {
		t.SNI = serviceSNI(o, c.req.TrustDomain)
		t.Name = t.SNI
	} else if loc := c.entries.peers[o.Peer]; loc != nil {
		copied := *loc
		t.Locality = &copied
	}
	c.targets[id] = t
	return t
}

// rewrite applies a redirect, default subset or failover to t (the rewrite()
// of §4). Naming another service drops the subset; naming a peer (or a
// namespace) replaces the namespace; and the peer is always replaced, so a
// rewrite without one turns a peer target local again.
func (c *compiler) rewrite(t *DiscoveryTarget, o targetOpts) *DiscoveryTarget {
	m := optsOf(t)
	if o.Service != "" && o.Service != m.Service {
		m.Service = o.Service
		m.ServiceSubset = ""
	}
	if o.ServiceSubset != "" {
		m.ServiceSubset = o.ServiceSubset
	}
	if o.Partition != "" {
		m.Partition = o.Partition
	}
	if o.Namespace != "" || o.Peer != "" {
		m.Namespace = o.Namespace
	}
	if o.Datacenter != "" {
		m.Datacenter = o.Datacenter
	}
	m.Peer = o.Peer
	return c.newTarget(m)
}

// resolverFor returns the resolver entry of service, or the implicit
// default resolver. Peer targets are resolved by service name too (§6).
func (c *compiler) resolverFor(service string) *configentry.ServiceResolverConfigEntry {
	if r := c.entries.resolvers[service]; r != nil {
		return r
	}
	return &configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: service}
}

// resolverNode follows redirects and default subsets from t to the target
// that is finally resolved, and returns its node (rules 7–13). In failover
// mode the node is neither stored nor given a failover of its own.
func (c *compiler) resolverNode(t *DiscoveryTarget, forFailover bool) (*DiscoveryGraphNode, error) {
	// Redirect chains are short, so the IDs seen so far are kept in order
	// in a slice, which also gives the cycle message its path.
	var seen []string
	for {
		if node := c.resolveNodes[t.ID]; node != nil {
			return node, nil
		}
		// A peer's protocol is unknown here; only local services count.
		if t.Peer == "" {
			if err := c.recordServiceProtocol(t.Service); err != nil {
				return nil, err
			}
		}
		resolver := c.resolverFor(t.Service)
		cycle := slices.Contains(seen, t.ID)
		seen = append(seen, t.ID)
		if cycle {
			return nil, c.errorf("detected circular resolver redirect: [%s]", strings.Join(seen, " -> "))
		}

		if r := resolver.Redirect; r != nil {
			next := c.rewrite(t, targetOpts{
				Service: r.Service, ServiceSubset: r.ServiceSubset, Namespace: r.Namespace,
				Partition: r.Partition, Datacenter: r.Datacenter, Peer: r.Peer,
			})
			if next.ID != t.ID {
				t = next
				continue
			}
		}
		if t.ServiceSubset == "" && resolver.DefaultSubset != "" {
			t = c.rewrite(t, targetOpts{ServiceSubset: resolver.DefaultSubset})
			continue
		}
		if t.ServiceSubset != "" {
			if _, ok := resolver.Subsets[t.ServiceSubset]; !ok {
				return nil, c.errorf("service %q does not have a subset named %q", t.Service, t.ServiceSubset)
			}
		}
		return c.buildResolverNode(t, resolver, forFailover)
	}
}

// buildResolverNode is rules 14–16 for the resolved target t.
func (c *compiler) buildResolverNode(t *DiscoveryTarget, resolver *configentry.ServiceResolverConfigEntry, forFailover bool) (*DiscoveryGraphNode, error) {
	timeout := resolver.ConnectTimeout
	if timeout < 1 {
		timeout = defaultConnectTimeout
	}
	if o := c.req.OverrideConnectTimeout; o > 0 && o != timeout {
		timeout = o
		c.custom.connectTimeout = true
	}
	t.ConnectTimeout = timeout
	node := &DiscoveryGraphNode{
		Type: NodeResolver,
		Name: t.ID,
		Resolver: &DiscoveryResolver{
			Default:        resolver.IsDefault(),
			ConnectTimeout: timeout,
			RequestTimeout: resolver.RequestTimeout,
			Target:         t.ID,
		},
		LoadBalancer: cloneLoadBalancer(resolver.LoadBalancer),
	}
	t.Subset = resolver.Subsets[t.ServiceSubset]
	t.PrioritizeByLocality = c.prioritizeByLocality(resolver)
	if err := c.applyServiceDefaults(t, resolver); err != nil {
		return nil, err
	}
	c.retained[t.ID] = true
	if forFailover {
		return node, nil
	}
	// Stored before failover is evaluated, so a failover target that leads
	// back here finds this node instead of recursing.
	c.recordNode(node)
	return node, c.addFailover(node, t, resolver)
}

// prioritizeByLocality is the resolver's setting, else proxy-defaults'.
// Both are Enterprise-only and refused by CE validation.
func (c *compiler) prioritizeByLocality(r *configentry.ServiceResolverConfigEntry) *configentry.ServiceResolverPrioritizeByLocality {
	p := r.PrioritizeByLocality
	if p == nil && c.entries.proxy != nil {
		p = c.entries.proxy.PrioritizeByLocality
	}
	if p == nil {
		return nil
	}
	copied := *p
	return &copied
}

// applyServiceDefaults is rule 15: external SNI, mesh gateway mode and
// DialedDirectly for t from its service's service-defaults, falling back to
// proxy-defaults, then the mesh gateway override.
func (c *compiler) applyServiceDefaults(t *DiscoveryTarget, resolver *configentry.ServiceResolverConfigEntry) error {
	sd := c.entries.services[t.Service]
	if sd != nil && sd.ExternalSNI != "" {
		t.SNI = sd.ExternalSNI
		t.External = true
	}
	if t.External {
		switch {
		case resolver.Redirect != nil:
			return c.errorf("service %q has an external SNI set; cannot define redirects for external services", t.Service)
		case len(resolver.Subsets) > 0:
			return c.errorf("service %q has an external SNI set; cannot define subsets for external services", t.Service)
		case len(resolver.Failover) > 0:
			return c.errorf("service %q has an external SNI set; cannot define failover for external services", t.Service)
		}
		// External services are reached directly, never through a gateway.
		t.MeshGateway.Mode = ""
		return nil
	}
	if sd != nil {
		t.MeshGateway = sd.MeshGateway
		t.TransparentProxy.DialedDirectly = sd.TransparentProxy.DialedDirectly
	}
	if pd := c.entries.proxy; pd != nil {
		if t.MeshGateway.Mode == "" {
			t.MeshGateway.Mode = pd.MeshGateway.Mode
		}
		if !t.TransparentProxy.DialedDirectly {
			t.TransparentProxy.DialedDirectly = pd.TransparentProxy.DialedDirectly
		}
	}
	if o := c.req.OverrideMeshGateway.Mode; o != "" && o != t.MeshGateway.Mode {
		t.MeshGateway.Mode = o
		c.custom.meshGateway = true
	}
	return nil
}

// addFailover is the failover part of rule 16. Failover is not recursive:
// candidates are resolved in failover mode, which follows their redirects
// and default subsets but not their own failover.
func (c *compiler) addFailover(node *DiscoveryGraphNode, t *DiscoveryTarget, resolver *configentry.ServiceResolverConfigEntry) error {
	if len(resolver.Failover) == 0 {
		return nil
	}
	f, ok := resolver.Failover[t.ServiceSubset]
	if !ok {
		if f, ok = resolver.Failover["*"]; !ok {
			return nil
		}
	}
	var candidates []*DiscoveryTarget
	switch {
	case len(f.Datacenters) > 0:
		for _, dc := range f.Datacenters {
			candidates = append(candidates, c.rewrite(t, targetOpts{
				Service: f.Service, ServiceSubset: f.ServiceSubset, Namespace: f.Namespace, Datacenter: dc,
			}))
		}
	case len(f.Targets) > 0:
		for _, ft := range f.Targets {
			candidates = append(candidates, c.rewrite(t, targetOpts{
				Service: ft.Service, ServiceSubset: ft.ServiceSubset, Namespace: ft.Namespace,
				Partition: ft.Partition, Datacenter: ft.Datacenter, Peer: ft.Peer,
			}))
		}
	case f.SamenessGroup != "":
		// Sameness groups cannot be stored in CE, so the group is never found.
		return c.errorf("sameness group missing for service %q", t.Service)
	default:
		candidates = append(candidates, c.rewrite(t, targetOpts{
			Service: f.Service, ServiceSubset: f.ServiceSubset, Namespace: f.Namespace,
		}))
	}
	var kept []*DiscoveryTarget
	for _, cand := range candidates {
		if cand.ID != t.ID {
			kept = append(kept, cand)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	df := &DiscoveryFailover{Policy: c.failoverPolicy(f.Policy)}
	node.Resolver.Failover = df
	for _, cand := range kept {
		fnode, err := c.resolverNode(cand, true)
		if err != nil {
			return err
		}
		df.Targets = append(df.Targets, fnode.Resolver.Target)
	}
	return nil
}

// failoverPolicy is the failover entry's policy when it sets a mode, else
// proxy-defaults' FailoverPolicy.
func (c *compiler) failoverPolicy(p *configentry.ServiceResolverFailoverPolicy) *configentry.ServiceResolverFailoverPolicy {
	if p == nil || p.Mode == "" {
		if c.entries.proxy == nil {
			return nil
		}
		p = c.entries.proxy.FailoverPolicy
	}
	return clonePolicy(p)
}
