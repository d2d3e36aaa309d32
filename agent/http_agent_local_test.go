package agent_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
)

func TestAgentServiceRegisterValidation(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	cases := []struct {
		name, body string
		code       int
		msg        string
		query      string
	}{
		{"bad json", `{"Name":`, 400, "Request decode failed", ""},
		{"unknown field", `{"Name":"web","Bogus":true}`, 400, `Request decode failed: json: unknown field "Bogus"`, ""},
		{"no name", `{"ID":"web1"}`, 400, "Missing service name", ""},
		{"any address", `{"Name":"web","Address":"0.0.0.0"}`, 400, "Invalid service address", ""},
		{"zero passing weight", `{"Name":"web","Weights":{"Passing":0,"Warning":1}}`, 400, "Invalid Weights: Passing must be greater than 0", ""},
		{"reserved meta", `{"Name":"web","Meta":{"consul-x":"y"}}`, 400, "Invalid Service Meta: Couldn't load metadata pair ('consul-x', 'y'): Key prefix 'consul-' is reserved", ""},
		{"proxy without destination", `{"Name":"p","Kind":"connect-proxy","Port":1}`, 400, "Proxy.DestinationServiceName must be non-empty", ""},
		{"check without ttl or interval", `{"Name":"web","Check":{"Notes":"x"}}`, 400, "Invalid check: TTL must be > 0 for TTL checks", ""},
		{"http check without interval", `{"Name":"web","Checks":[{"TTL":"5s"},{"HTTP":"http://x"}]}`, 400, "Invalid check: Interval must be > 0", ""},
		{"interval and ttl", `{"Name":"web","Check":{"TTL":"5s","Interval":"5s","HTTP":"http://x"}}`, 400, "Invalid check: Interval and TTL cannot both be specified", ""},
		{"alias with ttl", `{"Name":"web","Check":{"AliasService":"db","TTL":"5s"}}`, 400, "Invalid check: TTL must be not be set for Alias checks", ""},
		{"bad check status", `{"Name":"web","Check":{"TTL":"5s","Status":"fine"}}`, 400, "Status for checks must 'passing', 'warning', 'critical'", ""},
		{"bad duration", `{"Name":"web","Check":{"TTL":"soon"}}`, 400, "Request decode failed", ""},
		{"sidecar", `{"Name":"web","Connect":{"SidecarService":{}}}`, 400, "Connect.SidecarService is not supported", ""},
		{"bad replace flag", `{"Name":"web"}`, 400, "Invalid value for ?replace-existing-checks", "?replace-existing-checks=perhaps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, a, "PUT", "/v1/agent/service/register"+c.query, c.body, c.code, c.msg)
		})
	}
	var services map[string]any
	expect(t, a, "GET", "/v1/agent/services", "", 200, &services)
	if len(services) != 0 {
		t.Fatalf("refused registrations left services: %v", services)
	}
}

// agentService is the part of /v1/agent/services the tests look at.
type agentService struct {
	Kind, ID, Service, Address, Datacenter string
	Tags                                   []string
	Meta                                   map[string]string
	Port                                   int
	Weights                                struct{ Passing, Warning int }
	TaggedAddresses                        map[string]struct {
		Address string
		Port    int
	}
	ContentHash string
}

// agentCheck is the part of /v1/agent/checks and the catalog's checks the
// tests look at.
type agentCheck struct {
	Node, CheckID, Name, Status, Output, ServiceID, ServiceName, Type, Interval string
	ServiceTags                                                                 []string
}

func agentChecks(t *testing.T, a *agent.Agent) map[string]agentCheck {
	t.Helper()
	var checks map[string]agentCheck
	expect(t, a, "GET", "/v1/agent/checks", "", 200, &checks)
	return checks
}

// catalogChecks returns the catalog's checks of a node by ID.
func catalogChecks(t *testing.T, a *agent.Agent, node string) map[string]agentCheck {
	t.Helper()
	var list []agentCheck
	expect(t, a, "GET", "/v1/health/node/"+node, "", 200, &list)
	out := map[string]agentCheck{}
	for _, c := range list {
		out[c.CheckID] = c
	}
	return out
}

// The HTTP and TCP checks of the bookkeeping tests below point at a closed
// loopback port with an interval of an hour: the agent runs them (first
// after a random part of the interval), and the tests look at the status
// they were registered with.
func TestAgentServiceLifecycle(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	node := a.Config().NodeName
	expect(t, a, "PUT", "/v1/agent/service/register", `{"name":"web","Tags":["v1"],"Address":"10.1.2.3","Port":8080,
		"Checks":[{"TTL":"1h"},{"HTTP":"http://127.0.0.1:1/health","Interval":"1h","Status":"passing"}]}`, 200, nil)

	var services map[string]agentService
	expect(t, a, "GET", "/v1/agent/services", "", 200, &services)
	web := services["web"]
	if web.ID != "web" || web.Service != "web" || web.Port != 8080 || web.Datacenter != "dc1" ||
		web.Weights.Passing != 1 || web.Weights.Warning != 1 || web.Meta == nil || !reflect.DeepEqual(web.Tags, []string{"v1"}) {
		t.Fatalf("agent service = %+v", web)
	}
	for _, k := range []string{"lan_ipv4", "wan_ipv4"} {
		if ta := web.TaggedAddresses[k]; ta.Address != "10.1.2.3" || ta.Port != 8080 {
			t.Fatalf("tagged address %s = %+v", k, ta)
		}
	}
	checks := agentChecks(t, a)
	ttl, httpCheck := checks["service:web:1"], checks["service:web:2"]
	if ttl.Name != "Service 'web' check" || ttl.Status != "critical" || ttl.Type != "ttl" || ttl.ServiceName != "web" || ttl.Node != node {
		t.Fatalf("ttl check = %+v", ttl)
	}
	if httpCheck.Status != "passing" || httpCheck.Type != "http" || httpCheck.Interval != "1h0m0s" || !reflect.DeepEqual(httpCheck.ServiceTags, []string{"v1"}) {
		t.Fatalf("http check = %+v", httpCheck)
	}

	// The handler synced before answering: the catalog has it all.
	var instances []struct{ Node, ServiceID, ServiceAddress string }
	expect(t, a, "GET", "/v1/catalog/service/web", "", 200, &instances)
	if len(instances) != 1 || instances[0].Node != node || instances[0].ServiceAddress != "10.1.2.3" {
		t.Fatalf("catalog web = %+v", instances)
	}
	if cc := catalogChecks(t, a, node); !reflect.DeepEqual(cc["service:web:1"], ttl) || !reflect.DeepEqual(cc["service:web:2"], httpCheck) {
		t.Fatalf("catalog checks %+v differ from the agent's %+v", cc, checks)
	}

	// Re-registering keeps check states; replace-existing-checks drops the
	// checks not named again.
	expect(t, a, "PUT", "/v1/agent/service/register?replace-existing-checks", `{"Name":"web","Tags":["v2"],"Address":"10.1.2.3","Port":8080,
		"Check":{"CheckID":"service:web:2","HTTP":"http://127.0.0.1:1/health","Interval":"1h"}}`, 200, nil)
	checks = agentChecks(t, a)
	if _, ok := checks["service:web:1"]; ok || len(checks) != 1 || checks["service:web:2"].Status != "passing" {
		t.Fatalf("checks after replace = %+v", checks)
	}
	cc := catalogChecks(t, a, node)
	if _, ok := cc["service:web:1"]; ok || !reflect.DeepEqual(cc["service:web:2"].ServiceTags, []string{"v2"}) {
		t.Fatalf("catalog checks after replace = %+v", cc)
	}

	expect(t, a, "PUT", "/v1/agent/service/deregister/web", "", 200, nil)
	expect(t, a, "GET", "/v1/catalog/service/web", "", 200, &instances)
	if len(instances) != 0 || len(agentChecks(t, a)) != 0 {
		t.Fatalf("after deregister: catalog %+v, agent checks %+v", instances, agentChecks(t, a))
	}
	if _, ok := catalogChecks(t, a, node)["service:web:2"]; ok {
		t.Fatal("the service's check is still in the catalog")
	}
	expectError(t, a, "PUT", "/v1/agent/service/deregister/web", "", 404,
		`Unknown service ID "web". Ensure that the service ID is passed, not the service name.`)
	expectError(t, a, "GET", "/v1/agent/service/web", "", 404, "unknown service ID: web")
}

func TestAgentCheckEndpoints(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	node := a.Config().NodeName
	expect(t, a, "PUT", "/v1/agent/service/register", `{"Name":"api","ID":"api-1"}`, 200, nil)
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"TTL":"5s"}`, 400, "Missing check name"},
		{`{"Name":"c","TTL":"5s","Status":"ok"}`, 400, "Bad check status"},
		{`{"Name":"c"}`, 400, "Invalid check: TTL must be > 0 for TTL checks"},
		{`{"Name":"c","TCP":"x:1"}`, 400, "Invalid check: Interval must be > 0"},
		{`{"Name":"c","TTL":"5s","ServiceID":"api"}`, 404, `ServiceID "api" does not exist`},
		{`{"Name":"c","TTL":"5s","Unknown":1}`, 400, `unknown field "Unknown"`},
	} {
		expectError(t, a, "PUT", "/v1/agent/check/register", c.body, c.code, c.msg)
	}

	expect(t, a, "PUT", "/v1/agent/check/register", `{"Name":"api ttl","ServiceID":"api-1","TTL":"1h"}`, 200, nil)
	expect(t, a, "PUT", "/v1/agent/check/register", `{"ID":"disk","Name":"disk usage","TCP":"127.0.0.1:1","Interval":"1h","Status":"warning"}`, 200, nil)
	status := func(id string) (agentCheck, agentCheck) {
		t.Helper()
		return agentChecks(t, a)[id], catalogChecks(t, a, node)[id]
	}
	if local, remote := status("api ttl"); local.Status != "critical" || local.ServiceName != "api" || !reflect.DeepEqual(local, remote) {
		t.Fatalf("new ttl check: agent %+v, catalog %+v", local, remote)
	}
	if local, _ := status("disk"); local.Status != "warning" || local.Type != "tcp" || local.ServiceID != "" {
		t.Fatalf("tcp check = %+v", local)
	}

	for _, u := range []struct{ path, body, status, output string }{
		{"/v1/agent/check/pass/api%20ttl?note=all+good", "", "passing", "all good"},
		{"/v1/agent/check/warn/api%20ttl", "", "warning", ""},
		{"/v1/agent/check/fail/api%20ttl?note=down", "", "critical", "down"},
		{"/v1/agent/check/update/api%20ttl", `{"Status":"passing","Output":"back"}`, "passing", "back"},
	} {
		expect(t, a, "PUT", u.path, u.body, 200, nil)
		if local, remote := status("api ttl"); local.Status != u.status || local.Output != u.output || !reflect.DeepEqual(local, remote) {
			t.Fatalf("after %s: agent %+v, catalog %+v", u.path, local, remote)
		}
	}
	expectError(t, a, "PUT", "/v1/agent/check/update/api%20ttl", `{"Status":"unknown"}`, 400, "Invalid check status: 'unknown'")
	expectError(t, a, "PUT", "/v1/agent/check/pass/disk", "", 500, `CheckID "disk" does not have associated TTL`)
	expectError(t, a, "PUT", "/v1/agent/check/pass/nope", "", 404, `Unknown check ID "nope". Ensure that the check ID is passed, not the check name.`)

	expect(t, a, "PUT", "/v1/agent/check/deregister/disk", "", 200, nil)
	if local, remote := status("disk"); local.CheckID != "" || remote.CheckID != "" {
		t.Fatalf("deregistered check still there: agent %+v, catalog %+v", local, remote)
	}
	expectError(t, a, "PUT", "/v1/agent/check/deregister/disk", "", 404, `Unknown check ID "disk"`)
}

func TestAgentTTLCheckExpires(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	node := a.Config().NodeName
	expect(t, a, "PUT", "/v1/agent/check/register", `{"Name":"heartbeat","TTL":"300ms"}`, 200, nil)
	expect(t, a, "PUT", "/v1/agent/check/pass/heartbeat?note=alive", "", 200, nil)
	// The TTL runs out without another update: the agent marks the check
	// critical and syncs that to the catalog on its own.
	agenttest.Eventually(t, 10*time.Second, func() error {
		c := catalogChecks(t, a, node)["heartbeat"]
		if c.Status != "critical" || c.Output != "TTL expired (last output before timeout follows): alive" {
			return fmt.Errorf("catalog check = %+v", c)
		}
		return nil
	})
	if c := agentChecks(t, a)["heartbeat"]; c.Status != "critical" {
		t.Fatalf("agent check = %+v", c)
	}
	// An update revives it.
	expect(t, a, "PUT", "/v1/agent/check/pass/heartbeat", "", 200, nil)
	if c := catalogChecks(t, a, node)["heartbeat"]; c.Status != "passing" {
		t.Fatalf("after pass: %+v", c)
	}
}

// Anti-entropy: the agent's node in the catalog converges to the agent's
// state, whatever is written there through the catalog API, except the
// consul service and serfHealth check, which the leader owns.
func TestAgentAntiEntropyRepairsCatalog(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	node := a.Config().NodeName
	expect(t, a, "PUT", "/v1/agent/service/register", `{"Name":"web","Port":80,"Check":{"TTL":"1h"}}`, 200, nil)

	register(t, a, fmt.Sprintf(`{"Node":%q,"Address":"127.0.0.1","SkipNodeUpdate":true,
		"Service":{"ID":"stray","Service":"stray"}}`, node))
	register(t, a, fmt.Sprintf(`{"Node":%q,"Address":"127.0.0.1","SkipNodeUpdate":true,
		"Service":{"ID":"web","Service":"web","Port":9999}}`, node))
	expect(t, a, "PUT", "/v1/catalog/deregister", fmt.Sprintf(`{"Node":%q,"CheckID":"service:web"}`, node), 200, nil)

	agenttest.Eventually(t, 20*time.Second, func() error {
		var ns struct {
			Services map[string]struct{ Port int }
		}
		body, _ := expect(t, a, "GET", "/v1/catalog/node/"+node, "", 200, &ns)
		if _, ok := ns.Services["stray"]; ok {
			return fmt.Errorf("stray service still registered: %s", body)
		}
		if ns.Services["web"].Port != 80 {
			return fmt.Errorf("web not restored: %s", body)
		}
		if _, ok := ns.Services["consul"]; !ok {
			return fmt.Errorf("the consul service was removed: %s", body)
		}
		cc := catalogChecks(t, a, node)
		if _, ok := cc["service:web"]; !ok {
			return fmt.Errorf("web's check not restored: %v", cc)
		}
		if _, ok := cc["serfHealth"]; !ok {
			return fmt.Errorf("serfHealth was removed: %v", cc)
		}
		return nil
	})
}

func TestAgentServiceHashBlocking(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	expect(t, a, "PUT", "/v1/agent/service/register", `{"Name":"web","Port":80}`, 200, nil)
	var svc agentService
	_, hdr := expect(t, a, "GET", "/v1/agent/service/web", "", 200, &svc)
	if svc.ContentHash == "" || hdr.Get("X-Consul-ContentHash") != svc.ContentHash {
		t.Fatalf("hash %q, header %q", svc.ContentHash, hdr.Get("X-Consul-ContentHash"))
	}
	// With the current hash and a short wait, the same service comes back.
	var same agentService
	expect(t, a, "GET", "/v1/agent/service/web?hash="+svc.ContentHash+"&wait=100ms", "", 200, &same)
	if same.ContentHash != svc.ContentHash {
		t.Fatalf("unchanged service has hash %q, was %q", same.ContentHash, svc.ContentHash)
	}

	// A read blocked on the current hash returns the changed service (the
	// wait bounds the test if it never wakes).
	done := make(chan error, 1)
	var changed agentService
	go func() {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/agent/service/web?hash=" + svc.ContentHash + "&wait=60s")
		if err == nil {
			defer resp.Body.Close()
			err = json.NewDecoder(resp.Body).Decode(&changed)
		}
		done <- err
	}()
	expect(t, a, "PUT", "/v1/agent/service/register", `{"Name":"web","Port":81}`, 200, nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if changed.Port != 81 || changed.ContentHash == svc.ContentHash {
		t.Fatalf("blocked read returned %+v", changed)
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("content type %q", hdr.Get("Content-Type"))
	}
}

// An HTTP check registered with a service through the official client is
// run by the agent, and its result reaches the health endpoints: the
// instance is passing while its target answers 200 and drops out of
// ?passing once the target fails.
func TestAgentHTTPCheckReachesHealth(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()
	a := agenttest.NewCluster(t, 1).Agents[0]
	client := consulClient(t, a.HTTPAddr())
	err := client.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: "web-1", Name: "web", Port: 8080,
		Check: &api.AgentServiceCheck{HTTP: target.URL + "/health", Interval: "100ms", Timeout: "1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	passing := func() (int, error) {
		entries, _, err := client.Health().Service("web", "", true, nil)
		return len(entries), err
	}
	agenttest.Eventually(t, 10*time.Second, func() error {
		if n, err := passing(); err != nil || n != 1 {
			return fmt.Errorf("passing instances %d (%v)", n, err)
		}
		return nil
	})
	healthy.Store(false)
	agenttest.Eventually(t, 10*time.Second, func() error {
		if n, err := passing(); err != nil || n != 0 {
			return fmt.Errorf("passing instances %d (%v)", n, err)
		}
		checks, _, err := client.Health().Checks("web", nil)
		if err != nil || len(checks) != 1 || !strings.Contains(checks[0].Output, "503 Service Unavailable") {
			return fmt.Errorf("checks %+v (%v)", checks, err)
		}
		return nil
	})
}
