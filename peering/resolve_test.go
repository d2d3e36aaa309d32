package peering

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/fsm"
)

func TestResolveExports(t *testing.T) {
	typical := []string{"api", "consul", "web"}
	cases := []struct {
		name  string
		entry *configentry.ExportedServicesConfigEntry
		want  []ResolvedExport
	}{
		{"no entry", nil, []ResolvedExport{}},
		{"sorted by service, peers sorted and merged",
			exports(to("web", "west", "east"), to("db", "north"), to("web", "east", "south")),
			[]ResolvedExport{{"db", []string{"north"}}, {"web", []string{"east", "south", "west"}}}},
		{"wildcard expands and merges with explicit",
			exports(to("*", "east"), to("web", "west")),
			[]ResolvedExport{{"api", []string{"east"}}, {"web", []string{"east", "west"}}}},
		{"consul never listed", exports(to("consul", "east")), []ResolvedExport{}},
		{"peer names lower-cased and merged", exports(to("web", "East", "east")), []ResolvedExport{{"web", []string{"east"}}}},
		{"a partition consumer lists the service without peers",
			exports(configentry.ExportedService{Name: "web", Consumers: []configentry.ServiceConsumer{{Partition: "default"}}}),
			[]ResolvedExport{{"web", []string{}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ResolveExports(tc.entry, typical); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The wildcard covers typical services only: gateways and proxies are
// not exported (even when their name does not say so), nor is consul.
// The index is the highest of the entry's and the services'.
func TestResolvedExportsReadsTypicalServices(t *testing.T) {
	b := newFakeBackend(t, "east")
	reg := func(node, name string, kind catalog.ServiceKind) {
		b.must(fsm.EncodeRegister(&catalog.RegisterRequest{Node: node, Address: "10.0.0.1",
			Service: &catalog.NodeService{ID: name, Service: name, Kind: kind, Port: 443,
				Proxy: catalog.ConnectProxyConfig{DestinationServiceName: "web"}}}))
	}
	reg("n1", "web", catalog.ServiceKindTypical)
	reg("n1", "consul", catalog.ServiceKindTypical)
	reg("n1", "gw", catalog.ServiceKindMeshGateway)
	reg("n1", "web-proxy", catalog.ServiceKindConnectProxy)
	b.must(fsm.EncodeConfigUpsert(exports(to("*", "west"), to("db", "north")), nil))
	idx, got, err := ResolvedExports(b.Store(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []ResolvedExport{{"db", []string{"north"}}, {"web", []string{"west"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if idx != b.idx {
		t.Fatalf("index %d, want the entry's %d", idx, b.idx)
	}
	reg("n2", "api", catalog.ServiceKindTypical)
	idx, got, _ = ResolvedExports(b.Store(), nil)
	if idx != b.idx || len(got) != 3 || got[0].Service != "api" {
		t.Fatalf("after a new service: index %d (want %d), %+v", idx, b.idx, got)
	}
}

func TestPlanExportSendsTrustBundleOnChange(t *testing.T) {
	empty := ExportState{Payloads: map[string][]byte{}}
	subs := map[string]bool{URLTrustBundle: true}
	cur := ExportState{Payloads: map[string][]byte{}, TrustBundle: []byte(`{"TrustDomain":"a"}`)}
	if got := ids(PlanExport(empty, cur, subs)); !reflect.DeepEqual(got, []string{resourceIDTrustBundle}) {
		t.Fatalf("first push: %v", got)
	}
	prev := Sent(empty, cur, subs)
	if got := PlanExport(prev, cur, subs); len(got) != 0 {
		t.Fatalf("unchanged bundle resent: %v", ids(got))
	}
	next := ExportState{Payloads: map[string][]byte{}, TrustBundle: []byte(`{"TrustDomain":"b"}`)}
	if got := ids(PlanExport(prev, next, subs)); !reflect.DeepEqual(got, []string{resourceIDTrustBundle}) {
		t.Fatalf("changed bundle: %v", got)
	}
	if got := PlanExport(empty, cur, map[string]bool{URLExportedService: true}); len(got) != 0 {
		t.Fatalf("sent without a subscription: %v", ids(got))
	}
}

func TestTrustBundleValidate(t *testing.T) {
	ca, _, err := GenerateCA("a.consul", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		b    TrustBundle
		want string
	}{
		"ok":        {TrustBundle{TrustDomain: "a.consul", RootPEMs: []string{ca}}, ""},
		"no domain": {TrustBundle{RootPEMs: []string{ca}}, "PeeringTrustBundle.TrustDomain: required"},
		"no roots":  {TrustBundle{TrustDomain: "a.consul"}, "PeeringTrustBundle.RootPEMs: at least one"},
		"bad root":  {TrustBundle{TrustDomain: "a.consul", RootPEMs: []string{ca, "nope"}}, "PeeringTrustBundle.RootPEMs[1] is not a PEM certificate"},
	}
	for name, tc := range cases {
		err := tc.b.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// The field names are Consul's, so the payload reads the same in logs.
	raw, _ := json.Marshal(TrustBundle{TrustDomain: "a.consul", PeerName: "p", RootPEMs: []string{"x"}})
	if string(raw) != `{"TrustDomain":"a.consul","PeerName":"p","RootPEMs":["x"]}` {
		t.Fatalf("payload %s", raw)
	}
}
