package agent_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/switchyard/switchyard/agent/agenttest"
)

// These tests drive a running server with the official Consul Go client:
// whatever it can send and decode, Switchyard must answer in kind.

func consulClient(t *testing.T, addr string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompatConfigEntries(t *testing.T) {
	c := agenttest.NewCluster(t, 1)
	client := consulClient(t, c.Agents[0].HTTPAddr())
	ce := client.ConfigEntries()

	ok, _, err := ce.Set(&api.ProxyConfigEntry{Kind: api.ProxyDefaults, Name: api.ProxyConfigGlobal, Config: map[string]any{"protocol": "http"}}, nil)
	if err != nil || !ok {
		t.Fatalf("set proxy-defaults: %v %v", ok, err)
	}
	resolver := &api.ServiceResolverConfigEntry{
		Kind: api.ServiceResolver, Name: "web", ConnectTimeout: 15 * time.Second,
		Subsets:  map[string]api.ServiceResolverSubset{"v1": {Filter: "Service.Meta.version == v1"}, "v2": {Filter: "Service.Meta.version == v2"}},
		Failover: map[string]api.ServiceResolverFailover{"*": {Targets: []api.ServiceResolverFailoverTarget{{Peer: "cluster-02"}}}},
	}
	if ok, _, err := ce.Set(resolver, nil); err != nil || !ok {
		t.Fatalf("set resolver: %v %v", ok, err)
	}
	splitter := &api.ServiceSplitterConfigEntry{Kind: api.ServiceSplitter, Name: "web", Splits: []api.ServiceSplit{
		{Weight: 90, ServiceSubset: "v1", ResponseHeaders: &api.HTTPHeaderModifiers{Set: map[string]string{"X-Web-Version": "v1"}}},
		{Weight: 10, ServiceSubset: "v2"},
	}}
	if ok, _, err := ce.Set(splitter, nil); err != nil || !ok {
		t.Fatalf("set splitter: %v %v", ok, err)
	}
	router := &api.ServiceRouterConfigEntry{Kind: api.ServiceRouter, Name: "web", Routes: []api.ServiceRoute{{
		Match:       &api.ServiceRouteMatch{HTTP: &api.ServiceRouteHTTPMatch{PathPrefix: "/admin", Methods: []string{"get"}}},
		Destination: &api.ServiceRouteDestination{Service: "admin", RequestTimeout: 10 * time.Second, NumRetries: 3},
	}}}
	if ok, _, err := ce.Set(router, nil); err != nil || !ok {
		t.Fatalf("set router: %v %v", ok, err)
	}

	got, meta, err := ce.Get(api.ServiceResolver, "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := got.(*api.ServiceResolverConfigEntry)
	if r.ConnectTimeout != 15*time.Second || len(r.Subsets) != 2 || r.Failover["*"].Targets[0].Peer != "cluster-02" || meta.LastIndex == 0 {
		t.Errorf("resolver read back wrong: %+v (index %d)", r, meta.LastIndex)
	}
	gotRouter, _, err := ce.Get(api.ServiceRouter, "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	route := gotRouter.(*api.ServiceRouterConfigEntry).Routes[0]
	if route.Destination.RequestTimeout != 10*time.Second || route.Match.HTTP.Methods[0] != "GET" {
		t.Errorf("router read back wrong (timeout %v, methods %v)", route.Destination.RequestTimeout, route.Match.HTTP.Methods)
	}

	list, _, err := ce.List(api.ServiceResolver, nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if list, _, err := ce.List("mesh", nil); err != nil || len(list) != 0 {
		t.Errorf("a recognised but unimplemented kind must list empty: %v %v", list, err)
	}

	// CAS round trip with the index the client read.
	current := got.GetModifyIndex()
	resolver.ConnectTimeout = 20 * time.Second
	if ok, _, err := ce.CAS(resolver, current+1000, nil); err != nil || ok {
		t.Fatalf("CAS with a wrong index must report false: %v %v", ok, err)
	}
	if ok, _, err := ce.CAS(resolver, current, nil); err != nil || !ok {
		t.Fatalf("CAS with the current index: %v %v", ok, err)
	}

	// A refused write is an error the client reports with our message.
	_, _, err = ce.Set(&api.ServiceSplitterConfigEntry{Kind: api.ServiceSplitter, Name: "api", Splits: []api.ServiceSplit{{Weight: 50}, {Weight: 40, Service: "b"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "must be 100") {
		t.Errorf("bad splitter: %v", err)
	}
	if _, err := ce.Delete(api.ServiceRouter, "web", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ce.Get(api.ServiceRouter, "web", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("deleted entry: %v", err)
	}
	if ok, _, err := ce.DeleteCAS(api.ServiceSplitter, "web", 1, nil); err != nil || ok {
		t.Errorf("DeleteCAS with a wrong index: %v %v", ok, err)
	}
}

func TestCompatDiscoveryChainAndBlocking(t *testing.T) {
	c := agenttest.NewCluster(t, 1)
	client := consulClient(t, c.Agents[0].HTTPAddr())
	resp, meta, err := client.DiscoveryChain().Get("web", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Chain.Protocol != "tcp" || !resp.Chain.Default || resp.Chain.StartNode != "resolver:web.default.default.dc1" {
		t.Errorf("default chain: %+v", resp.Chain)
	}
	target := resp.Chain.Targets["web.default.default.dc1"]
	if target == nil || !strings.HasSuffix(target.SNI, ".consul") || target.ConnectTimeout != 5*time.Second {
		t.Errorf("default target: %+v", target)
	}

	// A blocking query on the chain returns once an entry it reads changes.
	done := make(chan *api.DiscoveryChainResponse, 1)
	go func() {
		r, _, err := client.DiscoveryChain().Get("web", nil, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 20 * time.Second})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	if _, _, err := client.ConfigEntries().Set(&api.ServiceConfigEntry{Kind: api.ServiceDefaults, Name: "web", Protocol: "grpc"}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r == nil || r.Chain.Protocol != "grpc" {
			t.Errorf("blocking chain read did not see the change: %+v", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("blocking chain read did not return")
	}

	opts := &api.DiscoveryChainOptions{EvaluateInDatacenter: "dc2", OverrideConnectTimeout: 2 * time.Second, OverrideMeshGateway: api.MeshGatewayConfig{Mode: api.MeshGatewayModeLocal}}
	resp, _, err = client.DiscoveryChain().Get("web", opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	tgt := resp.Chain.Targets["web.default.default.dc2"]
	if resp.Chain.Datacenter != "dc2" || tgt == nil || tgt.ConnectTimeout != 2*time.Second || tgt.MeshGateway.Mode != api.MeshGatewayModeLocal || resp.Chain.CustomizationHash == "" {
		t.Errorf("overrides not applied: %+v %+v", resp.Chain, tgt)
	}
}

func TestCompatStatusAndOperator(t *testing.T) {
	c := agenttest.NewCluster(t, 3)
	client := consulClient(t, c.Followers()[0].HTTPAddr())
	leader, err := client.Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("leader: %q %v", leader, err)
	}
	peers, err := client.Status().Peers()
	if err != nil || len(peers) != 3 {
		t.Fatalf("peers: %v %v", peers, err)
	}
	cfg, err := client.Operator().RaftGetConfiguration(nil)
	if err != nil || len(cfg.Servers) != 3 {
		t.Fatalf("raft configuration: %+v %v", cfg, err)
	}
	leaders := 0
	for _, s := range cfg.Servers {
		if s.Leader {
			leaders++
			if s.Address != leader {
				t.Errorf("leader flag on %s, status says %s", s.Address, leader)
			}
		}
		if s.Node == "(unknown)" || !s.Voter {
			t.Errorf("server entry: %+v", s)
		}
	}
	if leaders != 1 {
		t.Errorf("%d servers flagged leader", leaders)
	}
	health, err := client.Operator().AutopilotServerHealth(nil)
	if err != nil || !health.Healthy || health.FailureTolerance != 1 || len(health.Servers) != 3 {
		t.Errorf("autopilot health: %+v %v", health, err)
	}
	self, err := client.Agent().Self()
	if err != nil || self["Config"]["Datacenter"] != "dc1" {
		t.Errorf("agent self: %v %v", self["Config"], err)
	}
	if name, err := client.Agent().NodeName(); err != nil || name == "" {
		t.Errorf("node name: %q %v", name, err)
	}
	members, err := client.Agent().Members(false)
	if err != nil || len(members) != 3 {
		t.Errorf("members: %v %v", members, err)
	}
	if err := client.Operator().RaftRemovePeerByAddress("127.0.0.1:1", nil); err == nil || !strings.Contains(err.Error(), "was not found") {
		t.Errorf("removing an unknown peer: %v", err)
	}
}
