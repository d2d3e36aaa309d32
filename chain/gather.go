package chain

import (
	"sort"

	"github.com/switchyard/switchyard/configentry"
)

// entrySet is the snapshot of entries one chain is compiled from. Consul
// never lets the compiler look past the entries gathered for the chain
// (discovery-chain.md §1.1): a resolver or service-defaults entry that exists
// but was not gathered (say, for a service reached only as a peer failover
// target) is invisible, and compiling straight from the Source would not
// reproduce that. Gathering once also gives the server's Source exactly the
// reads whose indexes the response must reflect.
type entrySet struct {
	router    *configentry.ServiceRouterConfigEntry
	splitters map[string]*configentry.ServiceSplitterConfigEntry
	resolvers map[string]*configentry.ServiceResolverConfigEntry
	services  map[string]*configentry.ServiceConfigEntry
	proxy     *configentry.ProxyConfigEntry
	peers     map[string]*Locality
}

// workQueue is a FIFO of names in which each name is handed out once.
type workQueue struct {
	seen  map[string]bool
	items []string
}

func (q *workQueue) push(names ...string) {
	if q.seen == nil {
		q.seen = map[string]bool{}
	}
	for _, n := range names {
		if !q.seen[n] {
			q.seen[n] = true
			q.items = append(q.items, n)
		}
	}
}

func (q *workQueue) pop() (string, bool) {
	if len(q.items) == 0 {
		return "", false
	}
	n := q.items[0]
	q.items = q.items[1:]
	return n, true
}

// gather reads the entries of service's chain from src. CE keeps every entry
// in the default namespace and partition, so lookups are by name alone.
func gather(src Source, service string) *entrySet {
	es := &entrySet{
		splitters: map[string]*configentry.ServiceSplitterConfigEntry{},
		resolvers: map[string]*configentry.ServiceResolverConfigEntry{},
		services:  map[string]*configentry.ServiceConfigEntry{},
		peers:     map[string]*Locality{},
	}
	var splitQ, resolveQ, defaultsQ workQueue
	var peers []string
	defaultsQ.push(service)

	es.router = src.Router(service)
	if es.router != nil {
		splitQ.push(routerRelated(es.router)...)
	} else {
		splitQ.push(service)
	}
	for name, ok := splitQ.pop(); ok; name, ok = splitQ.pop() {
		defaultsQ.push(name)
		resolveQ.push(name)
		if sp := src.Splitter(name); sp != nil {
			es.splitters[name] = sp
			splitQ.push(splitterRelated(sp)...)
		}
	}
	for name, ok := resolveQ.pop(); ok; name, ok = resolveQ.pop() {
		defaultsQ.push(name)
		if r := src.Resolver(name); r != nil {
			es.resolvers[name] = r
			resolveQ.push(resolverRelated(r)...)
			peers = append(peers, resolverPeers(r)...)
		}
	}
	es.proxy = src.ProxyDefaults()
	for name, ok := defaultsQ.pop(); ok; name, ok = defaultsQ.pop() {
		if sd := src.ServiceDefaults(name); sd != nil {
			es.services[name] = sd
		}
	}
	if pls, ok := src.(PeerLocalitySource); ok {
		for _, p := range peers {
			if _, done := es.peers[p]; !done {
				es.peers[p] = pls.PeerLocality(p)
			}
		}
	}
	return es
}

// routerRelated lists the router's own service and its route destinations
// (Consul's ListRelatedServices), sorted.
func routerRelated(r *configentry.ServiceRouterConfigEntry) []string {
	out := []string{r.Name}
	for _, route := range r.Routes {
		if route.Destination != nil {
			out = append(out, orDefault(route.Destination.Service, r.Name))
		}
	}
	return sortedUnique(out, "")
}

// splitterRelated lists the other services the splits name, sorted.
func splitterRelated(s *configentry.ServiceSplitterConfigEntry) []string {
	var out []string
	for _, split := range s.Splits {
		out = append(out, orDefault(split.Service, s.Name))
	}
	return sortedUnique(out, s.Name)
}

// resolverRelated lists the other services a resolver redirects or fails
// over to. A redirect counts even when it names a peer; failover targets on
// a peer do not, since nothing is known locally about a peer's services.
func resolverRelated(r *configentry.ServiceResolverConfigEntry) []string {
	var out []string
	if r.Redirect != nil {
		out = append(out, orDefault(r.Redirect.Service, r.Name))
	}
	for _, f := range r.Failover {
		if len(f.Targets) == 0 {
			out = append(out, orDefault(f.Service, r.Name))
			continue
		}
		for _, t := range f.Targets {
			if t.Peer == "" {
				out = append(out, orDefault(t.Service, r.Name))
			}
		}
	}
	return sortedUnique(out, r.Name)
}

// resolverPeers lists the peers a resolver's redirect and failover targets
// name, sorted.
func resolverPeers(r *configentry.ServiceResolverConfigEntry) []string {
	var out []string
	if r.Redirect != nil && r.Redirect.Peer != "" {
		out = append(out, r.Redirect.Peer)
	}
	for _, f := range r.Failover {
		for _, t := range f.Targets {
			if t.Peer != "" {
				out = append(out, t.Peer)
			}
		}
	}
	return sortedUnique(out, "")
}

// sortedUnique sorts names, dropping duplicates and the name self.
func sortedUnique(names []string, self string) []string {
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if n != self && (i == 0 || n != names[i-1]) {
			out = append(out, n)
		}
	}
	return out
}

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
