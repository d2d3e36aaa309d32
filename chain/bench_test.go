package chain

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

func benchmarkCompile(b *testing.B, set *configentry.Set, service string) {
	b.Helper()
	req := testRequest(service)
	if _, err := Compile(req, set); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Compile(req, set); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileL7PeeringSeed compiles frontend after all three steps of
// the L7-traffic-across-peers seed.
func BenchmarkCompileL7PeeringSeed(b *testing.B) {
	set := loadGoldenEntries(b, filepath.Join("testdata", "seed-peering-3-redirect", "entries.json"))
	benchmarkCompile(b, set, "frontend")
}

// BenchmarkCompileRouter100 compiles a router with 100 routes to 100
// services, each with a splitter and a resolver with subsets and failover.
func BenchmarkCompileRouter100(b *testing.B) {
	entries := []configentry.Entry{&configentry.ProxyConfigEntry{
		Kind: configentry.ProxyDefaults, Name: "global", Config: map[string]any{"protocol": "http"},
	}}
	router := &configentry.ServiceRouterConfigEntry{Kind: configentry.ServiceRouter, Name: "web"}
	for i := range 100 {
		svc := fmt.Sprintf("svc%d", i)
		router.Routes = append(router.Routes, configentry.ServiceRoute{
			Match:       &configentry.ServiceRouteMatch{HTTP: &configentry.ServiceRouteHTTPMatch{PathPrefix: "/" + svc}},
			Destination: &configentry.ServiceRouteDestination{Service: svc},
		})
		entries = append(entries,
			&configentry.ServiceSplitterConfigEntry{Kind: configentry.ServiceSplitter, Name: svc, Splits: []configentry.ServiceSplit{
				{Weight: 90, ServiceSubset: "v1"}, {Weight: 10, ServiceSubset: "v2"},
			}},
			&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: svc,
				Subsets: map[string]configentry.ServiceResolverSubset{
					"v1": {Filter: "Service.Meta.version == v1"}, "v2": {Filter: "Service.Meta.version == v2"},
				},
				Failover: map[string]configentry.ServiceResolverFailover{"*": {Datacenters: []string{"dc2", "dc3"}}},
			})
	}
	benchmarkCompile(b, configentry.NewSet(append(entries, router)...), "web")
}

// BenchmarkCompileNestedSplitters20 compiles 20 splitters, each sending
// half its traffic to the next one, flattened into one.
func BenchmarkCompileNestedSplitters20(b *testing.B) {
	entries := []configentry.Entry{&configentry.ProxyConfigEntry{
		Kind: configentry.ProxyDefaults, Name: "global", Config: map[string]any{"protocol": "http"},
	}}
	for i := range 20 {
		splits := []configentry.ServiceSplit{{Weight: 50}, {Weight: 50, Service: fmt.Sprintf("s%d", i+1)}}
		if i == 19 {
			splits = splits[:1]
			splits[0].Weight = 100
		}
		entries = append(entries, &configentry.ServiceSplitterConfigEntry{
			Kind: configentry.ServiceSplitter, Name: fmt.Sprintf("s%d", i), Splits: splits,
		})
	}
	benchmarkCompile(b, configentry.NewSet(entries...), "s0")
}

// validationEntries is a store of total entries dominated, as in practice,
// by service-defaults: a global proxy-defaults and 20 services with a
// router, a splitter and a resolver each (the router and splitter send
// traffic to service-defaults-backed services), the rest service-defaults.
func validationEntries(total int) *configentry.Set {
	set := configentry.NewSet(&configentry.ProxyConfigEntry{
		Kind: configentry.ProxyDefaults, Name: "global", Config: map[string]any{"protocol": "http"},
	})
	for i := range 20 {
		name := fmt.Sprintf("app%d", i)
		set.Put(&configentry.ServiceRouterConfigEntry{Kind: configentry.ServiceRouter, Name: name,
			Routes: []configentry.ServiceRoute{{
				Match:       &configentry.ServiceRouteMatch{HTTP: &configentry.ServiceRouteHTTPMatch{PathPrefix: "/admin"}},
				Destination: &configentry.ServiceRouteDestination{Service: fmt.Sprintf("svc%d", i)},
			}}})
		set.Put(&configentry.ServiceSplitterConfigEntry{Kind: configentry.ServiceSplitter, Name: name,
			Splits: []configentry.ServiceSplit{{Weight: 90}, {Weight: 10, Service: fmt.Sprintf("svc%d", i+20)}}})
		set.Put(&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: name,
			ConnectTimeout: 5 * time.Second})
	}
	for i := 0; set.Len() < total; i++ {
		set.Put(&configentry.ServiceConfigEntry{Kind: configentry.ServiceDefaults, Name: fmt.Sprintf("svc%d", i), Protocol: "http"})
	}
	return set
}

// BenchmarkValidateWriteServiceDefaults validates a service-defaults write
// for a service that a splitter sends traffic to, so two chains are
// compiled. The cost must not depend on how many other entries are
// stored: compare the sub-benchmarks.
func BenchmarkValidateWriteServiceDefaults(b *testing.B) {
	for _, total := range []int{500, 5000} {
		b.Run(fmt.Sprintf("entries=%d", total), func(b *testing.B) {
			set := validationEntries(total)
			// app3's splitter sends 10% to svc23.
			write := &configentry.ServiceConfigEntry{Kind: configentry.ServiceDefaults, Name: "svc23", Protocol: "http"}
			if got := affectedChains(set, write.Name); len(got) != 2 {
				b.Fatalf("affected chains %v, want svc23 and app3", got)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := ValidateWrite(set, write, "", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
