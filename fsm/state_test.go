package fsm

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

func TestEmptyStoreReads(t *testing.T) {
	s := NewStore()
	ws := memdb.NewWatchSet()
	check := func(name string, idx uint64, result any, err error, wantJSON string) {
		t.Helper()
		if err != nil || idx != 1 {
			t.Errorf("%s: index %d err %v (index must never be 0)", name, idx, err)
		}
		if b, _ := json.Marshal(result); string(b) != wantJSON {
			t.Errorf("%s: got %s want %s", name, b, wantJSON)
		}
	}
	idx, nodes, err := s.Nodes(ws, "")
	check("Nodes", idx, nodes, err, "[]")
	idx, node, err := s.Node(ws, "n1", "")
	check("Node", idx, node, err, "null")
	idx, services, err := s.Services(ws, "")
	check("Services", idx, services, err, "{}")
	idx, sn, err := s.ServiceNodes(ws, "web", "")
	check("ServiceNodes", idx, sn, err, "[]")
	idx, hc, err := s.NodeChecks(ws, "n1", "")
	check("NodeChecks", idx, hc, err, "[]")
	idx, hc, err = s.ServiceChecks(ws, "web", "")
	check("ServiceChecks", idx, hc, err, "[]")
	idx, hc, err = s.ChecksInState(ws, catalog.HealthAny, "")
	check("ChecksInState", idx, hc, err, "[]")
	idx, csn, err := s.CheckServiceNodes(ws, "web", "")
	check("CheckServiceNodes", idx, csn, err, "[]")
	idx, e, err := s.ConfigEntry(ws, configentry.ServiceDefaults, "web")
	check("ConfigEntry", idx, e, err, "null")
	idx, es, err := s.ConfigEntries(ws, "mesh")
	check("ConfigEntries", idx, es, err, "[]")
	idx, es, err = s.ConfigEntriesAll(ws)
	check("ConfigEntriesAll", idx, es, err, "[]")
}

func populated(t *testing.T) *harness {
	h := newHarness(t, Config{})
	h.mustRegister(
		withCheck(withCheck(instance("n1", "web1", "web", "v1", "blue"), "n1-alive", "", catalog.HealthPassing), "web1-http", "web1", catalog.HealthWarning), // 1
		withCheck(instance("n2", "web2", "web", "v2", "Blue"), "web2-http", "web2", catalog.HealthPassing),                                                   // 2
		instance("n2", "api1", "api"), // 3
	)
	return h
}

func TestCatalogReads(t *testing.T) {
	h := populated(t)
	s := h.store()

	_, services, _ := s.Services(nil, "")
	want := map[string][]string{"web": {"Blue", "blue", "v1", "v2"}, "api": {}}
	if !reflect.DeepEqual(services, want) {
		t.Errorf("Services = %v", services)
	}

	_, sn, _ := s.ServiceNodes(nil, "web", "", "BLUE")
	if len(sn) != 2 || sn[0].Node != "n1" || sn[0].Address != "10.0.0.1" || sn[1].Address != "10.0.0.2" {
		t.Errorf("ServiceNodes by tag: %+v", sn)
	}
	if _, sn, _ = s.ServiceNodes(nil, "web", "", "blue", "v2"); len(sn) != 1 || sn[0].ServiceID != "web2" {
		t.Errorf("tags must all match: %+v", sn)
	}

	_, ns, _ := s.Node(nil, "n2", "")
	if len(ns.Services) != 2 || ns.Services["api1"] == nil || ns.Services["web2"] == nil {
		t.Errorf("Node services: %+v", ns.Services)
	}

	for state, want := range map[string]int{catalog.HealthPassing: 2, catalog.HealthWarning: 1, catalog.HealthCritical: 0, catalog.HealthAny: 3, "bogus": 0} {
		if _, hc, _ := s.ChecksInState(nil, state, ""); len(hc) != want {
			t.Errorf("ChecksInState(%s) = %d checks, want %d", state, len(hc), want)
		}
	}
	if _, hc, _ := s.ServiceChecks(nil, "web", ""); len(hc) != 2 {
		t.Errorf("ServiceChecks: %+v", hc)
	}
}

func TestCheckServiceNodes(t *testing.T) {
	h := populated(t)
	_, csn, err := h.store().CheckServiceNodes(nil, "web", "")
	if err != nil || len(csn) != 2 {
		t.Fatalf("got %v %+v", err, csn)
	}
	ids := func(c catalog.HealthChecks) (out []string) {
		for _, x := range c {
			out = append(out, x.CheckID)
		}
		return out
	}
	if got := ids(csn[0].Checks); !reflect.DeepEqual(got, []string{"n1-alive", "web1-http"}) {
		t.Errorf("n1 checks (node checks first): %v", got)
	}
	if got := ids(csn[1].Checks); !reflect.DeepEqual(got, []string{"web2-http"}) {
		t.Errorf("n2 checks: %v", got)
	}
	if csn[0].Service.ID != "web1" || csn[0].Node.Node != "n1" {
		t.Errorf("first entry: %+v", csn[0])
	}
	_, api, _ := h.store().CheckServiceNodes(nil, "api", "")
	if len(api) != 1 || api[0].Checks == nil || len(api[0].Checks) != 0 {
		t.Errorf("an instance without checks has Checks [], got %+v", api)
	}
	if got := catalog.FilterPassing(csn); len(got) != 1 || got[0].Service.ID != "web2" {
		t.Errorf("passing filter: %+v", got)
	}
}

func TestReadIndexes(t *testing.T) {
	h := populated(t) // web at 1, 2; api at 3
	s := h.store()
	serviceIdx := func(name string) uint64 {
		idx, _, err := s.CheckServiceNodes(nil, name, "")
		if err != nil {
			t.Fatal(err)
		}
		return idx
	}
	if serviceIdx("web") != 2 || serviceIdx("api") != 3 {
		t.Fatalf("indexes web=%d api=%d", serviceIdx("web"), serviceIdx("api"))
	}
	// A node check moves every service on its node, and only those.
	h.mustRegister(withCheck(nodeOnly("n2"), "n2-disk", "", catalog.HealthPassing)) // 4
	if serviceIdx("web") != 4 || serviceIdx("api") != 4 {
		t.Fatalf("after node check: web=%d api=%d", serviceIdx("web"), serviceIdx("api"))
	}
	h.mustRegister(withCheck(nodeOnly("n1"), "n1-disk", "", catalog.HealthPassing)) // 5
	if serviceIdx("api") != 4 {
		t.Fatalf("n1's check moved api to %d", serviceIdx("api"))
	}
	// The last instance gone, the index falls back to the services table
	// key, which that delete moved: it never goes backwards.
	h.deregister(&catalog.DeregisterRequest{Node: "n2", ServiceID: "api1"}) // 6
	if serviceIdx("api") != 6 {
		t.Fatalf("after delete api=%d", serviceIdx("api"))
	}
	h.mustRegister(instance("n3", "x", "other")) // 7
	if got := serviceIdx("api"); got != 7 {
		t.Fatalf("missing service reports the services table index, got %d", got)
	}
	// Node reads likewise.
	if idx, _, _ := s.NodeChecks(nil, "n1", ""); idx != 5 {
		t.Fatalf("NodeChecks index %d", idx)
	}
	h.deregister(&catalog.DeregisterRequest{Node: "n1"}) // 8
	if idx, ns, _ := s.Node(nil, "n1", ""); ns != nil || idx != 8 {
		t.Fatalf("deleted node: idx %d %+v", idx, ns)
	}
}

func TestConfigReadIndexes(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustUpsert(serviceDefaults("web", "http"), serviceDefaults("api", "http"))                 // 1, 2
	h.mustUpsert(&configentry.ProxyConfigEntry{Kind: configentry.ProxyDefaults, Name: "global"}) // 3
	s := h.store()
	if idx, _, _ := s.ConfigEntry(nil, configentry.ServiceDefaults, "web"); idx != 1 {
		t.Errorf("existing entry reports its ModifyIndex, got %d", idx)
	}
	if idx, e, _ := s.ConfigEntry(nil, configentry.ServiceDefaults, "nope"); e != nil || idx != 2 {
		t.Errorf("missing entry reports its kind's index, got %d", idx)
	}
	if idx, es, _ := s.ConfigEntries(nil, configentry.ServiceDefaults); idx != 2 || len(es) != 2 || es[0].GetName() != "api" {
		t.Errorf("ConfigEntries: %d %v", idx, es)
	}
	if idx, _, _ := s.ConfigEntries(nil, "mesh"); idx != 3 {
		t.Errorf("a kind never written reports the table index, got %d", idx)
	}
	if idx, es, _ := s.ConfigEntriesAll(nil); idx != 3 || len(es) != 3 || es[0].GetKind() != configentry.ProxyDefaults {
		t.Errorf("ConfigEntriesAll: %d %v", idx, es)
	}
	h.deleteEntry(configentry.ServiceDefaults, "web", nil) // 4
	if idx, _, _ := s.ConfigEntry(nil, configentry.ServiceDefaults, "web"); idx != 4 {
		t.Errorf("after delete: %d", idx)
	}
}

func TestTxnVariantsShareASnapshot(t *testing.T) {
	h := populated(t)
	h.mustUpsert(serviceDefaults("web", "http"))
	tx := h.store().ReadTxn()
	defer tx.Abort()
	h.mustRegister(instance("n9", "web9", "web")) // not visible to tx
	ws := memdb.NewWatchSet()
	_, sn, err := ServiceNodesTxn(tx, ws, "web", "")
	if err != nil || len(sn) != 2 {
		t.Fatalf("ServiceNodesTxn: %v %d", err, len(sn))
	}
	if _, e, _ := ConfigEntryTxn(tx, ws, configentry.ServiceDefaults, "web"); e == nil {
		t.Fatal("ConfigEntryTxn found nothing")
	}
	if _, nodes, _ := NodesTxn(tx, ws, ""); len(nodes) != 2 {
		t.Fatalf("NodesTxn saw %d nodes", len(nodes))
	}
	// The change after the snapshot has already fired the watch.
	if !fired(ws) {
		t.Fatal("watch on a stale snapshot did not fire")
	}
}
