package fsm

import (
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
)

// proxyFor registers a connect-proxy instance named name on node whose
// destination is dest.
func proxyFor(node, name, dest string) *catalog.RegisterRequest {
	req := instance(node, name, name)
	req.Service.Kind = catalog.ServiceKindConnectProxy
	req.Service.Proxy.DestinationServiceName = dest
	return req
}

func TestConnectServiceNodesFindsProxiesAndNativeInstances(t *testing.T) {
	h := newHarness(t, Config{})
	native := instance("n3", "web-native", "WEB")
	native.Service.Connect.Native = true
	h.mustRegister(
		instance("n1", "web1", "web"), // plain instance: not Connect-capable
		proxyFor("n1", "web-sidecar-proxy", "web"),
		withCheck(proxyFor("n2", "web-proxy-2", "Web"), "p2", "web-proxy-2", catalog.HealthWarning),
		proxyFor("n2", "api-sidecar-proxy", "api"),
		native,
	)
	idx, got, err := h.store().ConnectServiceNodes(nil, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	if idx != h.idx {
		t.Fatalf("index %d, want %d", idx, h.idx)
	}
	var ids []string
	for _, n := range got {
		ids = append(ids, n.Service.ID)
	}
	want := []string{"web-native", "web-proxy-2", "web-sidecar-proxy"}
	if len(ids) != len(want) {
		t.Fatalf("instances %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("instances %v, want %v", ids, want)
		}
	}
	for _, n := range got {
		if n.Service.ID == "web-proxy-2" && (len(n.Checks) != 1 || n.Checks[0].Status != catalog.HealthWarning) {
			t.Fatalf("proxy checks = %+v, want its warning check", n.Checks)
		}
	}
	if _, none, err := h.store().ConnectServiceNodes(nil, "db", ""); err != nil || len(none) != 0 || none == nil {
		t.Fatalf("db: %v %v, want an empty non-nil list", none, err)
	}
}

func TestConnectServiceNodesWakesOnNewProxyAndProxyHealth(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(withCheck(proxyFor("n1", "web-proxy", "web"), "p", "web-proxy", catalog.HealthCritical))
	watch := func() memdb.WatchSet {
		return watchOn(func(ws memdb.WatchSet) { h.store().ConnectServiceNodes(ws, "web", "") })
	}

	ws := watch()
	h.mustRegister(withCheck(nodeOnly("n1"), "p", "web-proxy", catalog.HealthPassing))
	if !fired(ws) {
		t.Fatal("a proxy's check change did not wake the reader")
	}

	ws = watch()
	h.mustRegister(proxyFor("n2", "web-proxy-b", "web"))
	if !fired(ws) {
		t.Fatal("a new proxy did not wake the reader")
	}
	_, got, err := h.store().ConnectServiceNodes(nil, "web", "")
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d instances (%v), want 2", len(got), err)
	}
}
