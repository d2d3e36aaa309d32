package agent_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
)

// expect sends a request, fails unless the status is code, decodes a JSON
// body into out (when not nil) and returns the body and headers.
func expect(t *testing.T, a *agent.Agent, method, path, body string, code int, out any) (string, http.Header) {
	t.Helper()
	got, resp, hdr := do(t, a, method, path, body)
	if got != code {
		t.Fatalf("%s %s: status %d (%s), want %d", method, path, got, resp, code)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp), out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, resp, err)
		}
	}
	return resp, hdr
}

// expectError sends a request and fails unless it answers code with a body
// containing msg.
func expectError(t *testing.T, a *agent.Agent, method, path, body string, code int, msg string) {
	t.Helper()
	resp, _ := expect(t, a, method, path, body, code, nil)
	if !strings.Contains(resp, msg) {
		t.Fatalf("%s %s: body %q, want it to contain %q", method, path, resp, msg)
	}
}

// index returns a response's X-Consul-Index, failing when it is missing or 0.
func index(t *testing.T, hdr http.Header) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(hdr.Get("X-Consul-Index"), 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("X-Consul-Index = %q, want a positive integer", hdr.Get("X-Consul-Index"))
	}
	if hdr.Get("X-Consul-LastContact") == "" || hdr.Get("X-Consul-KnownLeader") == "" {
		t.Fatalf("query meta headers missing: %v", hdr)
	}
	return n
}

func register(t *testing.T, a *agent.Agent, body string) {
	t.Helper()
	if resp, _ := expect(t, a, "PUT", "/v1/catalog/register", body, 200, nil); resp != "true" {
		t.Fatalf("register answered %q, want true", resp)
	}
}

func TestCatalogWritesAreStrictAndValidated(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	cases := []struct {
		name, path, body, msg string
	}{
		{"not json", "register", `{`, "Request decode failed: unexpected EOF"},
		{"empty body", "register", ``, "Request decode failed: EOF"},
		{"unknown field", "register", `{"Node":"n1","Address":"10.0.0.1","Nodes":1}`, `Request decode failed: json: unknown field "Nodes"`},
		{"unknown nested field", "register", `{"Node":"n1","Address":"10.0.0.1","Service":{"Service":"web","Ports":1}}`, `unknown field "Ports"`},
		{"no node", "register", `{"Address":"10.0.0.1"}`, "Must provide node"},
		{"no address", "register", `{"Node":"n1"}`, "Must provide address if SkipNodeUpdate is not set"},
		{"peer name", "register", `{"Node":"n1","Address":"10.0.0.1","PeerName":"east"}`, "cannot register requests with PeerName in them"},
		{"service id only", "register", `{"Node":"n1","Address":"10.0.0.1","Service":{"ID":"w"}}`, "Must provide service name"},
		{"check of unknown instance", "register", `{"Node":"n1","Address":"10.0.0.1","Check":{"Name":"c","ServiceID":"nope"}}`, "Unknown service ID 'nope'"},
		{"deregister without node", "deregister", `{"ServiceID":"x"}`, "Must provide node"},
		{"deregister unknown field", "deregister", `{"Node":"n1","Service":"x"}`, `unknown field "Service"`},
		{"deregister peer", "deregister", `{"Node":"n1","PeerName":"east"}`, "cannot deregister requests with PeerName in them"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, a, "PUT", "/v1/catalog/"+c.path, c.body, http.StatusBadRequest, c.msg)
		})
	}
	// The refused writes left nothing behind.
	var node any
	expect(t, a, "GET", "/v1/catalog/node/n1", "", 200, &node)
	if node != nil {
		t.Fatalf("refused registrations created node n1: %v", node)
	}
	// Keys match case-insensitively, as with Consul's decoder.
	register(t, a, `{"node":"n1","address":"10.0.0.1","service":{"service":"web"}}`)
	var nodes []struct{ Node, Datacenter string }
	expect(t, a, "GET", "/v1/catalog/service/web", "", 200, &nodes)
	if len(nodes) != 1 || nodes[0].Node != "n1" || nodes[0].Datacenter != "dc1" {
		t.Fatalf("service web = %+v, want one instance on n1 in dc1", nodes)
	}
	expectError(t, a, "PUT", "/v1/catalog/register?dc=elsewhere", `{}`, 500, "No path to datacenter")
}

// seedCatalog registers three nodes: web-1 (rack r1) with web1 (tags v1,
// primary; meta version 1), web-2 (rack r2) with web2 (tag v2) and db-1
// with an untagged db instance.
func seedCatalog(t *testing.T, a *agent.Agent) {
	t.Helper()
	register(t, a, `{"Node":"web-1","Address":"10.0.0.1","NodeMeta":{"rack":"r1","env":"prod"},
		"Service":{"ID":"web1","Service":"web","Tags":["v1","primary"],"Port":80,"Meta":{"version":"1"}},
		"Check":{"Name":"web1 alive","ServiceID":"web1","Status":"passing"}}`)
	register(t, a, `{"Node":"web-2","Address":"10.0.0.2","NodeMeta":{"rack":"r2"},
		"Service":{"ID":"web2","Service":"web","Tags":["v2"],"Port":80,"Meta":{"version":"2"}}}`)
	register(t, a, `{"Node":"db-1","Address":"10.0.0.3","Service":{"Service":"db","Port":5432}}`)
}

func TestCatalogReads(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	seedCatalog(t, a)
	t.Run("datacenters", func(t *testing.T) { readCatalogDatacenters(t, a) })
	t.Run("nodes", func(t *testing.T) { readCatalogNodes(t, a) })
	t.Run("services", func(t *testing.T) { readCatalogServices(t, a) })
	t.Run("service", func(t *testing.T) { readCatalogService(t, a) })
	t.Run("node", func(t *testing.T) { readCatalogNode(t, a) })
	t.Run("node-services", func(t *testing.T) { readCatalogNodeServices(t, a) })
	t.Run("bad filter", func(t *testing.T) { readCatalogBadFilter(t, a) })
}

func readCatalogDatacenters(t *testing.T, a *agent.Agent) {
	var dcs []string
	expect(t, a, "GET", "/v1/catalog/datacenters", "", 200, &dcs)
	if !reflect.DeepEqual(dcs, []string{"dc1"}) {
		t.Fatalf("datacenters = %v", dcs)
	}
}

func readCatalogNodes(t *testing.T, a *agent.Agent) {
	for q, want := range map[string][]string{
		"":                                   {"db-1", "s1", "web-1", "web-2"},
		"?node-meta=rack:r1":                 {"web-1"},
		"?node-meta=rack:r1&node-meta=env:x": {},
		"?filter=" + url.QueryEscape(`Meta.rack == "r2"`): {"web-2"},
	} {
		var nodes []struct{ Node string }
		_, hdr := expect(t, a, "GET", "/v1/catalog/nodes"+q, "", 200, &nodes)
		index(t, hdr)
		got := []string{}
		for _, n := range nodes {
			got = append(got, n.Node)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("nodes%s = %v, want %v", q, got, want)
		}
	}
}

func readCatalogServices(t *testing.T, a *agent.Agent) {
	for q, want := range map[string]map[string][]string{
		"":                   {"consul": {}, "db": {}, "web": {"primary", "v1", "v2"}},
		"?node-meta=rack:r1": {"web": {"primary", "v1"}},
		"?filter=" + url.QueryEscape(`ServiceTags contains "v2"`): {"web": {"v2"}},
		"?filter=" + url.QueryEscape(`ServiceName == "nothing"`):  {},
	} {
		var got map[string][]string
		_, hdr := expect(t, a, "GET", "/v1/catalog/services"+q, "", 200, &got)
		index(t, hdr)
		for _, tags := range got {
			sort.Strings(tags)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("services%s = %v, want %v", q, got, want)
		}
	}
}

func readCatalogService(t *testing.T, a *agent.Agent) {
	for q, want := range map[string][]string{
		"web":                      {"web1", "web2"},
		"web?tag=v1&tag=primary":   {"web1"},
		"web?tag=V2":               {"web2"},
		"web?tag=v1&tag=v2":        {},
		"web?node-meta=rack:r2":    {"web2"},
		"web?merge-central-config": {"web1", "web2"},
		"web?filter=" + url.QueryEscape(`ServiceMeta.version == "2"`): {"web2"},
		"nothing": {},
	} {
		var instances []struct{ ServiceID string }
		_, hdr := expect(t, a, "GET", "/v1/catalog/service/"+q, "", 200, &instances)
		index(t, hdr)
		got := []string{}
		for _, s := range instances {
			got = append(got, s.ServiceID)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("service/%s = %v, want %v", q, got, want)
		}
	}
	body, _ := expect(t, a, "GET", "/v1/catalog/service/db", "", 200, nil)
	if !strings.Contains(body, `"ServiceTags":[]`) || !strings.Contains(body, `"ServiceWeights":{"Passing":1,"Warning":1}`) {
		t.Errorf("db instance = %s, want empty tags and default weights", body)
	}
	expectError(t, a, "GET", "/v1/catalog/service/", "", 400, "Missing service name")
}

func readCatalogNode(t *testing.T, a *agent.Agent) {
	var ns struct {
		Node     struct{ Node, Address string }
		Services map[string]struct{ Service string }
	}
	expect(t, a, "GET", "/v1/catalog/node/web-1", "", 200, &ns)
	if ns.Node.Address != "10.0.0.1" || len(ns.Services) != 1 || ns.Services["web1"].Service != "web" {
		t.Fatalf("node web-1 = %+v", ns)
	}
	var filtered struct{ Services map[string]any }
	expect(t, a, "GET", "/v1/catalog/node/web-1?filter="+url.QueryEscape(`Port != 80`), "", 200, &filtered)
	if filtered.Services == nil || len(filtered.Services) != 0 {
		t.Fatalf("filtered node services = %v, want {}", filtered.Services)
	}
	body, hdr := expect(t, a, "GET", "/v1/catalog/node/missing", "", 200, nil)
	index(t, hdr)
	if body != "null" {
		t.Fatalf("missing node = %q, want null", body)
	}
	expectError(t, a, "GET", "/v1/catalog/node/", "", 400, "Missing node name")
}

func readCatalogNodeServices(t *testing.T, a *agent.Agent) {
	var list struct {
		Node     struct{ Node string }
		Services []struct{ ID string }
	}
	expect(t, a, "GET", "/v1/catalog/node-services/web-2", "", 200, &list)
	if list.Node.Node != "web-2" || len(list.Services) != 1 || list.Services[0].ID != "web2" {
		t.Fatalf("node-services web-2 = %+v", list)
	}
	body, _ := expect(t, a, "GET", "/v1/catalog/node-services/missing", "", 200, nil)
	if body != `{"Node":null,"Services":null}` {
		t.Fatalf("missing node = %s", body)
	}
}

func readCatalogBadFilter(t *testing.T, a *agent.Agent) {
	for _, path := range []string{"/v1/catalog/nodes", "/v1/catalog/services", "/v1/catalog/service/web", "/v1/catalog/node/web-1", "/v1/catalog/node-services/web-1"} {
		expectError(t, a, "GET", path+"?filter="+url.QueryEscape(`Meta ==`), "", 400, "Failed to create boolean expression evaluator")
	}
}

func TestCatalogDeregister(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	seedCatalog(t, a)
	deregister := func(body string) {
		t.Helper()
		if resp, _ := expect(t, a, "PUT", "/v1/catalog/deregister", body, 200, nil); resp != "true" {
			t.Fatalf("deregister answered %q", resp)
		}
	}
	serviceIDs := func(name string) []string {
		var instances []struct{ ServiceID string }
		expect(t, a, "GET", "/v1/catalog/service/"+name, "", 200, &instances)
		ids := []string{}
		for _, s := range instances {
			ids = append(ids, s.ServiceID)
		}
		sort.Strings(ids)
		return ids
	}

	deregister(`{"Node":"web-1","CheckID":"web1 alive"}`)
	var checks []any
	expect(t, a, "GET", "/v1/health/node/web-1", "", 200, &checks)
	if len(checks) != 0 {
		t.Fatalf("check still there: %v", checks)
	}
	deregister(`{"Node":"web-2","ServiceID":"web2"}`)
	if got := serviceIDs("web"); !reflect.DeepEqual(got, []string{"web1"}) {
		t.Fatalf("web after removing web2 = %v", got)
	}
	deregister(`{"Node":"db-1"}`)
	if got := serviceIDs("db"); len(got) != 0 {
		t.Fatalf("db after removing its node = %v", got)
	}
	// Removing what is not there succeeds.
	deregister(`{"Node":"db-1"}`)
	deregister(`{"Node":"web-1","ServiceID":"nope"}`)
}
