package agent_test

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/switchyard/switchyard/agent/agenttest"
)

// The catalog, health and agent endpoints driven by the official Consul Go
// client (consulClient is in compat_config_test.go).

// seedCompat registers, through the client, web1 (v1, primary; passing
// HTTP check) on web-1 (rack r1), web2 (v2; warning check) on web-2 and a
// sidecar proxy for web on web-1.
func seedCompat(t *testing.T, cat *api.Catalog) {
	t.Helper()
	regs := []*api.CatalogRegistration{
		{
			Node: "web-1", Address: "10.0.0.1", NodeMeta: map[string]string{"rack": "r1"},
			Service: &api.AgentService{ID: "web1", Service: "web", Tags: []string{"v1", "primary"}, Port: 80, Meta: map[string]string{"version": "1"}},
			Check: &api.AgentCheck{Node: "web-1", CheckID: "web1-http", Name: "http", Status: api.HealthPassing, ServiceID: "web1",
				Definition: api.HealthCheckDefinition{HTTP: "http://10.0.0.1/health", IntervalDuration: 10 * time.Second}},
		},
		{
			Node: "web-2", Address: "10.0.0.2", NodeMeta: map[string]string{"rack": "r2"},
			Service: &api.AgentService{ID: "web2", Service: "web", Tags: []string{"v2"}, Port: 81},
			Checks:  api.HealthChecks{{CheckID: "web2-http", Name: "http", Status: api.HealthWarning, ServiceID: "web2"}},
		},
		{
			Node: "web-1", Address: "10.0.0.1", NodeMeta: map[string]string{"rack": "r1"},
			Service: &api.AgentService{Kind: api.ServiceKindConnectProxy, ID: "web1-proxy", Service: "web-sidecar-proxy", Port: 21000,
				Proxy: &api.AgentServiceConnectProxyConfig{DestinationServiceName: "web", DestinationServiceID: "web1"}},
		},
	}
	for _, r := range regs {
		if _, err := cat.Register(r, nil); err != nil {
			t.Fatalf("register %s: %v", r.Service.ID, err)
		}
	}
}

// lastIndex fails unless a read answered with a positive index.
func lastIndex(t *testing.T, qm *api.QueryMeta, err error) uint64 {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if qm.LastIndex == 0 {
		t.Fatal("X-Consul-Index was 0 or missing")
	}
	return qm.LastIndex
}

func TestCompatCatalog(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	cat := consulClient(t, a.HTTPAddr()).Catalog()
	seedCompat(t, cat)

	dcs, err := cat.Datacenters()
	if err != nil || !reflect.DeepEqual(dcs, []string{"dc1"}) {
		t.Fatalf("datacenters = %v, %v", dcs, err)
	}
	nodes, qm, err := cat.Nodes(&api.QueryOptions{NodeMeta: map[string]string{"rack": "r1"}})
	lastIndex(t, qm, err)
	if len(nodes) != 1 || nodes[0].Node != "web-1" || nodes[0].Meta["rack"] != "r1" || nodes[0].Datacenter != "dc1" {
		t.Fatalf("nodes in rack r1 = %+v", nodes)
	}
	services, qm, err := cat.Services(nil)
	lastIndex(t, qm, err)
	sort.Strings(services["web"])
	if !reflect.DeepEqual(services["web"], []string{"primary", "v1", "v2"}) || services["consul"] == nil {
		t.Fatalf("services = %v", services)
	}

	instances, qm, err := cat.Service("web", "v1", nil)
	lastIndex(t, qm, err)
	if len(instances) != 1 || instances[0].ServiceID != "web1" || instances[0].Address != "10.0.0.1" ||
		instances[0].ServiceWeights != (api.Weights{Passing: 1, Warning: 1}) || instances[0].NodeMeta["rack"] != "r1" {
		t.Fatalf("web tagged v1 = %+v", instances)
	}
	instances, _, err = cat.ServiceMultipleTags("web", []string{"v1", "v2"}, nil)
	if err != nil || len(instances) != 0 {
		t.Fatalf("web tagged v1 and v2 = %+v, %v", instances, err)
	}
	instances, _, err = cat.Service("web", "", &api.QueryOptions{Filter: `ServiceMeta.version == "1"`})
	if err != nil || len(instances) != 1 || instances[0].ServiceID != "web1" {
		t.Fatalf("filtered web = %+v, %v", instances, err)
	}
	if _, _, err := cat.Service("web", "", &api.QueryOptions{Filter: `ServiceMeta.version ==`}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("bad filter: %v, want a 400", err)
	}

	node, qm, err := cat.Node("web-1", nil)
	lastIndex(t, qm, err)
	if node == nil || node.Node.Address != "10.0.0.1" || node.Services["web1"] == nil || node.Services["web1-proxy"].Proxy.DestinationServiceName != "web" {
		t.Fatalf("node web-1 = %+v", node)
	}
	missing, qm, err := cat.Node("missing", nil)
	lastIndex(t, qm, err)
	if missing != nil {
		t.Fatalf("missing node = %+v, want nil", missing)
	}
	list, _, err := cat.NodeServiceList("web-2", nil)
	if err != nil || list.Node.Node != "web-2" || len(list.Services) != 1 || list.Services[0].ID != "web2" {
		t.Fatalf("node-services web-2 = %+v, %v", list, err)
	}

	if _, err := cat.Deregister(&api.CatalogDeregistration{Node: "web-2", ServiceID: "web2"}, nil); err != nil {
		t.Fatal(err)
	}
	if instances, _, err = cat.Service("web", "", nil); err != nil || len(instances) != 1 {
		t.Fatalf("web after deregistering web2 = %+v, %v", instances, err)
	}
}

func TestCompatHealth(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	client := consulClient(t, a.HTTPAddr())
	seedCompat(t, client.Catalog())
	health := client.Health()

	checks, qm, err := health.Node("web-1", nil)
	lastIndex(t, qm, err)
	if len(checks) != 1 || checks[0].CheckID != "web1-http" || checks[0].ServiceName != "web" || checks[0].Definition.HTTP != "http://10.0.0.1/health" {
		t.Fatalf("checks of web-1 = %+v", checks)
	}
	checks, _, err = health.Checks("web", nil)
	if err != nil || len(checks) != 2 || checks.AggregatedStatus() != api.HealthWarning {
		t.Fatalf("checks of web = %+v, %v", checks, err)
	}
	checks, _, err = health.State(api.HealthAny, nil)
	if err != nil || len(checks) != 3 { // two web checks and the server's serfHealth
		t.Fatalf("all checks = %+v, %v", checks, err)
	}
	checks, _, err = health.State(api.HealthWarning, &api.QueryOptions{Filter: `ServiceID == "web2"`})
	if err != nil || len(checks) != 1 || checks[0].CheckID != "web2-http" {
		t.Fatalf("warning checks of web2 = %+v, %v", checks, err)
	}

	ids := func(entries []*api.ServiceEntry, qm *api.QueryMeta, err error) []string {
		t.Helper()
		lastIndex(t, qm, err)
		out := []string{}
		for _, e := range entries {
			out = append(out, e.Service.ID)
		}
		sort.Strings(out)
		return out
	}
	for name, c := range map[string]struct {
		got  []string
		want []string
	}{
		"all":          {ids(health.Service("web", "", false, nil)), []string{"web1", "web2"}},
		"passing":      {ids(health.Service("web", "", true, nil)), []string{"web1"}},
		"tag":          {ids(health.Service("web", "v2", false, nil)), []string{"web2"}},
		"tags":         {ids(health.ServiceMultipleTags("web", []string{"v1", "primary"}, true, nil)), []string{"web1"}},
		"filter":       {ids(health.Service("web", "", false, &api.QueryOptions{Filter: `Service.Port == 81`})), []string{"web2"}},
		"node-meta":    {ids(health.Service("web", "", false, &api.QueryOptions{NodeMeta: map[string]string{"rack": "r2"}})), []string{"web2"}},
		"connect":      {ids(health.Connect("web", "", false, nil)), []string{"web1-proxy"}},
		"ingress":      {ids(health.Ingress("web", false, nil)), []string{}},
		"unknown name": {ids(health.Service("nothing", "", false, nil)), []string{}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: %v, want %v", name, c.got, c.want)
		}
	}
	entries, _, err := health.Service("web", "v1", false, nil)
	if err != nil || len(entries) != 1 || entries[0].Node.Node != "web-1" || entries[0].Checks.AggregatedStatus() != api.HealthPassing {
		t.Fatalf("web v1 entry = %+v, %v", entries, err)
	}
}

// registerCompatAPI registers api-1 through the agent with a TTL check
// (service:api-1:1) and an HTTP check (service:api-1:2).
func registerCompatAPI(t *testing.T, ag *api.Agent) {
	t.Helper()
	err := ag.ServiceRegister(&api.AgentServiceRegistration{
		ID: "api-1", Name: "api", Tags: []string{"v1"}, Port: 9000, Address: "127.0.0.1", Meta: map[string]string{"team": "core"},
		Checks: api.AgentServiceChecks{{TTL: "1h"}, {Name: "http", HTTP: "http://127.0.0.1:1/health", Interval: "1h"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCompatAgentServices(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	client := consulClient(t, a.HTTPAddr())
	ag, health := client.Agent(), client.Health()
	registerCompatAPI(t, ag)

	services, err := ag.Services()
	if err != nil {
		t.Fatal(err)
	}
	s := services["api-1"]
	if s == nil || s.Service != "api" || s.Weights != (api.AgentWeights{Passing: 1, Warning: 1}) || s.Meta["team"] != "core" ||
		s.TaggedAddresses["lan_ipv4"].Address != "127.0.0.1" || s.Datacenter != "dc1" {
		t.Fatalf("agent services = %+v", services)
	}
	filtered, err := ag.ServicesWithFilter(`Tags contains "v2"`)
	if err != nil || len(filtered) != 0 {
		t.Fatalf("services tagged v2 = %v, %v", filtered, err)
	}
	one, _, err := ag.Service("api-1", nil)
	if err != nil || one.ID != "api-1" || one.ContentHash == "" {
		t.Fatalf("agent service = %+v, %v", one, err)
	}
	// WaitHash with the current hash blocks until the wait runs out.
	same, qm, err := ag.Service("api-1", &api.QueryOptions{WaitHash: one.ContentHash, WaitTime: 50 * time.Millisecond})
	if err != nil || same.ContentHash != one.ContentHash || qm.LastContentHash != one.ContentHash {
		t.Fatalf("hash-blocked read = %+v (%+v), %v", same, qm, err)
	}

	// Replacing drops the checks not named again.
	err = ag.ServiceRegisterOpts(&api.AgentServiceRegistration{ID: "api-1", Name: "api", Port: 9000,
		Check: &api.AgentServiceCheck{CheckID: "service:api-1:1", TTL: "1h"}}, api.ServiceRegisterOpts{ReplaceExistingChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	if checks, err := ag.Checks(); err != nil || len(checks) != 1 || checks["service:api-1:1"] == nil {
		t.Fatalf("checks after replace = %+v, %v", checks, err)
	}

	entries, _, err := health.Service("api", "", false, nil)
	if err != nil || len(entries) != 1 || entries[0].Node.Node != a.Config().NodeName {
		t.Fatalf("api in the catalog = %+v, %v", entries, err)
	}
	var ids []string
	for _, c := range entries[0].Checks {
		ids = append(ids, c.CheckID)
	}
	if !reflect.DeepEqual(ids, []string{"serfHealth", "service:api-1:1"}) {
		t.Fatalf("api's checks in the catalog = %v, want the node's serfHealth and the kept TTL check", ids)
	}
	if err := ag.ServiceDeregister("api-1"); err != nil {
		t.Fatal(err)
	}
	if entries, _, err = health.Service("api", "", false, nil); err != nil || len(entries) != 0 {
		t.Fatalf("api after deregister = %+v, %v", entries, err)
	}
	if err := ag.ServiceDeregister("api-1"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("second deregister: %v, want a 404", err)
	}
}

func TestCompatAgentChecks(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	client := consulClient(t, a.HTTPAddr())
	ag, health := client.Agent(), client.Health()
	registerCompatAPI(t, ag)

	checks, err := ag.Checks()
	if err != nil || checks["service:api-1:1"] == nil || checks["service:api-1:1"].Status != api.HealthCritical ||
		checks["service:api-1:2"].Name != "http" || checks["service:api-1:2"].Type != "http" {
		t.Fatalf("agent checks = %+v, %v", checks, err)
	}
	ttlStatus := func() (string, string) {
		t.Helper()
		hc, _, err := health.Checks("api", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range hc {
			if c.CheckID == "service:api-1:1" {
				return c.Status, c.Output
			}
		}
		t.Fatalf("ttl check not in the catalog: %+v", hc)
		return "", ""
	}
	for _, step := range []struct {
		update func() error
		status string
		output string
	}{
		{func() error { return ag.PassTTL("service:api-1:1", "ok") }, api.HealthPassing, "ok"},
		{func() error { return ag.WarnTTL("service:api-1:1", "slow") }, api.HealthWarning, "slow"},
		{func() error { return ag.FailTTL("service:api-1:1", "down") }, api.HealthCritical, "down"},
		{func() error { return ag.UpdateTTL("service:api-1:1", "recovered", api.HealthPassing) }, api.HealthPassing, "recovered"},
	} {
		if err := step.update(); err != nil {
			t.Fatal(err)
		}
		if status, output := ttlStatus(); status != step.status || output != step.output {
			t.Fatalf("ttl check is %s %q, want %s %q", status, output, step.status, step.output)
		}
	}
	if err := ag.PassTTL("service:api-1:2", ""); err == nil || !strings.Contains(err.Error(), "does not have associated TTL") {
		t.Fatalf("pass on an http check: %v", err)
	}

	err = ag.CheckRegister(&api.AgentCheckRegistration{ID: "mem", Name: "memory", ServiceID: "api-1",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "30s", Status: api.HealthPassing}})
	if err != nil {
		t.Fatal(err)
	}
	passing, err := ag.ChecksWithFilter(`Status == "passing"`)
	if err != nil || len(passing) != 2 || passing["mem"] == nil || passing["mem"].ServiceName != "api" {
		t.Fatalf("passing checks = %+v, %v", passing, err)
	}
	if err := ag.CheckDeregister("mem"); err != nil {
		t.Fatal(err)
	}
	if checks, err = ag.Checks(); err != nil || checks["mem"] != nil {
		t.Fatalf("checks after deregistering mem = %+v, %v", checks, err)
	}
}

// blockingResult is what a blocking read running in a goroutine reports.
type blockingResult struct {
	index uint64
	n     int
	port  int // of the first instance
	err   error
}

func TestCompatBlockingQueries(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	client := consulClient(t, a.HTTPAddr())
	seedCompat(t, client.Catalog())
	health, cat, ag := client.Health(), client.Catalog(), client.Agent()
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{Name: "api", Port: 9000}); err != nil {
		t.Fatal(err)
	}

	// Every read reports a usable index, also when it finds nothing.
	_, qm, err := health.Service("nothing", "", false, nil)
	lastIndex(t, qm, err)
	_, qm, err = cat.Service("nothing", "", nil)
	lastIndex(t, qm, err)
	_, qm, err = health.State(api.HealthCritical, nil)
	lastIndex(t, qm, err)

	_, qm, err = health.Service("web", "", false, nil)
	webIndex := lastIndex(t, qm, err)
	_, qm, err = cat.Service("api", "", nil)
	apiIndex := lastIndex(t, qm, err)

	wait := &api.QueryOptions{WaitTime: time.Minute} // bounds the test if a read never wakes
	healthDone := make(chan blockingResult, 1)
	go func() {
		q := *wait
		q.WaitIndex = webIndex
		entries, qm, err := health.Service("web", "", false, &q)
		r := blockingResult{n: len(entries), err: err}
		if qm != nil {
			r.index = qm.LastIndex
		}
		healthDone <- r
	}()
	catalogDone := make(chan blockingResult, 1)
	go func() {
		q := *wait
		q.WaitIndex = apiIndex
		instances, qm, err := cat.Service("api", "", &q)
		r := blockingResult{n: len(instances), err: err}
		if qm != nil {
			r.index = qm.LastIndex
		}
		if len(instances) > 0 {
			r.port = instances[0].ServicePort
		}
		catalogDone <- r
	}()

	// A catalog write wakes the health read of web...
	if _, err := cat.Register(&api.CatalogRegistration{Node: "web-3", Address: "10.0.0.3",
		Service: &api.AgentService{ID: "web3", Service: "web"}}, nil); err != nil {
		t.Fatal(err)
	}
	if r := <-healthDone; r.err != nil || r.n != 3 || r.index <= webIndex {
		t.Fatalf("blocking health read returned %+v, want 3 instances past index %d", r, webIndex)
	}
	// ...but not the catalog read of api, which an agent re-registration,
	// synced to the catalog, wakes.
	select {
	case r := <-catalogDone:
		t.Fatalf("the read of api returned after a write to web: %+v", r)
	default:
	}
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{Name: "api", Port: 9001}); err != nil {
		t.Fatal(err)
	}
	if r := <-catalogDone; r.err != nil || r.n != 1 || r.port != 9001 || r.index <= apiIndex {
		t.Fatalf("blocking catalog read returned %+v, want the updated api instance past index %d", r, apiIndex)
	}

	// An index that is current and a short wait: the same data comes back.
	_, qm, err = health.Service("web", "", false, nil)
	current := lastIndex(t, qm, err)
	entries, qm, err := health.Service("web", "", false, &api.QueryOptions{WaitIndex: current, WaitTime: 50 * time.Millisecond})
	if err != nil || len(entries) != 3 || qm.LastIndex != current {
		t.Fatalf("timed-out read = %d entries at %d (%v), want 3 at %d", len(entries), qm.LastIndex, err, current)
	}
}

// Writes made through a follower (catalog and agent endpoints) reach the
// leader and then every server's replica.
func TestCompatFollowerWritesReadableEverywhere(t *testing.T) {
	c := agenttest.NewCluster(t, 3)
	follower := c.Followers()[0]
	fc := consulClient(t, follower.HTTPAddr())
	if _, err := fc.Catalog().Register(&api.CatalogRegistration{Node: "ext-1", Address: "10.9.0.1",
		Service: &api.AgentService{ID: "ext", Service: "ext", Port: 443}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := fc.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "local-svc", Port: 7000,
		Check: &api.AgentServiceCheck{TTL: "1h"}}); err != nil {
		t.Fatal(err)
	}
	if err := fc.Agent().PassTTL("service:local-svc", "fine"); err != nil {
		t.Fatal(err)
	}

	stale := &api.QueryOptions{AllowStale: true}
	for _, a := range c.Agents {
		client := consulClient(t, a.HTTPAddr())
		name := a.Config().NodeName
		agenttest.Eventually(t, 10*time.Second, func() error {
			ext, _, err := client.Catalog().Service("ext", "", stale)
			if err != nil || len(ext) != 1 || ext[0].Node != "ext-1" {
				return fmt.Errorf("%s: ext = %+v, %v", name, ext, err)
			}
			entries, _, err := client.Health().Service("local-svc", "", true, stale)
			if err != nil || len(entries) != 1 || entries[0].Node.Node != follower.Config().NodeName {
				return fmt.Errorf("%s: passing local-svc = %+v, %v", name, entries, err)
			}
			return nil
		})
	}
}
