package fsm

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
)

func TestRegisterCreatesNodeServiceAndChecks(t *testing.T) {
	h := newHarness(t, Config{})
	req := withCheck(withCheck(instance("n1", "web1", "web", "v1"), "svc", "web1", ""), "node", "", catalog.HealthPassing)
	res := h.register(req)
	if !res.Ok || res.Err != nil {
		t.Fatalf("register: %+v", res)
	}
	_, ns, _ := h.store().Node(nil, "N1", "") // node names are case-insensitive
	if ns == nil || ns.Node.Address != "10.0.0.1" || ns.Node.CreateIndex != 1 || ns.Node.ModifyIndex != 1 {
		t.Fatalf("node: %+v", ns)
	}
	svc := ns.Services["web1"]
	if svc == nil || svc.Service != "web" || *svc.Weights != catalog.DefaultWeights || svc.CreateIndex != 1 {
		t.Fatalf("service: %+v", svc)
	}
	_, checks, _ := h.store().NodeChecks(nil, "n1", "")
	if len(checks) != 2 {
		t.Fatalf("checks: %+v", checks)
	}
	node, service := checks[0], checks[1]
	if node.CheckID != "node" || node.ServiceName != "" || node.Status != catalog.HealthPassing {
		t.Errorf("node check: %+v", node)
	}
	if service.Status != catalog.HealthCritical || service.ServiceName != "web" || len(service.ServiceTags) != 1 {
		t.Errorf("service check should default to critical and carry the service: %+v", service)
	}
}

func TestRegisterIdenticalTwiceChangesNothing(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(withCheck(instance("n1", "web1", "web"), "c", "web1", catalog.HealthPassing))
	before := dump(t, h.store())
	ws := memdb.NewWatchSet()
	h.store().CheckServiceNodes(ws, "web", "")
	h.mustRegister(withCheck(instance("n1", "web1", "web"), "c", "web1", catalog.HealthPassing))
	if after := dump(t, h.store()); after != before {
		t.Fatalf("state changed:\n%s\n---\n%s", before, after)
	}
	if fired(ws) {
		t.Fatal("an identical registration woke a watcher")
	}
}

func TestRegisterUpdatesKeepCreateIndex(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(instance("n1", "web1", "web"))
	upd := instance("n1", "web1", "web", "new-tag")
	upd.Address = "10.9.9.9"
	h.mustRegister(upd)
	_, ns, _ := h.store().Node(nil, "n1", "")
	if ns.Node.CreateIndex != 1 || ns.Node.ModifyIndex != 2 || ns.Node.Address != "10.9.9.9" {
		t.Errorf("node: %+v", ns.Node)
	}
	if s := ns.Services["web1"]; s.CreateIndex != 1 || s.ModifyIndex != 2 || s.Tags[0] != "new-tag" {
		t.Errorf("service: %+v", s)
	}
}

func TestRegisterSkipNodeUpdate(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(nodeOnly("n1"))
	req := instance("n1", "web1", "web")
	req.Address, req.SkipNodeUpdate = "", true
	h.mustRegister(req)
	_, ns, _ := h.store().Node(nil, "n1", "")
	if ns.Node.Address != "10.0.0.1" || ns.Node.ModifyIndex != 1 || len(ns.Services) != 1 {
		t.Fatalf("node was updated or service missing: %+v", ns)
	}
	// A missing node is still created.
	fresh := nodeOnly("n2")
	fresh.SkipNodeUpdate = true
	h.mustRegister(fresh)
	if _, ns, _ := h.store().Node(nil, "n2", ""); ns == nil {
		t.Fatal("SkipNodeUpdate must still create a missing node")
	}
}

func TestRegisterRefusalsLeaveStateUnchanged(t *testing.T) {
	cases := []struct {
		name string
		req  *catalog.RegisterRequest
		want error
		msg  string
	}{
		{"check on unknown service", withCheck(nodeOnly("n9"), "c", "nope", ""), ErrMissingService,
			"Unknown service ID 'nope' for check ID 'c'"},
		{"check of another node", &catalog.RegisterRequest{Node: "n9", Address: "a",
			Checks: []*catalog.HealthCheck{{Node: "other", CheckID: "c"}}}, nil, `check node "other" does not match node "n9"`},
		{"mixed peers", &catalog.RegisterRequest{Node: "n9", Address: "a", PeerName: "p",
			Service: &catalog.NodeService{Service: "s", PeerName: "q"}}, nil, "multiple peer names"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.mustRegister(instance("n1", "web1", "web"))
			before := dump(t, h.store())
			res := h.register(tc.req)
			if res.Ok || res.Err == nil || !strings.Contains(res.Err.Error(), tc.msg) {
				t.Fatalf("result %+v, want error containing %q", res, tc.msg)
			}
			if tc.want != nil && !errors.Is(res.Err, tc.want) {
				t.Fatalf("error %v is not %v", res.Err, tc.want)
			}
			if after := dump(t, h.store()); after != before {
				t.Fatalf("refused command changed state:\n%s", after)
			}
		})
	}
}

func TestNodeIDRules(t *testing.T) {
	const id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e"
	h := newHarness(t, Config{})
	old := withCheck(instance("n1", "web1", "web"), catalog.SerfCheckID, "", catalog.HealthPassing)
	old.ID = id
	h.mustRegister(old)

	// The same ID under a new name renames: the old node goes with its data.
	renamed := nodeOnly("n2")
	renamed.ID = id
	h.mustRegister(renamed)
	_, nodes, _ := h.store().Nodes(nil, "")
	if len(nodes) != 1 || nodes[0].Node != "n2" {
		t.Fatalf("after rename: %+v", nodes)
	}
	if _, svcs, _ := h.store().ServiceNodes(nil, "web", ""); len(svcs) != 0 {
		t.Fatalf("renamed node kept its services: %+v", svcs)
	}

	// A live node's name cannot be taken by another ID.
	live := withCheck(nodeOnly("n3"), catalog.SerfCheckID, "", catalog.HealthPassing)
	live.ID = "11111111-2222-3333-4444-555555555555"
	h.mustRegister(live)
	thief := nodeOnly("n3")
	thief.ID = "99999999-2222-3333-4444-555555555555"
	if res := h.register(thief); res.Ok || !strings.Contains(res.Err.Error(), "Node name n3 is reserved by node "+live.ID) {
		t.Fatalf("taking a live node's name: %+v", res)
	}

	// Once that node's gossip check is critical, the name may be taken.
	failed := withCheck(nodeOnly("n3"), catalog.SerfCheckID, "", catalog.HealthCritical)
	failed.ID = live.ID
	h.mustRegister(failed, thief)
	_, ns, _ := h.store().Node(nil, "n3", "")
	if ns.Node.ID != thief.ID {
		t.Fatalf("node n3 has ID %q", ns.Node.ID)
	}
}

func TestDeregister(t *testing.T) {
	h := newHarness(t, Config{})
	req := withCheck(withCheck(instance("n1", "web1", "web"), "svc", "web1", ""), "node", "", "")
	h.mustRegister(req, withCheck(instance("n1", "db1", "db"), "dbc", "db1", ""))

	// A service goes with its checks.
	if res := h.deregister(&catalog.DeregisterRequest{Node: "n1", ServiceID: "web1"}); !res.Ok {
		t.Fatal(res.Err)
	}
	_, checks, _ := h.store().NodeChecks(nil, "n1", "")
	if len(checks) != 2 || checks[0].CheckID != "dbc" || checks[1].CheckID != "node" {
		t.Fatalf("checks left: %+v", checks)
	}
	// A single check.
	h.deregister(&catalog.DeregisterRequest{Node: "n1", CheckID: "node"})
	if _, checks, _ = h.store().NodeChecks(nil, "n1", ""); len(checks) != 1 {
		t.Fatalf("checks left: %+v", checks)
	}
	// Missing things are fine and change nothing.
	before := dump(t, h.store())
	for _, r := range []*catalog.DeregisterRequest{
		{Node: "n1", ServiceID: "gone"}, {Node: "n1", CheckID: "gone"}, {Node: "nobody"},
	} {
		if res := h.deregister(r); !res.Ok || res.Err != nil {
			t.Fatalf("deregister %+v: %+v", r, res)
		}
	}
	if dump(t, h.store()) != before {
		t.Fatal("deregistering missing objects changed state")
	}
	// The whole node.
	h.deregister(&catalog.DeregisterRequest{Node: "N1"})
	if got := dump(t, h.store()); strings.Contains(got, "nodes {") || strings.Contains(got, "services {") || strings.Contains(got, "checks {") {
		t.Fatalf("node deregistration left rows:\n%s", got)
	}
}

func TestBatchRegisterIsAtomic(t *testing.T) {
	h := newHarness(t, Config{})
	good := []*catalog.RegisterRequest{instance("n1", "a", "a"), instance("n2", "b", "b")}
	if res := h.apply(EncodeBatchRegister(good)); !res.Ok {
		t.Fatal(res.Err)
	}
	before := dump(t, h.store())
	bad := []*catalog.RegisterRequest{instance("n3", "c", "c"), withCheck(nodeOnly("n4"), "x", "missing", "")}
	if res := h.apply(EncodeBatchRegister(bad)); res.Ok || !errors.Is(res.Err, ErrMissingService) {
		t.Fatalf("bad batch: %+v", res)
	}
	if dump(t, h.store()) != before {
		t.Fatal("a refused batch left part of itself behind")
	}
}

func TestPeeredDataIsSeparate(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(instance("n1", "web1", "web"))
	imported := instance("n1", "web1", "web")
	imported.PeerName = "east"
	imported.Address = "192.168.0.1"
	h.mustRegister(imported)

	_, local, _ := h.store().CheckServiceNodes(nil, "web", "")
	_, peered, _ := h.store().CheckServiceNodes(nil, "web", "East")
	if len(local) != 1 || local[0].Node.Address != "10.0.0.1" || local[0].Node.PeerName != "" {
		t.Fatalf("local: %+v", local)
	}
	if len(peered) != 1 || peered[0].Node.Address != "192.168.0.1" || peered[0].Service.PeerName != "east" {
		t.Fatalf("peered: %+v", peered[0].Node)
	}
	h.deregister(&catalog.DeregisterRequest{Node: "n1", PeerName: "east"})
	if _, local, _ = h.store().CheckServiceNodes(nil, "web", ""); len(local) != 1 {
		t.Fatal("deleting the imported node removed the local one")
	}
}

func TestServiceChangeRefreshesItsChecks(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(withCheck(instance("n1", "web1", "web", "v1"), "c", "web1", catalog.HealthPassing))
	h.mustRegister(instance("n1", "web1", "web", "v2"))
	_, checks, _ := h.store().ServiceChecks(nil, "web", "")
	if len(checks) != 1 || checks[0].ServiceTags[0] != "v2" || checks[0].ModifyIndex != 2 {
		t.Fatalf("check not refreshed: %+v", checks)
	}
	// Renaming the instance's service moves its checks with it.
	h.mustRegister(instance("n1", "web1", "api"))
	if _, checks, _ = h.store().ServiceChecks(nil, "web", ""); len(checks) != 0 {
		t.Fatalf("checks stayed with the old name: %+v", checks)
	}
	if _, checks, _ = h.store().ServiceChecks(nil, "api", ""); len(checks) != 1 {
		t.Fatalf("checks did not follow the new name: %+v", checks)
	}
}
