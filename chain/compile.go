package chain

import (
	"fmt"
	"maps"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

// defaultTenancy is the namespace and partition of every entry in CE, and
// the one the request's namespace and partition default to.
const defaultTenancy = "default"

// defaultConnectTimeout applies when a resolver sets none.
const defaultConnectTimeout = 5 * time.Second

// Compile compiles the discovery chain of req.ServiceName from the entries
// of src, following discovery-chain.md §4 and Consul 1.20 CE's compiler. It
// reads only the entries §1.1 names, never mutates them, and shares no
// memory with them in its result. Graph problems are reported as
// *GraphError; every error wraps ErrCompile.
func Compile(req Request, src Source) (*CompiledDiscoveryChain, error) {
	switch {
	case req.ServiceName == "":
		return nil, fmt.Errorf("%w: serviceName is required", ErrCompile)
	case req.EvaluateInDatacenter == "":
		return nil, fmt.Errorf("%w: evaluateInDatacenter is required", ErrCompile)
	case req.TrustDomain == "":
		return nil, fmt.Errorf("%w: evaluateInTrustDomain is required", ErrCompile)
	}
	req.EvaluateInNamespace = orDefault(req.EvaluateInNamespace, defaultTenancy)
	req.EvaluateInPartition = orDefault(req.EvaluateInPartition, defaultTenancy)
	c := newCompiler(req, gather(src, req.ServiceName))
	return c.compile()
}

// customizations records which overrides changed the result; only those
// feed the CustomizationHash.
type customizations struct {
	meshGateway, protocol, connectTimeout bool
}

// compiler holds the state of one compilation.
type compiler struct {
	req           Request
	entries       *entrySet
	proxyProtocol string // Config.protocol of proxy-defaults, weakly decoded

	// disableAdvanced is set when an L4 protocol override hides routers and
	// splitters; usesAdvanced when a router or splitter made it into the
	// chain.
	disableAdvanced bool
	usesAdvanced    bool
	custom          customizations
	protocol        string

	splitterNodes map[string]*DiscoveryGraphNode // by node name
	resolveNodes  map[string]*DiscoveryGraphNode // by target ID
	nodes         map[string]*DiscoveryGraphNode // by map key
	targets       map[string]*DiscoveryTarget    // every target built, by ID
	retained      map[string]bool                // targets that reach the output

	startNode       string
	serviceMeta     map[string]string
	envoyExtensions []configentry.EnvoyExtension
}

func newCompiler(req Request, es *entrySet) *compiler {
	c := &compiler{
		req:           req,
		entries:       es,
		splitterNodes: map[string]*DiscoveryGraphNode{},
		resolveNodes:  map[string]*DiscoveryGraphNode{},
		nodes:         map[string]*DiscoveryGraphNode{},
		targets:       map[string]*DiscoveryTarget{},
		retained:      map[string]bool{},
	}
	if es.proxy != nil {
		c.proxyProtocol = configProtocol(es.proxy.Config)
	}
	if req.OverrideProtocol != "" {
		c.disableAdvanced = !isHTTPLike(req.OverrideProtocol)
	}
	return c
}

// compile assembles the graph, then checks and simplifies it in Consul's
// order: cycles, flattening, pruning, the L7 check, and overrides last.
func (c *compiler) compile() (*CompiledDiscoveryChain, error) {
	if err := c.assemble(); err != nil {
		return nil, err
	}
	if err := c.detectCircularReferences(); err != nil {
		return nil, err
	}
	c.flattenSplitters()
	c.removeUnreachableNodes()
	for id := range c.targets {
		if !c.retained[id] {
			delete(c.targets, id)
		}
	}
	if c.usesAdvanced && !isHTTPLike(c.protocol) {
		return nil, c.errorf("discovery chain %q uses a protocol %q that does not permit advanced routing or splitting behavior",
			c.req.ServiceName, c.protocol)
	}
	if o := c.req.OverrideProtocol; o != "" && o != c.protocol {
		c.protocol = o
		c.custom.protocol = true
	}
	return &CompiledDiscoveryChain{
		ServiceName:       c.req.ServiceName,
		Namespace:         c.req.EvaluateInNamespace,
		Partition:         c.req.EvaluateInPartition,
		Datacenter:        c.req.EvaluateInDatacenter,
		CustomizationHash: c.customizationHash(),
		Default:           c.isDefaultChain(),
		Protocol:          c.protocol,
		ServiceMeta:       c.serviceMeta,
		EnvoyExtensions:   c.envoyExtensions,
		StartNode:         c.startNode,
		Nodes:             c.nodes,
		Targets:           c.targets,
	}, nil
}

// errorf builds a GraphError for this chain.
func (c *compiler) errorf(format string, args ...any) error {
	return graphErrorf(c.req.ServiceName, format, args...)
}

// assemble builds the graph from the start node down (rules 1–6) and
// collects the chain-level facts of the service's own service-defaults.
func (c *compiler) assemble() error {
	name := c.req.ServiceName
	if pd := c.entries.proxy; pd != nil {
		c.envoyExtensions = cloneExtensions(pd.EnvoyExtensions)
	}
	if sd := c.entries.services[name]; sd != nil {
		c.serviceMeta = maps.Clone(sd.Meta)
		c.envoyExtensions = append(c.envoyExtensions, cloneExtensions(sd.EnvoyExtensions)...)
	}

	router := c.entries.router
	if router != nil && c.disableAdvanced {
		router = nil
		c.custom.protocol = true
	}
	if router == nil {
		node, err := c.splitterOrResolverNode(c.newTarget(targetOpts{Service: name}))
		if err != nil {
			return err
		}
		c.startNode = node.MapKey()
		return nil
	}
	return c.assembleRouter(router)
}

// assembleRouter builds the router node: the configured routes in order,
// then the catch-all route to the chain's own service (rules 2–3).
func (c *compiler) assembleRouter(router *configentry.ServiceRouterConfigEntry) error {
	node := &DiscoveryGraphNode{
		Type:   NodeRouter,
		Name:   entryNodeName(router.Name),
		Routes: make([]*DiscoveryRoute, 0, len(router.Routes)+1),
	}
	c.usesAdvanced = true
	if err := c.recordServiceProtocol(router.Name); err != nil {
		return err
	}
	for i := range router.Routes {
		route := &router.Routes[i]
		opts := targetOpts{Service: c.req.ServiceName, Namespace: defaultTenancy, Partition: defaultTenancy}
		if d := route.Destination; d != nil {
			// Unlike splits, a route's namespace and partition are carried
			// into the target as written (Consul CE does not clear them).
			opts.Service = orDefault(d.Service, c.req.ServiceName)
			opts.Namespace = orDefault(d.Namespace, defaultTenancy)
			opts.Partition = orDefault(d.Partition, defaultTenancy)
			opts.ServiceSubset = d.ServiceSubset
		}
		var next *DiscoveryGraphNode
		var err error
		if opts.ServiceSubset == "" {
			next, err = c.splitterOrResolverNode(c.newTarget(opts))
		} else {
			next, err = c.resolverNode(c.newTarget(opts), false)
		}
		if err != nil {
			return err
		}
		node.Routes = append(node.Routes, &DiscoveryRoute{Definition: cloneRoute(route), NextNode: next.MapKey()})
	}

	next, err := c.splitterOrResolverNode(c.newTarget(targetOpts{
		Service: router.Name, Namespace: defaultTenancy, Partition: defaultTenancy,
	}))
	if err != nil {
		return err
	}
	node.Routes = append(node.Routes, &DiscoveryRoute{Definition: catchAllRoute(router.Name), NextNode: next.MapKey()})
	c.startNode = node.MapKey()
	c.recordNode(node)
	return nil
}

// catchAllRoute is the route appended to every router: everything else goes
// to the router's own service.
func catchAllRoute(service string) *configentry.ServiceRoute {
	return &configentry.ServiceRoute{
		Match: &configentry.ServiceRouteMatch{HTTP: &configentry.ServiceRouteHTTPMatch{PathPrefix: "/"}},
		Destination: &configentry.ServiceRouteDestination{
			Service: service, Namespace: defaultTenancy, Partition: defaultTenancy,
		},
	}
}

// splitterOrResolverNode is rule 4: t's service's splitter if it has one,
// else the resolver node of t.
func (c *compiler) splitterOrResolverNode(t *DiscoveryTarget) (*DiscoveryGraphNode, error) {
	node, err := c.splitterNode(t.Service)
	if err != nil || node != nil {
		return node, err
	}
	return c.resolverNode(t, false)
}

// splitterNode returns the splitter node of service, or nil when the service
// has no (usable) splitter (rules 5–6). The node is registered before its
// splits are followed so that a split loop ends at the cached node and is
// reported by the cycle check instead of recursing forever.
func (c *compiler) splitterNode(service string) (*DiscoveryGraphNode, error) {
	name := entryNodeName(service)
	if node := c.splitterNodes[name]; node != nil {
		return node, nil
	}
	splitter := c.entries.splitters[service]
	if splitter != nil && c.disableAdvanced {
		splitter = nil
		c.custom.protocol = true
	}
	if splitter == nil {
		return nil, nil
	}
	node := &DiscoveryGraphNode{
		Type:   NodeSplitter,
		Name:   name,
		Splits: make([]*DiscoverySplit, 0, len(splitter.Splits)),
	}
	c.recordNode(node)

	for i := range splitter.Splits {
		split := &splitter.Splits[i]
		compiled := &DiscoverySplit{Definition: cloneSplit(split), Weight: split.Weight}
		node.Splits = append(node.Splits, compiled)

		svc := orDefault(split.Service, service)
		if svc != service && split.ServiceSubset == "" {
			next, err := c.splitterNode(svc)
			if err != nil {
				return nil, err
			}
			if next != nil {
				compiled.NextNode = next.MapKey()
				continue
			}
		}
		// A split's namespace and partition are ignored in CE.
		next, err := c.resolverNode(c.newTarget(targetOpts{
			Service: svc, ServiceSubset: split.ServiceSubset,
			Namespace: defaultTenancy, Partition: defaultTenancy,
		}), false)
		if err != nil {
			return nil, err
		}
		compiled.NextNode = next.MapKey()
		// One route action can carry one hash policy, so the first
		// hash-based balancer reached directly wins.
		if node.LoadBalancer == nil && isHashBased(next.LoadBalancer) {
			node.LoadBalancer = next.LoadBalancer
		}
	}
	c.usesAdvanced = true
	return node, nil
}

// recordNode stores node in the graph and in its type's cache.
func (c *compiler) recordNode(node *DiscoveryGraphNode) {
	switch node.Type {
	case NodeSplitter:
		c.splitterNodes[node.Name] = node
	case NodeResolver:
		c.resolveNodes[node.Resolver.Target] = node
	}
	c.nodes[node.MapKey()] = node
}

// entryNodeName names a router or splitter node: service.namespace.partition,
// with CE's fixed tenancy.
func entryNodeName(service string) string {
	return service + "." + defaultTenancy + "." + defaultTenancy
}

// isHashBased reports whether lb hashes requests onto instances.
func isHashBased(lb *configentry.LoadBalancer) bool {
	return lb != nil && (lb.Policy == "ring_hash" || lb.Policy == "maglev")
}

// isDefaultChain is rule 23: the chain starts at a default resolver of its
// own service. A redirect to another service's default resolver does not
// count.
func (c *compiler) isDefaultChain() bool {
	node := c.nodes[c.startNode]
	if node == nil || node.Type != NodeResolver || !node.Resolver.Default {
		return false
	}
	t := c.targets[node.Resolver.Target]
	return t != nil && t.Service == c.req.ServiceName &&
		t.Namespace == c.req.EvaluateInNamespace && t.Partition == c.req.EvaluateInPartition
}

// customizationHash is rule 24 (see hash.go for the encoding).
func (c *compiler) customizationHash() string {
	if c.custom == (customizations{}) {
		return ""
	}
	var mode, protocol string
	var timeout time.Duration
	if c.custom.meshGateway {
		mode = c.req.OverrideMeshGateway.Mode
	}
	if c.custom.protocol {
		protocol = c.req.OverrideProtocol
	}
	if c.custom.connectTimeout {
		timeout = c.req.OverrideConnectTimeout
	}
	return overrideHash(mode, protocol, timeout)
}
