package agent_test

import (
	"encoding/json"
	"fmt"
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

// seedHealth registers three instances of web with different health, and a
// sidecar proxy for web:
//
//	n1 (rack r1): node check mem passing; web1 [v1] check passing; web-proxy
//	n2 (rack r2): web2 [v2] check warning
//	n3 (rack r2): node check disk critical; web3 (no tags) check passing
func seedHealth(t *testing.T, a *agent.Agent) {
	t.Helper()
	register(t, a, `{"Node":"n1","Address":"10.0.0.1","NodeMeta":{"rack":"r1"},
		"Service":{"ID":"web1","Service":"web","Tags":["v1"],"Port":80},
		"Checks":[{"CheckID":"mem","Name":"mem","Status":"passing"},
			{"CheckID":"web1-http","Name":"http","ServiceID":"web1","Status":"passing"}]}`)
	register(t, a, `{"Node":"n1","Address":"10.0.0.1","NodeMeta":{"rack":"r1"},
		"Service":{"Kind":"connect-proxy","ID":"web-proxy","Service":"web-sidecar-proxy","Port":21000,
			"Proxy":{"DestinationServiceName":"web"}}}`)
	register(t, a, `{"Node":"n2","Address":"10.0.0.2","NodeMeta":{"rack":"r2"},
		"Service":{"ID":"web2","Service":"web","Tags":["v2"],"Port":81},
		"Check":{"CheckID":"web2-http","Name":"http","ServiceID":"web2","Status":"warning"}}`)
	register(t, a, `{"Node":"n3","Address":"10.0.0.3","NodeMeta":{"rack":"r2"},
		"Service":{"ID":"web3","Service":"web","Port":80},
		"Checks":[{"CheckID":"disk","Name":"disk","Status":"critical"},
			{"CheckID":"web3-http","Name":"http","ServiceID":"web3","Status":"passing"}]}`)
}

// checkIDs reads a list of checks and returns their IDs, sorted.
func checkIDs(t *testing.T, a *agent.Agent, path string) []string {
	t.Helper()
	var checks []struct{ CheckID string }
	body, hdr := expect(t, a, "GET", path, "", 200, &checks)
	index(t, hdr)
	if checks == nil {
		t.Fatalf("%s answered %s, want a list", path, body)
	}
	ids := []string{}
	for _, c := range checks {
		ids = append(ids, c.CheckID)
	}
	sort.Strings(ids)
	return ids
}

// instanceIDs reads a health service view and returns the instance IDs,
// sorted; every element must have a (possibly empty) Checks list.
func instanceIDs(t *testing.T, a *agent.Agent, path string) []string {
	t.Helper()
	var nodes []struct {
		Service struct{ ID string }
		Checks  []json.RawMessage
	}
	body, hdr := expect(t, a, "GET", path, "", 200, &nodes)
	index(t, hdr)
	if nodes == nil {
		t.Fatalf("%s answered %s, want a list", path, body)
	}
	ids := []string{}
	for _, n := range nodes {
		if n.Checks == nil {
			t.Fatalf("%s: null Checks in %s", path, body)
		}
		ids = append(ids, n.Service.ID)
	}
	sort.Strings(ids)
	return ids
}

func TestHealthChecksEndpoints(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	seedHealth(t, a)
	for path, want := range map[string][]string{
		"/v1/health/node/n1": {"mem", "web1-http"},
		"/v1/health/node/n1?filter=" + url.QueryEscape(`ServiceID == ""`): {"mem"},
		"/v1/health/node/nowhere":                                          {},
		"/v1/health/checks/web":                                            {"web1-http", "web2-http", "web3-http"},
		"/v1/health/checks/web?node-meta=rack:r2":                          {"web2-http", "web3-http"},
		"/v1/health/checks/nothing":                                        {},
		"/v1/health/state/critical":                                        {"disk"},
		"/v1/health/state/warning":                                         {"web2-http"},
		"/v1/health/state/passing?node-meta=rack:r1":                       {"mem", "web1-http"},
		"/v1/health/state/any?filter=" + url.QueryEscape(`Name == "http"`): {"web1-http", "web2-http", "web3-http"},
		"/v1/health/state/bogus":                                           {},
	} {
		if got := checkIDs(t, a, path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	// "any" includes the server's own serfHealth check.
	if got := checkIDs(t, a, "/v1/health/state/any"); len(got) != 6 || !contains(got, "serfHealth") {
		t.Errorf("state/any = %v, want the 5 seeded checks and serfHealth", got)
	}
	body, _ := expect(t, a, "GET", "/v1/health/checks/web?filter="+url.QueryEscape(`ServiceID == "web1"`), "", 200, nil)
	if !strings.Contains(body, `"ServiceTags":["v1"]`) || !strings.Contains(body, `"ServiceName":"web"`) {
		t.Errorf("service check = %s, want the service's name and tags", body)
	}
	for _, path := range []string{"/v1/health/node/", "/v1/health/checks/", "/v1/health/state/"} {
		expect(t, a, "GET", path, "", 400, nil)
	}
	expectError(t, a, "GET", "/v1/health/state/any?filter="+url.QueryEscape(`Status =`), "", 400, "Failed to create boolean expression evaluator")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestHealthServiceEndpoint(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	seedHealth(t, a)
	all := []string{"web1", "web2", "web3"}
	for q, want := range map[string][]string{
		"":                                  all,
		"?passing":                          {"web1"},
		"?passing=":                         {"web1"},
		"?passing=1":                        {"web1"},
		"?passing=true":                     {"web1"},
		"?passing=0":                        all,
		"?passing=F":                        all,
		"?tag=v1":                           {"web1"},
		"?tag=V2":                           {"web2"},
		"?tag=v1&tag=v2":                    {},
		"?node-meta=rack:r2":                {"web2", "web3"},
		"?node-meta=rack:r2&passing":        {},
		"?near=_agent&merge-central-config": all,
		"?filter=" + url.QueryEscape(`Service.Port == 80`):         {"web1", "web3"},
		"?filter=" + url.QueryEscape(`Service.Tags contains "v2"`): {"web2"},
	} {
		if got := instanceIDs(t, a, "/v1/health/service/web"+q); !reflect.DeepEqual(got, want) {
			t.Errorf("service/web%s = %v, want %v", q, got, want)
		}
	}
	if got := instanceIDs(t, a, "/v1/health/service/nothing"); len(got) != 0 {
		t.Errorf("unknown service = %v", got)
	}
	if got := instanceIDs(t, a, "/v1/health/connect/web"); !reflect.DeepEqual(got, []string{"web-proxy"}) {
		t.Errorf("connect/web = %v, want the proxy", got)
	}
	if got := instanceIDs(t, a, "/v1/health/connect/web?passing"); !reflect.DeepEqual(got, []string{"web-proxy"}) {
		t.Errorf("connect/web?passing = %v: the proxy's only check (mem) passes", got)
	}
	if got := instanceIDs(t, a, "/v1/health/ingress/web"); len(got) != 0 {
		t.Errorf("ingress/web = %v, want none: no ingress-gateway entry can exist", got)
	}

	// The elements carry node, instance and checks; empty lists are [].
	body, _ := expect(t, a, "GET", "/v1/health/service/web?filter="+url.QueryEscape(`Service.ID == "web3"`), "", 200, nil)
	for _, part := range []string{`"Node":{"ID":"","Node":"n3"`, `"Tags":[]`, `"CheckID":"disk"`, `"CheckID":"web3-http"`} {
		if !strings.Contains(body, part) {
			t.Errorf("web3 element %s lacks %s", body, part)
		}
	}

	expectError(t, a, "GET", "/v1/health/service/web?passing=maybe", "", 400, "Invalid value for ?passing")
	expectError(t, a, "GET", "/v1/health/service/web?peer=east&sg=group", "", 400, "peer-name and sameness-group are mutually exclusive")
	expectError(t, a, "GET", "/v1/health/service/", "", 400, "Missing service name")
	expectError(t, a, "GET", "/v1/health/service/web?filter="+url.QueryEscape(`Service.Port >`), "", 400, "Failed to create boolean expression evaluator")
	// A selector the element type does not have fails on evaluation.
	expectError(t, a, "GET", "/v1/health/service/web?filter="+url.QueryEscape(`Checks.Status == "warning"`), "", 400, "Failed to evaluate filter")
}

// A blocking health query on one service is woken by that service's
// changes only: its index is the service's own, so a write to another
// service neither moves it nor ends the wait.
func TestHealthServiceBlockingQueryIgnoresOtherServices(t *testing.T) {
	a := agenttest.NewCluster(t, 1).Agents[0]
	register(t, a, `{"Node":"n1","Address":"10.0.0.1","Service":{"ID":"a1","Service":"a"}}`)
	register(t, a, `{"Node":"n2","Address":"10.0.0.2","Service":{"ID":"b1","Service":"b"}}`)
	serviceIndex := func(name string) uint64 {
		_, hdr := expect(t, a, "GET", "/v1/health/service/"+name, "", 200, nil)
		return index(t, hdr)
	}
	before := serviceIndex("b")

	type result struct {
		index uint64
		ids   []string
		err   error
	}
	done := make(chan result, 1)
	// The wait bounds the test if the query never wakes.
	go func() {
		var r result
		defer func() { done <- r }()
		resp, err := http.Get(fmt.Sprintf("http://%s/v1/health/service/b?index=%d&wait=60s", a.HTTPAddr(), before))
		if err != nil {
			r.err = err
			return
		}
		defer resp.Body.Close()
		var nodes []struct{ Service struct{ ID string } }
		if r.err = json.NewDecoder(resp.Body).Decode(&nodes); r.err != nil {
			return
		}
		r.index, r.err = strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
		for _, n := range nodes {
			r.ids = append(r.ids, n.Service.ID)
		}
		sort.Strings(r.ids)
	}()

	// Writes to service a: a new instance, a check, a tag change.
	register(t, a, `{"Node":"n1","Address":"10.0.0.1","Service":{"ID":"a2","Service":"a"}}`)
	register(t, a, `{"Node":"n1","Address":"10.0.0.1","Check":{"Name":"a2-check","ServiceID":"a2","Status":"passing"}}`)
	register(t, a, `{"Node":"n1","Address":"10.0.0.1","Service":{"ID":"a1","Service":"a","Tags":["x"]}}`)
	afterA := serviceIndex("a")
	if got := serviceIndex("b"); got != before {
		t.Fatalf("writes to a moved b's index from %d to %d", before, got)
	}
	select {
	case r := <-done:
		t.Fatalf("the query on b returned after writes to a only: %+v", r)
	default:
	}

	register(t, a, `{"Node":"n3","Address":"10.0.0.3","Service":{"ID":"b2","Service":"b"}}`)
	afterB := serviceIndex("b")
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.index != afterB || afterB <= afterA {
		t.Fatalf("query returned at index %d; b's write is at %d, a's last at %d", r.index, afterB, afterA)
	}
	if !reflect.DeepEqual(r.ids, []string{"b1", "b2"}) {
		t.Fatalf("query returned %v, want b's new instance too", r.ids)
	}
}
