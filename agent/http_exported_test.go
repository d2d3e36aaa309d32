package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/switchyard/switchyard/agent/agenttest"
)

// GET /v1/exported-services (http-api.md §10): sorted, merged consumers,
// wildcard over typical services only, never consul, [] without an entry,
// blocking on the entry and (for a wildcard) on the service list.
func TestExportedServicesEndpoint(t *testing.T) {
	c := agenttest.NewCluster(t, 1, fastPeering("dc1"))
	a := c.Agents[0]
	client := consulClient(t, a.HTTPAddr())

	code, body, hdr := do(t, a, "GET", "/v1/exported-services", "")
	if code != 200 || strings.TrimSpace(body) != "[]" || hdr.Get("X-Consul-Index") == "" || hdr.Get("X-Consul-LastContact") == "" {
		t.Fatalf("no entry: %d %q %v", code, body, hdr)
	}

	reg := func(node string, svc *api.AgentService) {
		t.Helper()
		if _, err := client.Catalog().Register(&api.CatalogRegistration{Node: node, Address: "10.0.0.1", Service: svc}, nil); err != nil {
			t.Fatalf("register %s: %v", svc.ID, err)
		}
	}
	reg("n1", &api.AgentService{ID: "web", Service: "web", Port: 80})
	reg("n1", &api.AgentService{ID: "api", Service: "api", Port: 81})
	reg("n1", &api.AgentService{ID: "gw", Service: "gw", Kind: api.ServiceKindMeshGateway, Port: 443})
	reg("n1", &api.AgentService{ID: "web-sidecar-proxy", Service: "web-sidecar-proxy", Kind: api.ServiceKindConnectProxy, Port: 21000,
		Proxy: &api.AgentServiceConnectProxyConfig{DestinationServiceName: "web"}})
	reg("n1", &api.AgentService{ID: "edge", Service: "edge", Kind: api.ServiceKindConnectProxy, Port: 21001,
		Proxy: &api.AgentServiceConnectProxyConfig{DestinationServiceName: "api"}})
	entry := &api.ExportedServicesConfigEntry{Name: "default", Services: []api.ExportedService{
		{Name: "*", Consumers: []api.ServiceConsumer{{Peer: "alpha"}}},
		{Name: "web", Consumers: []api.ServiceConsumer{{Peer: "bravo"}, {Peer: "alpha"}}},
		{Name: "db", Consumers: []api.ServiceConsumer{{Peer: "charlie"}}},
		{Name: "consul", Consumers: []api.ServiceConsumer{{Peer: "alpha"}}},
	}}
	if _, _, err := client.ConfigEntries().Set(entry, nil); err != nil {
		t.Fatal(err)
	}
	list, meta, err := client.ExportedServices(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "[{api [alpha]} {db [charlie]} {web [alpha bravo]}]"
	if got := render(list); got != want {
		t.Fatalf("exported services %s, want %s", got, want)
	}
	code, body, _ = do(t, a, "GET", "/v1/exported-services", "")
	if code != 200 || strings.Contains(body, "Partition") || strings.Contains(body, "Namespace") ||
		!strings.Contains(body, `{"Service":"api","Consumers":{"Peers":["alpha"]}}`) {
		t.Fatalf("CE JSON shape: %d %s", code, body)
	}

	// A new typical service joins the wildcard and wakes a blocked read.
	type result struct {
		list []api.ResolvedExportedService
		meta *api.QueryMeta
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, m, err := client.ExportedServices(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 20 * time.Second})
		ch <- result{l, m, err}
	}()
	reg("n2", &api.AgentService{ID: "cache", Service: "cache", Port: 82})
	r := <-ch
	if r.err != nil || r.meta.LastIndex <= meta.LastIndex || render(r.list) != "[{api [alpha]} {cache [alpha]} {db [charlie]} {web [alpha bravo]}]" {
		t.Fatalf("after registering cache: %v index %d (was %d) %s", r.err, r.meta.LastIndex, meta.LastIndex, render(r.list))
	}
}

func render(list []api.ResolvedExportedService) string {
	var parts []string
	for _, e := range list {
		parts = append(parts, fmt.Sprintf("{%s %v}", e.Service, e.Consumers.Peers))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
