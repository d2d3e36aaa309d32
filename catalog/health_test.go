package catalog

import (
	"testing"
	"time"
)

func checks(statuses ...string) HealthChecks {
	var out HealthChecks
	for i, s := range statuses {
		out = append(out, &HealthCheck{CheckID: string(rune('a' + i)), Status: s})
	}
	return out
}

func TestAggregatedStatus(t *testing.T) {
	maint := append(checks(HealthPassing), &HealthCheck{CheckID: ServiceMaintPrefix + "web", Status: HealthCritical})
	nodeMaint := HealthChecks{{CheckID: NodeMaintCheckID, Status: HealthCritical}}
	cases := []struct {
		name string
		in   HealthChecks
		want string
	}{
		{"none", nil, HealthPassing},
		{"passing", checks(HealthPassing, HealthPassing), HealthPassing},
		{"warning wins over passing", checks(HealthPassing, HealthWarning), HealthWarning},
		{"critical wins over warning", checks(HealthWarning, HealthCritical, HealthPassing), HealthCritical},
		{"service maintenance wins", maint, HealthMaint},
		{"node maintenance wins", nodeMaint, HealthMaint},
		{"unknown status", checks(HealthPassing, "bogus"), ""},
	}
	for _, tc := range cases {
		if got := tc.in.AggregatedStatus(); got != tc.want {
			t.Errorf("%s: got %q want %q", tc.name, got, tc.want)
		}
	}
}

func TestFilterPassing(t *testing.T) {
	nodes := []CheckServiceNode{
		{Service: &NodeService{ID: "ok"}, Checks: checks(HealthPassing)},
		{Service: &NodeService{ID: "warn"}, Checks: checks(HealthPassing, HealthWarning)},
		{Service: &NodeService{ID: "crit"}, Checks: checks(HealthCritical)},
		{Service: &NodeService{ID: "nochecks"}},
	}
	got := FilterPassing(nodes)
	if len(got) != 2 || got[0].Service.ID != "ok" || got[1].Service.ID != "nochecks" {
		t.Fatalf("got %+v", got)
	}
	if len(nodes) != 4 || nodes[1].Service.ID != "warn" {
		t.Fatal("input was modified")
	}
}

func TestCheckType(t *testing.T) {
	iv := Duration(time.Second)
	cases := map[string]HealthCheckDefinition{
		"grpc":       {GRPC: "x", HTTP: "y", Interval: iv},
		"http":       {HTTP: "y", Interval: iv},
		"ttl":        {TTL: Nanoseconds(time.Second)},
		"tcp":        {TCP: "x", Interval: iv},
		"udp":        {UDP: "x", Interval: iv},
		"alias":      {AliasService: "web"},
		"docker":     {ScriptArgs: []string{"a"}, DockerContainerID: "c"},
		"script":     {ScriptArgs: []string{"a"}},
		"h2ping":     {H2PING: "x", Interval: iv},
		"os_service": {OSService: "x", Interval: iv},
		"":           {HTTP: "no interval"},
	}
	for want, d := range cases {
		if got := d.Type(); got != want {
			t.Errorf("%+v: got %q want %q", d, got, want)
		}
	}
}

func TestServiceConversions(t *testing.T) {
	ns := &NodeService{ID: "web1", Service: "web", Tags: []string{"a"}, Port: 80, PeerName: "p",
		Weights: &Weights{Passing: 0, Warning: 0}, RaftIndex: RaftIndex{CreateIndex: 1, ModifyIndex: 2}}
	sn := ns.ToServiceNode("n1")
	if sn.ServiceWeights != DefaultWeights {
		t.Errorf("invalid weights not defaulted: %+v", sn.ServiceWeights)
	}
	ns.Weights = &Weights{Passing: 5, Warning: 2}
	sn = ns.ToServiceNode("n1")
	back := sn.ToNodeService()
	if back.ID != ns.ID || back.Service != ns.Service || *back.Weights != *ns.Weights || back.PeerName != "p" || back.ModifyIndex != 2 {
		t.Errorf("round trip: %+v", back)
	}
	node := &Node{ID: "id", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", Meta: map[string]string{"k": "v"}}
	full := NewServiceNode(node, ns)
	if full.Address != "10.0.0.1" || full.NodeMeta["k"] != "v" || full.Datacenter != "dc1" || full.ServicePort != 80 {
		t.Errorf("joined: %+v", full)
	}
	if sn.Address != "" {
		t.Error("WithNode modified its receiver")
	}
	if !sn.IsSameService(ns.ToServiceNode("n1")) {
		t.Error("identical instances differ")
	}
	other := ns.ToServiceNode("n1")
	other.ModifyIndex = 99
	if !sn.IsSameService(other) {
		t.Error("raft index should be ignored")
	}
	other.ServicePort = 81
	if sn.IsSameService(other) {
		t.Error("port change not seen")
	}
}

func TestNodeServicesList(t *testing.T) {
	ns := &NodeServices{Node: &Node{Node: "n"}, Services: map[string]*NodeService{"b": {ID: "b"}, "a": {ID: "a"}}}
	l := ns.List()
	if len(l.Services) != 2 || l.Services[0].ID != "a" || l.Services[1].ID != "b" {
		t.Fatalf("got %+v", l.Services)
	}
	empty := (&NodeServices{Node: &Node{Node: "n"}}).List()
	if got := mustJSON(t, empty.Services); got != "[]" {
		t.Fatalf("empty list encodes as %s", got)
	}
}
