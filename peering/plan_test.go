package peering

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/fsm"
)

func exports(services ...configentry.ExportedService) *configentry.ExportedServicesConfigEntry {
	return &configentry.ExportedServicesConfigEntry{Name: "default", Services: services}
}

func to(name string, peers ...string) configentry.ExportedService {
	s := configentry.ExportedService{Name: name}
	for _, p := range peers {
		s.Consumers = append(s.Consumers, configentry.ServiceConsumer{Peer: p})
	}
	return s
}

func TestExportedNames(t *testing.T) {
	catalogNames := []string{"api", "consul", "web", "web-sidecar-proxy"}
	cases := []struct {
		name  string
		entry *configentry.ExportedServicesConfigEntry
		peer  string
		want  []string
	}{
		{"no entry", nil, "east", []string{}},
		{"only the named peer", exports(to("web", "east"), to("api", "west")), "east", []string{"web"}},
		{"peer names compare case-insensitively", exports(to("web", "EAST")), "east", []string{"web"}},
		{"wildcard expands to typical services", exports(to("*", "east")), "east", []string{"api", "web"}},
		{"consul is never exported", exports(to("consul", "east"), to("web", "east")), "east", []string{"web"}},
		{"duplicates merge", exports(to("web", "east"), to("web", "east", "west")), "east", []string{"web"}},
		{"other peer sees nothing", exports(to("web", "east")), "west", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExportedNames(tc.entry, tc.peer, catalogNames); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func csn(node, id, service string, checks ...string) catalog.CheckServiceNode {
	n := &catalog.Node{Node: node, Address: "10.0.0.1", Datacenter: "dc2", RaftIndex: catalog.RaftIndex{CreateIndex: 4, ModifyIndex: 9}}
	s := &catalog.NodeService{ID: id, Service: service, Port: 8080, Tags: []string{"v1"}, RaftIndex: catalog.RaftIndex{CreateIndex: 5, ModifyIndex: 9}}
	out := catalog.CheckServiceNode{Node: n, Service: s}
	for i, st := range checks {
		c := &catalog.HealthCheck{Node: node, CheckID: id + "-c" + string(rune('0'+i)), Status: st, ServiceID: id, ServiceName: service}
		if i == 0 {
			c.ServiceID, c.ServiceName = "", "" // the first is a node check
		}
		out.Checks = append(out.Checks, c)
	}
	return out
}

func TestBuildExportedServiceCollapsesChecksAndStrips(t *testing.T) {
	proxy := csn("n1", "web1-proxy", "web-sidecar-proxy", catalog.HealthPassing)
	proxy.Service.Kind = catalog.ServiceKindConnectProxy
	gw := csn("n1", "gw", "web", catalog.HealthPassing)
	gw.Service.Kind = catalog.ServiceKindMeshGateway
	withConnect := csn("n2", "web2", "web", catalog.HealthPassing, catalog.HealthWarning)
	withConnect.Service.Connect = catalog.ServiceConnect{Native: true}
	withConnect.Service.TaggedAddresses = map[string]catalog.ServiceAddress{"consul-virtual": {Address: "240.0.0.1"}, "lan": {Address: "10.0.0.2"}}
	got := BuildExportedService([]catalog.CheckServiceNode{
		withConnect, proxy, gw,
		csn("n1", "web1", "web", catalog.HealthPassing, catalog.HealthCritical),
		csn("n3", "web3", "web"),
	})
	if len(got.Nodes) != 3 {
		t.Fatalf("want 3 typical instances, got %d", len(got.Nodes))
	}
	first := got.Nodes[0]
	if first.Node.Node != "n1" || first.Node.CreateIndex != 0 || first.Service.ModifyIndex != 0 {
		t.Fatalf("order or raft indexes wrong: %+v %+v", first.Node, first.Service)
	}
	wantStatus := map[string]string{"web1": catalog.HealthCritical, "web2": catalog.HealthWarning}
	for _, n := range got.Nodes {
		if want, ok := wantStatus[n.Service.ID]; ok {
			if len(n.Checks) != 1 || n.Checks[0].Status != want || n.Checks[0].CheckID != n.Service.ID+":overall-check" || n.Checks[0].Name != "overall-check" {
				t.Fatalf("%s checks: %+v", n.Service.ID, n.Checks)
			}
		} else if len(n.Checks) != 0 {
			t.Fatalf("an instance without checks got %+v", n.Checks)
		}
	}
	if n := got.Nodes[1]; n.Service.Connect.Native || len(n.Service.TaggedAddresses) != 1 {
		t.Fatalf("connect or virtual IP not stripped: %+v", n.Service)
	}
}

func TestMaintenanceExportsAsCritical(t *testing.T) {
	c := csn("n1", "web1", "web", catalog.HealthPassing)
	c.Checks = append(c.Checks, &catalog.HealthCheck{Node: "n1", CheckID: catalog.NodeMaintCheckID, Status: catalog.HealthCritical})
	got := BuildExportedService([]catalog.CheckServiceNode{c})
	if got.Nodes[0].Checks[0].Status != catalog.HealthCritical {
		t.Fatalf("status %q", got.Nodes[0].Checks[0].Status)
	}
}

func state(services map[string]string, addrs ...string) ExportState {
	st := ExportState{Payloads: map[string][]byte{}, ServerAddrs: addrs}
	for name, body := range services {
		st.Services = append(st.Services, name)
		st.Payloads[name] = []byte(body)
	}
	sortStrings(st.Services)
	return st
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func ids(rs []Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

var allURLs = map[string]bool{URLExportedService: true, URLExportedServiceList: true, URLServerAddresses: true}

func TestPlanExportSendsDeltas(t *testing.T) {
	empty := ExportState{Payloads: map[string][]byte{}}
	s1 := state(map[string]string{"web": "w1", "api": "a1"}, "10.0.0.1:8503")
	steps := []struct {
		name string
		cur  ExportState
		want []string
	}{
		{"first push sends everything", s1, []string{"api", "web", resourceIDServiceList, resourceIDServerAddrs}},
		{"nothing changed sends nothing", s1, nil},
		{"health change of one service sends that service", state(map[string]string{"web": "w2", "api": "a1"}, "10.0.0.1:8503"), []string{"web"}},
		{"export added sends it and the list", state(map[string]string{"web": "w2", "api": "a1", "db": "d1"}, "10.0.0.1:8503"), []string{"db", resourceIDServiceList}},
		{"withdrawal sends only the list", state(map[string]string{"web": "w2", "db": "d1"}, "10.0.0.1:8503"), []string{resourceIDServiceList}},
		{"re-export resends the payload", state(map[string]string{"web": "w2", "db": "d1", "api": "a1"}, "10.0.0.1:8503"), []string{"api", resourceIDServiceList}},
		{"server addresses change", state(map[string]string{"web": "w2", "db": "d1", "api": "a1"}, "10.0.0.2:8503"), []string{resourceIDServerAddrs}},
	}
	prev := empty
	for _, st := range steps {
		got := ids(PlanExport(prev, st.cur, allURLs))
		if !reflect.DeepEqual(got, st.want) {
			t.Fatalf("%s: sent %v, want %v", st.name, got, st.want)
		}
		prev = Sent(prev, st.cur, allURLs)
	}
}

func TestPlanExportHonoursSubscriptions(t *testing.T) {
	empty := ExportState{Payloads: map[string][]byte{}}
	cur := state(map[string]string{"web": "w1"}, "10.0.0.1:8503")
	onlyList := map[string]bool{URLExportedServiceList: true}
	if got := ids(PlanExport(empty, cur, onlyList)); !reflect.DeepEqual(got, []string{resourceIDServiceList}) {
		t.Fatalf("got %v", got)
	}
	// A late subscription to the payloads still receives them.
	prev := Sent(empty, cur, onlyList)
	if got := ids(PlanExport(prev, cur, map[string]bool{URLExportedServiceList: true, URLExportedService: true})); !reflect.DeepEqual(got, []string{"web"}) {
		t.Fatalf("late subscription: %v", got)
	}
	// An empty export list is still sent once, so the importer clears.
	if got := ids(PlanExport(empty, ExportState{Services: []string{}, Payloads: map[string][]byte{}}, allURLs)); !reflect.DeepEqual(got, []string{resourceIDServiceList}) {
		t.Fatalf("empty list: %v", got)
	}
	body := PlanExport(empty, cur, allURLs)[1].Body
	var list ExportedServiceList
	if err := json.Unmarshal(body, &list); err != nil || !reflect.DeepEqual(list.Services, []string{"web"}) {
		t.Fatalf("list body %s: %v", body, err)
	}
}

// stored turns an exported instance into what the importer's health view
// would show after importing it.
func stored(peer string, c catalog.CheckServiceNode) catalog.CheckServiceNode {
	req := importRequest(peer, c)
	n := &catalog.Node{ID: req.ID, Node: req.Node, Address: req.Address, Datacenter: req.Datacenter, PeerName: peer, Meta: req.NodeMeta, TaggedAddresses: req.TaggedAddresses}
	return catalog.CheckServiceNode{Node: n, Service: req.Service, Checks: req.Checks}
}

func TestPlanServiceImport(t *testing.T) {
	exported := BuildExportedService([]catalog.CheckServiceNode{
		csn("n1", "web1", "web", catalog.HealthPassing),
		csn("n2", "web2", "web", catalog.HealthPassing),
	}).Nodes
	t.Run("first import registers every instance with PeerName", func(t *testing.T) {
		plan := PlanServiceImport("east", exported, nil, nil)
		if len(plan.Register) != 2 || len(plan.Deregister) != 0 {
			t.Fatalf("plan %+v", plan)
		}
		r := plan.Register[0]
		if r.PeerName != "east" || r.Service.PeerName != "east" || r.Checks[0].PeerName != "east" || r.Datacenter != "dc2" {
			t.Fatalf("not stamped: %+v", r)
		}
		if err := r.Validate(); err == nil {
			t.Fatal("a client could not send this; the FSM path must be used")
		}
	})
	current := []catalog.CheckServiceNode{stored("east", exported[0]), stored("east", exported[1])}
	t.Run("unchanged payload writes nothing", func(t *testing.T) {
		if plan := PlanServiceImport("east", exported, current, map[string]int{"n1": 1, "n2": 1}); !plan.Empty() {
			t.Fatalf("plan %+v", plan)
		}
	})
	t.Run("health change re-registers one instance", func(t *testing.T) {
		changed := BuildExportedService([]catalog.CheckServiceNode{
			csn("n1", "web1", "web", catalog.HealthPassing, catalog.HealthCritical),
			csn("n2", "web2", "web", catalog.HealthPassing),
		}).Nodes
		plan := PlanServiceImport("east", changed, current, map[string]int{"n1": 1, "n2": 1})
		if len(plan.Register) != 1 || plan.Register[0].Service.ID != "web1" || plan.Register[0].Checks[0].Status != catalog.HealthCritical || len(plan.Deregister) != 0 {
			t.Fatalf("plan %+v", plan)
		}
	})
	t.Run("removed instance: node goes unless it holds other imports", func(t *testing.T) {
		plan := PlanServiceImport("east", exported[:1], current, map[string]int{"n1": 1, "n2": 2})
		if len(plan.Register) != 0 || len(plan.Deregister) != 1 || plan.Deregister[0].ServiceID != "web2" || plan.Deregister[0].PeerName != "east" {
			t.Fatalf("plan %+v", plan)
		}
		plan = PlanServiceImport("east", exported[:1], current, map[string]int{"n1": 1, "n2": 1})
		if len(plan.Deregister) != 1 || plan.Deregister[0].ServiceID != "" || plan.Deregister[0].Node != "n2" {
			t.Fatalf("plan %+v", plan)
		}
	})
	t.Run("empty payload withdraws everything", func(t *testing.T) {
		plan := PlanServiceImport("east", nil, current, map[string]int{"n1": 1, "n2": 1})
		if len(plan.Deregister) != 2 || plan.Deregister[0].ServiceID != "" {
			t.Fatalf("plan %+v", plan)
		}
	})
}

func TestWithdrawnServices(t *testing.T) {
	got := WithdrawnServices([]string{"api", "db", "Web"}, []string{"web", "api"})
	if !reflect.DeepEqual(got, []string{"db"}) {
		t.Fatalf("got %v", got)
	}
}

func TestStateFor(t *testing.T) {
	cases := []struct {
		stored string
		st     Status
		ok     bool
		want   string
	}{
		{fsm.PeeringPending, Status{}, false, fsm.PeeringPending},
		{fsm.PeeringEstablishing, Status{Connected: true}, true, fsm.PeeringActive},
		{fsm.PeeringEstablishing, Status{DisconnectErr: "heartbeat timeout"}, true, fsm.PeeringFailing},
		{fsm.PeeringPending, Status{}, true, fsm.PeeringPending},
		{fsm.PeeringDeleting, Status{Connected: true}, true, fsm.PeeringDeleting},
		{fsm.PeeringTerminated, Status{DisconnectErr: "x"}, true, fsm.PeeringTerminated},
	}
	for _, tc := range cases {
		if got := StateFor(tc.stored, tc.st, tc.ok); got != tc.want {
			t.Errorf("StateFor(%s, %+v, %v) = %s, want %s", tc.stored, tc.st, tc.ok, got, tc.want)
		}
	}
}

func TestValidateNameAndMeta(t *testing.T) {
	for _, ok := range []string{"a", "cluster-02", strings.Repeat("a", 63)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Cluster", "-a", "a-", "a_b", strings.Repeat("a", 64)} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for meta, want := range map[string]string{"consul-x": "reserved prefix", "a b": "letters, digits"} {
		if err := ValidateMeta(map[string]string{meta: "v"}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("meta key %q: %v", meta, err)
		}
	}
	if err := ValidateMeta(map[string]string{"env": strings.Repeat("v", 513)}); err == nil {
		t.Error("long value accepted")
	}
}
