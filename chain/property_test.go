package chain

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

// genServices are the service names random entry sets draw from; few
// enough that entries often refer to each other.
var genServices = []string{"s0", "s1", "s2", "s3", "s4", "s5"}

// entryGen builds random, mostly compilable entry sets.
type entryGen struct{ r *rand.Rand }

func (g entryGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }
func (g entryGen) chance(p float64) bool   { return g.r.Float64() < p }

// subset returns "" most of the time, else a subset that usually exists.
func (g entryGen) subset() string {
	if g.chance(0.6) {
		return ""
	}
	return g.pick([]string{"v1", "v2", "v1", "v2", "v9"})
}

// weights splits 100 into n multiples of 10 (zero allowed), so that
// flattening up to three levels deep stays exact to 0.01 and the sum
// property can demand that precision.
func (g entryGen) weights(n int) []float32 {
	out := make([]float32, n)
	left := 10
	for i := range n - 1 {
		k := g.r.IntN(left + 1)
		out[i] = float32(k * 10)
		left -= k
	}
	out[n-1] = float32(left * 10)
	return out
}

func (g entryGen) entries() []configentry.Entry {
	out := []configentry.Entry{&configentry.ProxyConfigEntry{
		Kind: configentry.ProxyDefaults, Name: "global",
		Config:         map[string]any{"protocol": "http"},
		MeshGateway:    configentry.MeshGatewayConfig{Mode: g.pick([]string{"", "", "local", "remote"})},
		FailoverPolicy: map[bool]*configentry.ServiceResolverFailoverPolicy{true: {Mode: "sequential"}}[g.chance(0.2)],
	}}
	for _, s := range genServices {
		if g.chance(0.3) {
			out = append(out, &configentry.ServiceConfigEntry{Kind: configentry.ServiceDefaults, Name: s,
				Protocol: g.pick([]string{"http", "http", "http", "tcp", ""})})
		}
		if g.chance(0.6) {
			out = append(out, g.resolver(s))
		}
		if g.chance(0.4) {
			out = append(out, g.splitter(s))
		}
	}
	if g.chance(0.6) {
		out = append(out, g.router("s0"))
	}
	return out
}

func (g entryGen) resolver(s string) *configentry.ServiceResolverConfigEntry {
	r := &configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: s}
	if g.chance(0.7) {
		r.Subsets = map[string]configentry.ServiceResolverSubset{"v1": {Filter: "Service.Meta.v == 1"}, "v2": {OnlyPassing: true}}
		if g.chance(0.3) {
			r.DefaultSubset = "v1"
		}
	}
	switch {
	case g.chance(0.25):
		r.Redirect = &configentry.ServiceResolverRedirect{Service: g.pick(genServices), ServiceSubset: g.subset()}
		if g.chance(0.2) {
			r.Redirect = &configentry.ServiceResolverRedirect{Service: g.pick(genServices), Peer: "peer1"}
		}
		if g.chance(0.2) {
			r.Redirect = &configentry.ServiceResolverRedirect{Datacenter: "dc2"}
		}
	case g.chance(0.4):
		f := configentry.ServiceResolverFailover{}
		switch g.r.IntN(3) {
		case 0:
			f.Datacenters = []string{"dc2", "dc3"}
		case 1:
			f.Targets = []configentry.ServiceResolverFailoverTarget{{Peer: "peer1"}, {Service: g.pick(genServices)}, {Datacenter: "dc1"}}
		default:
			f.Service, f.ServiceSubset = g.pick(genServices), g.subset()
		}
		key := "*"
		if r.Subsets != nil && g.chance(0.3) {
			key = "v2"
		}
		r.Failover = map[string]configentry.ServiceResolverFailover{key: f}
	}
	if g.chance(0.3) {
		r.ConnectTimeout = time.Duration(1+g.r.IntN(9)) * time.Second
	}
	if g.chance(0.3) {
		r.LoadBalancer = &configentry.LoadBalancer{Policy: g.pick([]string{"ring_hash", "maglev", "round_robin"})}
	}
	return r
}

func (g entryGen) splitter(s string) *configentry.ServiceSplitterConfigEntry {
	n := 1 + g.r.IntN(3)
	sp := &configentry.ServiceSplitterConfigEntry{Kind: configentry.ServiceSplitter, Name: s}
	for _, w := range g.weights(n) {
		split := configentry.ServiceSplit{Weight: w, ServiceSubset: g.subset()}
		if g.chance(0.6) {
			split.Service = g.pick(genServices)
		}
		if g.chance(0.2) {
			split.RequestHeaders = &configentry.HTTPHeaderModifiers{Set: map[string]string{"x-from": s}, Remove: []string{"x-" + s}}
		}
		sp.Splits = append(sp.Splits, split)
	}
	return sp
}

func (g entryGen) router(s string) *configentry.ServiceRouterConfigEntry {
	rt := &configentry.ServiceRouterConfigEntry{Kind: configentry.ServiceRouter, Name: s}
	for i := range g.r.IntN(4) {
		route := configentry.ServiceRoute{Match: &configentry.ServiceRouteMatch{HTTP: &configentry.ServiceRouteHTTPMatch{PathPrefix: fmt.Sprintf("/%d", i)}}}
		if g.chance(0.8) {
			route.Destination = &configentry.ServiceRouteDestination{Service: g.pick(genServices), ServiceSubset: g.subset()}
		}
		rt.Routes = append(rt.Routes, route)
	}
	return rt
}

// TestCompileProperties compiles every service of many random entry sets
// and checks the invariants every compiled chain must keep.
func TestCompileProperties(t *testing.T) {
	g := entryGen{rand.New(rand.NewPCG(20240611, 7))}
	compiled := 0
	for i := range 400 {
		set := configentry.NewSet(g.entries()...)
		before := setJSON(t, set)
		for _, s := range genServices {
			req := testRequest(s)
			req.OverrideConnectTimeout = map[bool]time.Duration{true: 3 * time.Second}[i%7 == 0]
			c, err := Compile(req, set)
			if err != nil {
				continue
			}
			compiled++
			checkChainInvariants(t, fmt.Sprintf("set %d, chain %s", i, s), c)
			again, err := Compile(req, set)
			if err != nil || mustJSON(t, again) != mustJSON(t, c) {
				t.Fatalf("set %d, chain %s: a second compile differs (%v)", i, s, err)
			}
		}
		if setJSON(t, set) != before {
			t.Fatalf("set %d: compiling changed the entries", i)
		}
		for _, e := range set.All() {
			_ = ValidateWrite(set, e, "", "")
		}
	}
	if compiled < 500 {
		t.Fatalf("only %d chains compiled; the generator is too hostile", compiled)
	}
}

// checkChainInvariants: split weights of each splitter sum to 100 (to
// 0.01), every node and target reference resolves, and every target is used.
func checkChainInvariants(t *testing.T, where string, c *CompiledDiscoveryChain) {
	t.Helper()
	if c.Nodes[c.StartNode] == nil {
		t.Fatalf("%s: start node %q missing", where, c.StartNode)
	}
	used := map[string]bool{}
	for key, n := range c.Nodes {
		if key != n.MapKey() {
			t.Fatalf("%s: node %q stored under %q", where, n.MapKey(), key)
		}
		for _, next := range nextNodes(n) {
			if c.Nodes[next] == nil {
				t.Fatalf("%s: %s leads to missing node %q", where, key, next)
			}
		}
		if n.Type == NodeSplitter {
			var sum float64
			for _, s := range n.Splits {
				sum += float64(s.Weight)
				if c.Nodes[s.NextNode].Type == NodeSplitter {
					t.Fatalf("%s: %s still leads to a splitter", where, key)
				}
			}
			if math.Abs(sum-100) > 0.01 {
				t.Fatalf("%s: splits of %s sum to %v", where, key, sum)
			}
		}
		if n.Resolver == nil {
			continue
		}
		refs := []string{n.Resolver.Target}
		if n.Resolver.Failover != nil {
			refs = append(refs, n.Resolver.Failover.Targets...)
		}
		for _, id := range refs {
			if c.Targets[id] == nil {
				t.Fatalf("%s: %s refers to missing target %q", where, key, id)
			}
			used[id] = true
		}
	}
	for id := range c.Targets {
		if !used[id] {
			t.Fatalf("%s: target %q is not referenced", where, id)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDefaultChainShortcutAgrees: validating a write with the default-chain
// shortcut gives what compiling every affected chain gives, over random
// entry sets and writes of every chain kind, protocols and external SNIs
// included, and every default chain compiles.
func TestDefaultChainShortcutAgrees(t *testing.T) {
	g := entryGen{rand.New(rand.NewPCG(20261206, 1))}
	shortcuts, refusals := 0, 0
	for i := range 400 {
		set := configentry.NewSet(g.entries()...)
		for _, s := range genServices {
			if isDefaultChain(set, s) {
				shortcuts++
				if _, err := Compile(testRequest(s), set); err != nil {
					t.Fatalf("set %d: default chain %s does not compile: %v", i, s, err)
				}
			}
		}
		var writes []configentry.Entry
		for _, s := range genServices {
			sd := &configentry.ServiceConfigEntry{Kind: configentry.ServiceDefaults, Name: s,
				Protocol: g.pick([]string{"http", "tcp", "grpc", ""})}
			if g.chance(0.2) {
				sd.ExternalSNI = "ext.example.com"
			}
			writes = append(writes, sd)
		}
		writes = append(writes, g.resolver(g.pick(genServices)), g.splitter(g.pick(genServices)), g.router(g.pick(genServices)))
		for _, w := range writes {
			fast := ValidateWrite(set, w, "", "")
			slowDefaultChains = true
			slow := ValidateWrite(set, w, "", "")
			slowDefaultChains = false
			if fmt.Sprint(fast) != fmt.Sprint(slow) {
				t.Fatalf("set %d, write %s/%s: with the shortcut %v, compiling %v", i, w.GetKind(), w.GetName(), fast, slow)
			}
			if slow != nil {
				refusals++
			}
		}
		for _, kind := range []string{configentry.ServiceRouter, configentry.ServiceSplitter, configentry.ServiceResolver} {
			s := g.pick(genServices)
			fast := ValidateWrite(set, nil, kind, s)
			slowDefaultChains = true
			slow := ValidateWrite(set, nil, kind, s)
			slowDefaultChains = false
			if fmt.Sprint(fast) != fmt.Sprint(slow) {
				t.Fatalf("set %d, delete %s/%s: with the shortcut %v, compiling %v", i, kind, s, fast, slow)
			}
		}
	}
	if shortcuts < 200 || refusals < 50 {
		t.Fatalf("%d default chains and %d refusals: the generator does not exercise both sides", shortcuts, refusals)
	}
}
